// Package ecssim simulates the Amazon ECS control plane for tests: an
// in-memory server that speaks the ECS JSON protocol (awsJson1_1) well
// enough that the unmodified aws-sdk-go-v2 ECS client drives it, with
// rolling and ECS-native blue/green, linear and canary deployments that
// unfold on a simulated timeline.
//
// What it simulates:
//
//   - Clusters (CreateCluster, DescribeClusters, ListClusters).
//   - Task definitions (Register, Describe, List, ListFamilies, Deregister):
//     family:revision numbering, ARNs, read-only fields, tags, the 64 KiB
//     limit, and some defaults the API fills in (container cpu 0,
//     essential, empty lists, port mapping protocol and awsvpc hostPort).
//   - Services (Create, Describe, List, Update, Delete) with the ECS
//     rolling-update controller: UpdateService with a new task definition
//     or forceNewDeployment starts a PRIMARY deployment; tasks go
//     PROVISIONING, PENDING, RUNNING and healthy; old tasks drain within
//     minimumHealthyPercent and maximumPercent; when the PRIMARY deployment
//     is healthy and the rest have drained it is COMPLETED and the other
//     deployments disappear.
//   - The deployment circuit breaker (threshold: half the desired count
//     within [3, 200]), with and without rollback, and
//     StopServiceDeployment with stop type ROLLBACK; service deployments
//     (List/DescribeServiceDeployments) with their statuses, ARNs ending
//     in a random id as in ECS (nothing in them names the deployment),
//     the service's currentServiceDeployment, service revisions
//     (DescribeServiceRevisions: a rollback deploys the completed revision
//     again), and service events in ECS's wording, newest first, at most
//     100.
//   - ECS-native deployments (native.go), when deploymentConfiguration's
//     strategy is BLUE_GREEN, LINEAR or CANARY: the service deployment
//     goes through the lifecycleStage values in ECS's order
//     (RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP,
//     TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT,
//     POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP); green is started
//     to the full desired count next to blue (maximumPercent does not
//     apply), production traffic shifts at once (BLUE_GREEN), in
//     stepPercent steps with stepBakeTimeInMinutes between them (LINEAR), or
//     canaryPercent then the rest after canaryBakeTimeInMinutes (CANARY);
//     blue runs through bakeTimeInMinutes and is stopped at CLEAN_UP. The
//     revisions' requestedProductionTrafficWeight and
//     requestedTestTrafficWeight follow. Stages with nothing to wait for
//     take one simulated second each. Lifecycle hooks run at the end of
//     their stage (PRE_PRODUCTION_TRAFFIC_SHIFT before each production
//     step): a PAUSE hook waits, AWAITING_ACTION in lifecycleHookDetails,
//     for ContinueServiceDeployment (CONTINUE or ROLLBACK) or its timeout
//     (default 1440 minutes, ROLLBACK); an AWS_LAMBDA hook answers as
//     scripted by SetLambdaHook (default: SUCCEEDED after a second). A
//     failed hook, a ROLLBACK, an alarm in ALARM (SetAlarmState; with
//     enable and rollback), the circuit breaker or StopServiceDeployment
//     ROLLBACK roll back: traffic returns to blue, which becomes PRIMARY
//     again, and green's tasks stop. CreateService's first deployment goes
//     through the same stages with no blue. Validation: bake times 0-1440,
//     LINEAR stepPercent 3-100 and CANARY canaryPercent 0.1-100 in tenths,
//     PAUSE hooks not at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT, an
//     AWS_LAMBDA hook needs its hookTargetArn; a deployment with
//     BLUE_GREEN needs bakeTimeInMinutes, with LINEAR linearConfiguration,
//     with CANARY canaryConfiguration (checked when a deployment starts).
//   - Deployment alarms (deploymentConfiguration.alarms) for rolling
//     deployments too: the service deployment's alarms are MONITORING,
//     then MONITORING_COMPLETE or TRIGGERED with the triggeredAlarmNames.
//   - Tasks (ListTasks, DescribeTasks) whose behaviour is scripted per task
//     definition with a Behavior: healthy after a delay, failing health
//     checks, an essential container exiting, failing to start; one-off
//     tasks (RunTask, StopTask) scripted per task definition or per
//     overridden command (CommandKey).
//   - Tags (TagResource, UntagResource, ListTagsForResource).
//   - Faults (throttling, 5xx, connection resets, latency), injected before
//     a call touches any state, and a request log of every call.
//   - Expired credentials, when WithCredentialCheck says a call's access
//     key has expired: ExpiredTokenException.
//   - Pass-through: requests that are not ECS calls (ECR, STS, S3, ...) are
//     proxied unchanged to an upstream such as moto.
//
// Time is simulated: the simulator catches up with its Clock whenever it
// is called, so a scaled clock makes a five-minute deployment take
// milliseconds and a ManualClock makes tests deterministic.
//
// A test that drives the simulator in another process (cmd/ecssim) scripts
// it through admin endpoints; durations are Go duration strings:
//
//	GET    /_sim/healthz        200 "ok"
//	GET    /_sim/faults         the faults not yet used up
//	POST   /_sim/faults         add a Fault: {"kind":"throttle","operation":"UpdateService","count":2}
//	                            kinds: throttle, server-error, reset, latency ("latency":"2s");
//	                            "rate":0.5 affects half the matching calls
//	DELETE /_sim/faults         clear the faults
//	GET    /_sim/behaviors      the scripted behaviours by key
//	POST   /_sim/behaviors      {"key":"web:2","behavior":{"startDelay":"10s","healthyAfter":"20s",
//	                            "drainDelay":"10s","failure":{"kind":"health-check","after":"30s"}}}
//	                            failure kinds: health-check, exit ("exitCode", "reason"), start ("reason");
//	                            "key":"command:sh -c ./migrate up" scripts the one-off tasks running it
//	DELETE /_sim/behaviors      forget the scripted behaviours
//	GET    /_sim/alarms         the CloudWatch alarm states set, by name
//	POST   /_sim/alarms         {"alarmName":"web-5xx","state":"ALARM"}; states OK, ALARM,
//	                            INSUFFICIENT_DATA; alarms never set are OK
//	DELETE /_sim/alarms         every alarm back to OK
//	GET    /_sim/lambda-hooks   the scripted AWS_LAMBDA hook results, by hookTargetArn
//	POST   /_sim/lambda-hooks   {"hookTargetArn":"arn:aws:lambda:...:function:smoke",
//	                            "result":{"delay":"30s","fail":true,"reason":"smoke test failed"}}
//	DELETE /_sim/lambda-hooks   forget them (hooks succeed after 1s)
//	GET    /_sim/requests       the request log; ?operation=UpdateService and ?mutating=true filter it
//	DELETE /_sim/requests       empty the request log
//	POST   /_sim/account        {"region":"eu-west-1","clusters":["web"]}: the region in ARNs (only
//	                            before any task definition is registered) and clusters to create
//	GET    /_sim/clock          {"now": simulated time}
//	POST   /_sim/clock/advance  {"duration":"5m"} moves simulated time forward
//
// What it does not simulate: request signatures (only the access key is
// read, for WithCredentialCheck), IAM, container instances and placement,
// capacity providers, load balancers beyond the target group named in
// health check failures (a native deployment needs no load balancer
// advancedConfiguration, and no listener or target group is touched: the
// traffic weights are only reported), the CODE_DEPLOY and EXTERNAL
// deployment controllers, task sets, CloudWatch itself (alarm states are
// set, never computed), Lambda (hook results are scripted; hookDetails and
// roleArn are only echoed), EventBridge hook events, the early success
// criteria, Service Connect, daemon services beyond one task on the one
// implied container instance (deployment defaults 100/0, no desired count
// taken), the ABORT stop type, and API rate limits other than those
// injected as faults. Service events of native deployments reuse the
// rolling wording; ECS's own stage events are not known here.
package ecssim

// Package ecssim simulates the Amazon ECS control plane for tests: an
// in-memory server that speaks the ECS JSON protocol (awsJson1_1) well
// enough that the unmodified aws-sdk-go-v2 ECS client drives it, with
// rolling deployments that unfold on a simulated timeline.
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
// health check failures, blue/green and external
// deployment controllers, task sets, CloudWatch alarms, Service Connect, daemon services beyond one task on the
// one implied container instance (deployment defaults 100/0, no desired
// count taken), service revisions
// (DescribeServiceRevisions), the ABORT stop type, and API rate limits other
// than those injected as faults.
package ecssim

package ecssim_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

var rollbackBreaker = &types.DeploymentCircuitBreaker{Enable: true, Rollback: true}

func TestUpdateToHealthyDefinitionCompletes(t *testing.T) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createService(v1, 2, rollbackBreaker)

	updated := e.update(v2)
	if len(updated.Deployments) != 2 {
		t.Fatalf("after UpdateService: deployments %s, want a new PRIMARY and the old ACTIVE", deploymentsString(updated))
	}
	p := updated.Deployments[0]
	if aws.ToString(p.Status) != "PRIMARY" || p.RolloutState != types.DeploymentRolloutStateInProgress || aws.ToString(p.TaskDefinition) != v2 {
		t.Errorf("new deployment = %s, want PRIMARY IN_PROGRESS on %s", deploymentsString(updated), v2)
	}
	if !regexp.MustCompile(`^ecs-svc/\d{19}$`).MatchString(aws.ToString(p.Id)) {
		t.Errorf("deployment id %q is not ecs-svc/ and 19 digits", aws.ToString(p.Id))
	}
	if got := aws.ToString(updated.Deployments[1].Status); got != "ACTIVE" {
		t.Errorf("old deployment status = %s, want ACTIVE", got)
	}
	id := aws.ToString(p.Id)
	if sd := e.serviceDeployment(id); sd.Status != types.ServiceDeploymentStatusInProgress {
		t.Errorf("service deployment status = %s, want IN_PROGRESS", sd.Status)
	}

	// Midway, counts stay consistent and old tasks keep the service up.
	mid := e.stepUntil("new tasks running", func(s *types.Service) bool { return primary(s).RunningCount == 2 })
	if mid.RunningCount < mid.DesiredCount {
		t.Errorf("midway running %d < desired %d: minimumHealthyPercent 100 broken", mid.RunningCount, mid.DesiredCount)
	}

	done := e.stepUntil("deployment completed", func(s *types.Service) bool {
		return primary(s).RolloutState == types.DeploymentRolloutStateCompleted
	})
	if len(done.Deployments) != 1 || done.RunningCount != 2 || done.PendingCount != 0 || aws.ToString(done.TaskDefinition) != v2 {
		t.Errorf("after completion: %d deployments, running %d, pending %d, task definition %s", len(done.Deployments), done.RunningCount, done.PendingCount, aws.ToString(done.TaskDefinition))
	}
	if want := "ECS deployment " + id + " completed."; aws.ToString(primary(done).RolloutStateReason) != want {
		t.Errorf("rolloutStateReason = %q, want %q", aws.ToString(primary(done).RolloutStateReason), want)
	}
	sd := e.serviceDeployment(id)
	if sd.Status != types.ServiceDeploymentStatusSuccessful || sd.FinishedAt == nil {
		t.Errorf("service deployment = %s finished %v, want SUCCESSFUL with finishedAt", sd.Status, sd.FinishedAt)
	}
	// As in ECS, the ARN ends in a random id, not the deployment's number,
	// and the target revision says what was deployed.
	if arn := aws.ToString(sd.ServiceDeploymentArn); !regexp.MustCompile(`:service-deployment/prod/web/[A-Z0-9]{8}-[A-Za-z0-9]{12}$`).MatchString(arn) || strings.HasSuffix(arn, strings.TrimPrefix(id, "ecs-svc/")) {
		t.Errorf("service deployment ARN %s (deployment %s)", arn, id)
	}
	revs, err := e.ecs.DescribeServiceRevisions(e.ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{aws.ToString(sd.TargetServiceRevision.Arn)}})
	if err != nil || len(revs.ServiceRevisions) != 1 || aws.ToString(revs.ServiceRevisions[0].TaskDefinition) != v2 {
		t.Errorf("target revision %s: %v %+v", aws.ToString(sd.TargetServiceRevision.Arn), err, revs)
	}
	for _, want := range [][]string{
		{"(service web) has started 2 tasks: (task "},
		{"(service web) has stopped 1 running tasks: (task "},
		{"(service web) (deployment " + id + ") deployment completed."},
	} {
		if !hasMessage(done, want...) {
			t.Errorf("no event %q in:\n%s", want, eventsString(done))
		}
	}
	if got := aws.ToString(done.Events[0].Message); got != "(service web) has reached a steady state." {
		t.Errorf("newest event = %q, want the steady state", got)
	}
	if !done.Events[0].CreatedAt.After(*done.Events[len(done.Events)-1].CreatedAt) {
		t.Errorf("events are not newest first")
	}

	// The old tasks drained: stopped by the scheduler, not failed.
	old := e.stoppedTasks(aws.ToString(updated.Deployments[1].Id))
	if len(old) != 2 {
		t.Fatalf("old deployment has %d stopped tasks, want 2", len(old))
	}
	for _, task := range old {
		if !strings.HasPrefix(aws.ToString(task.StoppedReason), "Scaling activity initiated by (deployment "+id+")") || task.StopCode != types.TaskStopCodeServiceSchedulerInitiated {
			t.Errorf("old task stopped with %s %q", task.StopCode, aws.ToString(task.StoppedReason))
		}
		if !task.StoppedAt.After(*task.StoppingAt) {
			t.Errorf("old task did not drain: stopping %v, stopped %v", task.StoppingAt, task.StoppedAt)
		}
	}
}

func TestCircuitBreakerRollsBack(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", ecssim.FailsHealthChecks(30*time.Second)))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createService(v1, 4, rollbackBreaker)
	failedID := aws.ToString(e.update(v2).Deployments[0].Id)

	rolling := e.stepUntil("circuit breaker tripped", func(s *types.Service) bool {
		return len(s.Deployments) > 1 && aws.ToString(s.Deployments[0].Id) != failedID
	})
	var failed types.Deployment
	for _, d := range rolling.Deployments {
		if aws.ToString(d.Id) == failedID {
			failed = d
		}
	}
	if failed.RolloutState != types.DeploymentRolloutStateFailed || aws.ToString(failed.RolloutStateReason) != "ECS deployment circuit breaker: tasks failed to start." {
		t.Errorf("failed deployment = %s %q", failed.RolloutState, aws.ToString(failed.RolloutStateReason))
	}
	if failed.FailedTasks < 3 {
		t.Errorf("failedTasks = %d, want at least the threshold 3", failed.FailedTasks)
	}
	if got := e.serviceDeployment(failedID); got.Status != types.ServiceDeploymentStatusRollbackInProgress || got.Rollback == nil {
		t.Errorf("service deployment = %s rollback %v, want ROLLBACK_IN_PROGRESS", got.Status, got.Rollback)
	}

	done := e.stepUntil("rollback completed", func(s *types.Service) bool {
		return primary(s).RolloutState == types.DeploymentRolloutStateCompleted
	})
	// The trap: the waiter's notion of "stable" holds although the deploy failed.
	if len(done.Deployments) != 1 || done.RunningCount != done.DesiredCount {
		t.Errorf("after rollback: %d deployments, running %d of %d", len(done.Deployments), done.RunningCount, done.DesiredCount)
	}
	if aws.ToString(done.TaskDefinition) != v1 || aws.ToString(primary(done).TaskDefinition) != v1 {
		t.Errorf("service runs %s, want the old %s", aws.ToString(done.TaskDefinition), v1)
	}
	sd := e.serviceDeployment(failedID)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment status = %s, want ROLLBACK_SUCCESSFUL", sd.Status)
	}
	if cb := sd.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || cb.Threshold != 3 {
		t.Errorf("circuit breaker = %+v, want TRIGGERED with threshold 3", cb)
	}
	for _, want := range [][]string{
		{"(service web) deployment " + failedID + " deployment failed: tasks failed to start."},
		{"(service web) rolling back to deployment ecs-svc/"},
		{"(service web) (task ", "is unhealthy in (target-group arn:aws:elasticloadbalancing:"},
	} {
		if !hasMessage(done, want...) {
			t.Errorf("no event %q in:\n%s", want, eventsString(done))
		}
	}

	// The reason is one call away: the failed tasks say why; the rest
	// were stopped by the rollback.
	unhealthy := 0
	for _, task := range e.stoppedTasks(failedID) {
		switch reason := aws.ToString(task.StoppedReason); {
		case aws.ToString(task.TaskDefinitionArn) != v2:
			t.Errorf("deployment %s started a task of %s", failedID, aws.ToString(task.TaskDefinitionArn))
		case reason == "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef)":
			unhealthy++
		case !strings.HasPrefix(reason, "Scaling activity initiated by (deployment "):
			t.Errorf("stopped task reason %q", reason)
		}
	}
	if unhealthy < 3 {
		t.Errorf("%d tasks stopped for failing health checks, want at least the threshold 3", unhealthy)
	}
}

func TestCircuitBreakerWithoutRollbackFails(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", ecssim.ExitsWith(137, "OutOfMemoryError: Container killed due to memory usage", 5*time.Second)))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createService(v1, 2, &types.DeploymentCircuitBreaker{Enable: true, Rollback: false})
	id := aws.ToString(e.update(v2).Deployments[0].Id)

	s := e.stepUntil("deployment failed", func(s *types.Service) bool { return primary(s).RolloutState == types.DeploymentRolloutStateFailed })
	e.clock.Advance(30 * time.Minute) // it stays failed, the old tasks keep serving
	s = e.service()
	if p := primary(s); aws.ToString(p.Id) != id || p.RolloutState != types.DeploymentRolloutStateFailed {
		t.Errorf("primary = %s, want %s FAILED", deploymentsString(s), id)
	}
	if len(s.Deployments) != 2 || s.RunningCount != 2 || aws.ToString(s.TaskDefinition) != v2 {
		t.Errorf("%d deployments, running %d, task definition %s", len(s.Deployments), s.RunningCount, aws.ToString(s.TaskDefinition))
	}
	if sd := e.serviceDeployment(id); sd.Status != types.ServiceDeploymentStatusStopped {
		t.Errorf("service deployment status = %s, want STOPPED", sd.Status)
	}
	tasks := e.stoppedTasks(id)
	if len(tasks) < 3 {
		t.Fatalf("%d stopped tasks, want at least 3", len(tasks))
	}
	c := tasks[0].Containers[0]
	if tasks[0].StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(c.ExitCode) != 137 || !strings.HasPrefix(aws.ToString(c.Reason), "OutOfMemoryError") {
		t.Errorf("stopped task: %s %q, container exit %v %q", tasks[0].StopCode, aws.ToString(tasks[0].StoppedReason), c.ExitCode, aws.ToString(c.Reason))
	}
}

func TestStopServiceDeploymentRollsBack(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", slowStart()))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createService(v1, 2, nil)
	id := aws.ToString(e.update(v2).Deployments[0].Id)
	e.clock.Advance(time.Minute)
	sd := e.serviceDeployment(id)

	out, err := e.ecs.StopServiceDeployment(e.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: sd.ServiceDeploymentArn, StopType: types.StopServiceDeploymentStopTypeRollback})
	if err != nil {
		t.Fatalf("stopping service deployment: %v", err)
	}
	if aws.ToString(out.ServiceDeploymentArn) != aws.ToString(sd.ServiceDeploymentArn) {
		t.Errorf("returned %s", aws.ToString(out.ServiceDeploymentArn))
	}
	done := e.stepUntil("rollback completed", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && primary(s).RolloutState == types.DeploymentRolloutStateCompleted
	})
	if aws.ToString(done.TaskDefinition) != v1 {
		t.Errorf("service runs %s, want %s", aws.ToString(done.TaskDefinition), v1)
	}
	if got := e.serviceDeployment(id); got.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("service deployment status = %s, want ROLLBACK_SUCCESSFUL", got.Status)
	}
	// A finished service deployment cannot be stopped again.
	if _, err := e.ecs.StopServiceDeployment(e.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: sd.ServiceDeploymentArn, StopType: types.StopServiceDeploymentStopTypeRollback}); !hasCode(err, "ConflictException") {
		t.Errorf("stopping a finished deployment: %v, want ConflictException", err)
	}
}

func TestTimeScaleRunsFiveMinuteDeploymentQuickly(t *testing.T) {
	// Start 1m, healthy 3m later, old tasks drain for 1m: five minutes.
	b := ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: 3 * time.Minute, DrainDelay: time.Minute}
	srv := ecssimtest.NewServer(t, ecssim.WithTimeScale(1200), ecssim.WithCluster("prod"), ecssim.WithDefaultBehavior(b))
	e := &env{t: t, ctx: t.Context(), srv: srv, ecs: srv.ECSClient(), sds: map[string]string{}}
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	if _, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatalf("creating service: %v", err)
	}
	waitCompleted := func(what string) time.Duration {
		began := time.Now()
		for {
			s := e.service()
			if len(s.Deployments) == 1 && primary(s).RolloutState == types.DeploymentRolloutStateCompleted {
				return time.Since(began)
			}
			if time.Since(began) > 10*time.Second {
				t.Fatalf("%s: not completed after 10s at time scale 1200: %s", what, deploymentsString(s))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCompleted("create")

	simBegan := srv.Now()
	e.update(v2)
	took := waitCompleted("update")
	if took > 2*time.Second {
		t.Errorf("a five-minute deployment took %v of wall time", took)
	}
	if simTook := srv.Now().Sub(simBegan); simTook < 5*time.Minute {
		t.Errorf("deployment took %v of simulated time, want at least 5m", simTook)
	}
}

func TestNewerDeploymentSupersedesOne(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", slowStart()))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	v3 := e.register("web", "web:3")
	e.createService(v1, 2, rollbackBreaker)
	id2 := aws.ToString(e.update(v2).Deployments[0].Id)
	e.clock.Advance(time.Minute)
	id3 := aws.ToString(e.update(v3).Deployments[0].Id)

	done := e.stepUntil("v3 completed", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && primary(s).RolloutState == types.DeploymentRolloutStateCompleted
	})
	if aws.ToString(done.TaskDefinition) != v3 || done.RunningCount != 2 {
		t.Errorf("service runs %s with %d tasks", aws.ToString(done.TaskDefinition), done.RunningCount)
	}
	if sd := e.serviceDeployment(id2); sd.Status != types.ServiceDeploymentStatusStopped || sd.StoppedAt == nil {
		t.Errorf("superseded service deployment = %s stopped at %v, want STOPPED", sd.Status, sd.StoppedAt)
	}
	if sd := e.serviceDeployment(id3); sd.Status != types.ServiceDeploymentStatusSuccessful || len(sd.SourceServiceRevisions) != 2 {
		t.Errorf("newest service deployment = %s with %d sources, want SUCCESSFUL from 2", sd.Status, len(sd.SourceServiceRevisions))
	}
	if running, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(id2)}); err != nil || len(running.TaskArns) != 0 {
		t.Errorf("superseded deployment still has running tasks: %v %v", err, running)
	}
}

// slowStart is a healthy behaviour whose tasks take 20 minutes to start.
func slowStart() ecssim.Behavior {
	b := ecssim.Healthy()
	b.StartDelay = 20 * time.Minute
	return b
}

func TestEventsKeepTheNewestHundred(t *testing.T) {
	e := newEnv(t)
	e.createService(e.register("web", "web:1"), 1, nil)
	for range 30 {
		if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true}); err != nil {
			t.Fatal(err)
		}
		e.stepUntil("redeployed", func(s *types.Service) bool {
			return len(s.Deployments) == 1 && primary(s).RolloutState == types.DeploymentRolloutStateCompleted
		})
	}
	s := e.service()
	if len(s.Events) != 100 {
		t.Fatalf("%d events, want the newest 100", len(s.Events))
	}
	seen := map[string]bool{}
	for i, ev := range s.Events {
		if seen[aws.ToString(ev.Id)] {
			t.Errorf("duplicate event id %s", aws.ToString(ev.Id))
		}
		seen[aws.ToString(ev.Id)] = true
		if i > 0 && ev.CreatedAt.After(*s.Events[i-1].CreatedAt) {
			t.Errorf("event %d is newer than event %d", i, i-1)
		}
	}
	if got := aws.ToString(s.Events[0].Message); got != "(service web) has reached a steady state." {
		t.Errorf("newest event = %q", got)
	}
}

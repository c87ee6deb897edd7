package pipeline_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

func TestRollbackDuringDeployment(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: time.Minute, DrainDelay: 10 * time.Second})
	dep, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * time.Second)
	e.srv.ResetRequests()

	dry, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if dry.Method != pipeline.RollbackStopDeployment || !strings.Contains(dry.Plan, "stop type ROLLBACK") || len(e.mutating()) != 0 {
		t.Errorf("dry run %s %q made %v", dry.Method, dry.Plan, e.mutating())
	}

	res, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.Method != pipeline.RollbackStopDeployment || res.Outcome != pipeline.OutcomeSucceeded || res.From != dep.TaskDefinitionArn || res.To != e.v1 {
		t.Errorf("rollback %+v", res)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"StopServiceDeployment", "DeregisterTaskDefinition"}) {
		t.Errorf("mutating calls %v", got)
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != e.v1 || len(s.Deployments) != 1 {
		t.Errorf("service runs %s", aws.ToString(s.TaskDefinition))
	}
	out, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{res.StoppedServiceDeploymentArn}})
	if err != nil || len(out.ServiceDeployments) != 1 || out.ServiceDeployments[0].Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("stopped service deployment %s: %v %+v", res.StoppedServiceDeploymentArn, err, out)
	}
}

func TestRollbackAfterDeployment(t *testing.T) {
	e := newDeployEnv(t, nil)
	dep, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	// The zero options deregister the revision rolled back from, as
	// ecspresso v2's rollback.go (--deregister-task-definition defaults to true).
	dry, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{DryRun: true})
	if err != nil || !strings.Contains(dry.Plan, `from web:2 to web:1`) || !strings.Contains(dry.Plan, "Would deregister web:2") || len(e.mutating()) != 0 {
		t.Errorf("dry run: %v %q, mutating %v", err, dry.Plan, e.mutating())
	}
	res, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.Method != pipeline.RollbackUpdateService || res.From != dep.TaskDefinitionArn || res.To != e.v1 || !res.Deregistered || res.Outcome != pipeline.OutcomeSucceeded {
		t.Errorf("rollback %+v", res)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"UpdateService", "DeregisterTaskDefinition"}) {
		t.Errorf("mutating calls %v", got)
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != e.v1 {
		t.Errorf("service runs %s", aws.ToString(s.TaskDefinition))
	}
	out, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(dep.TaskDefinitionArn)})
	if err != nil || out.TaskDefinition.Status != types.TaskDefinitionStatusInactive {
		t.Errorf("web:2 after rollback: %v %+v", err, out)
	}
	// web:1 has no earlier revision.
	if _, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{DryRun: true}); err == nil || !strings.Contains(err.Error(), `no ACTIVE revision of task definition family "web" before web:1`) {
		t.Errorf("rolling back past the first revision: %v", err)
	}
}

// TestRollbackRightAfterDeploymentStarts stops a deployment two seconds
// after it started: the rollback deployment must be matched to the stopped
// service deployment as its rollback (ROLLBACK_SUCCESSFUL is its success),
// both by Rollback and by a Wait that has to find it, never by guessing
// from creation times close together.
func TestRollbackRightAfterDeploymentStarts(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: time.Minute})
	if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	res, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.Method != pipeline.RollbackStopDeployment || res.Outcome != pipeline.OutcomeSucceeded || res.Wait.ServiceDeploymentStatus != "ROLLBACK_SUCCESSFUL" || res.To != e.v1 {
		t.Errorf("rollback %s %s (service deployment %s) to %s", res.Method, res.Outcome, res.Wait.ServiceDeploymentStatus, res.To)
	}

	// The same, followed by Wait alone.
	if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true, ForceNewDeployment: true, SkipTaskDefinition: true, LatestTaskDefinition: true}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	rb, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{NoWait: true, NoDeregisterTaskDefinition: true})
	if err != nil || rb.Method != pipeline.RollbackStopDeployment || rb.DeploymentID == "" {
		t.Fatalf("Rollback: %v %+v", err, rb)
	}
	wr, err := pipeline.Wait(e.ctx, e.ecs, e.cfg, pipeline.WaitOptions{DeploymentID: rb.DeploymentID, Clock: simClock{e.clock}})
	if err != nil || wr.Outcome != pipeline.OutcomeSucceeded || wr.ServiceDeploymentArn != rb.StoppedServiceDeploymentArn || wr.ServiceDeploymentStatus != "ROLLBACK_SUCCESSFUL" {
		t.Fatalf("Wait: %v %+v", err, wr)
	}
}

// TestRollbackSurvivesTransientErrors rolls back both ways under
// throttling, 5xx and lost answers: reads are retried, a StopServiceDeployment
// or UpdateService whose answer was lost after it was applied is not made
// again, and a DeregisterTaskDefinition faulted before it was applied is.
func TestRollbackSurvivesTransientErrors(t *testing.T) {
	inject := func(e *deployEnv, fs ...ecssim.Fault) {
		t.Helper()
		for _, f := range fs {
			if err := e.srv.InjectFault(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	// loseFirst answers the first call of op, once the simulator applied
	// it, with a 5xx.
	loseFirst := func(e *deployEnv, op string) *ecs.Client {
		lost := false
		return e.tampered(func(o string, status int, body []byte) (int, []byte) {
			if o == op && !lost {
				lost = true
				return http.StatusInternalServerError, serverError
			}
			return status, body
		})
	}
	reached := func(e *deployEnv, op string) int {
		n := 0
		for _, r := range e.calls(op) {
			if r.Fault == "" {
				n++
			}
		}
		return n
	}

	t.Run("stopping a deployment", func(t *testing.T) {
		e := newDeployEnv(t, nil)
		e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: time.Minute})
		if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(20 * time.Second)
		e.srv.ResetRequests()
		inject(e,
			ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 2},
			ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: "ListServiceDeployments", Count: 3},
			ecssim.Fault{Kind: ecssim.FaultReset, Operation: "ListServiceDeployments", Count: 1},
		)
		res, err := pipeline.Rollback(e.ctx, loseFirst(e, "StopServiceDeployment"), e.cfg, pipeline.RollbackOptions{Wait: e.waitOpts(nil)})
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if res.Method != pipeline.RollbackStopDeployment || res.Outcome != pipeline.OutcomeSucceeded || res.To != e.v1 {
			t.Errorf("rollback %s %s to %s", res.Method, res.Outcome, res.To)
		}
		if n := reached(e, "StopServiceDeployment"); n != 1 {
			t.Errorf("%d StopServiceDeployment calls reached ECS, want 1", n)
		}
	})

	t.Run("stopping a deployment, the stop not applied", func(t *testing.T) {
		e := newDeployEnv(t, nil)
		e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: time.Minute})
		if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(20 * time.Second)
		e.srv.ResetRequests()
		inject(e, ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "StopServiceDeployment", Count: 1})
		res, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{Wait: e.waitOpts(nil)})
		if err != nil || res.Outcome != pipeline.OutcomeSucceeded {
			t.Fatalf("Rollback: %v %+v", err, res)
		}
		if n, all := reached(e, "StopServiceDeployment"), len(e.calls("StopServiceDeployment")); n != 1 || all != 2 {
			t.Errorf("%d of %d StopServiceDeployment calls reached ECS, want 1 of 2", n, all)
		}
	})

	t.Run("updating the service", func(t *testing.T) {
		e := newDeployEnv(t, nil)
		if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)}); err != nil {
			t.Fatal(err)
		}
		e.srv.ResetRequests()
		inject(e,
			ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 1},
			ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "ListTaskDefinitions", Count: 2},
			ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: "UpdateService", Count: 2},
			ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "DeregisterTaskDefinition", Count: 1},
		)
		res, err := pipeline.Rollback(e.ctx, loseFirst(e, "UpdateService"), e.cfg, pipeline.RollbackOptions{Wait: e.waitOpts(nil)})
		if err != nil {
			t.Fatalf("Rollback: %v", err)
		}
		if res.Method != pipeline.RollbackUpdateService || res.Outcome != pipeline.OutcomeSucceeded || res.To != e.v1 || !res.Deregistered {
			t.Errorf("rollback %+v", res)
		}
		if n := reached(e, "UpdateService"); n != 1 {
			t.Errorf("%d UpdateService calls reached ECS, want 1", n)
		}
		if s := e.service(); aws.ToString(s.TaskDefinition) != e.v1 {
			t.Errorf("service runs %s", aws.ToString(s.TaskDefinition))
		}
	})
}

// TestRollbackKeepsRevisionWhenAsked: NoDeregisterTaskDefinition (ecspresso's
// --no-deregister-task-definition, rollback.go) leaves the revision rolled
// back from ACTIVE; NoWait without it is refused before any call, as
// ecspresso refuses --no-wait with deregistering.
func TestRollbackKeepsRevisionWhenAsked(t *testing.T) {
	e := newDeployEnv(t, nil)
	dep, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	if _, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{NoWait: true}); err == nil || !strings.Contains(err.Error(), "NoDeregisterTaskDefinition") {
		t.Errorf("NoWait with deregistering: %v", err)
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("a refused rollback made %d requests", n)
	}
	dry, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{DryRun: true, NoDeregisterTaskDefinition: true})
	if err != nil || strings.Contains(dry.Plan, "deregister") {
		t.Errorf("dry run: %v %q", err, dry.Plan)
	}
	res, err := pipeline.Rollback(e.ctx, e.ecs, e.cfg, pipeline.RollbackOptions{NoDeregisterTaskDefinition: true, Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.Deregistered || res.To != e.v1 {
		t.Errorf("rollback %+v", res)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"UpdateService"}) {
		t.Errorf("mutating calls %v", got)
	}
	out, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(dep.TaskDefinitionArn)})
	if err != nil || out.TaskDefinition.Status != types.TaskDefinitionStatusActive {
		t.Errorf("web:2 after rollback: %v %+v", err, out)
	}
}

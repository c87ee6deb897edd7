package pipeline_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ecssim"
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

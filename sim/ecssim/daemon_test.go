package ecssim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestDaemonService: a DAEMON service takes no desired count, runs one
// task on the one simulated container instance with ECS's 100/0
// deployment defaults, and rolls to a new task definition.
func TestDaemonService(t *testing.T) {
	e := newEnv(t)
	v1, v2 := e.register("agent", "registry.example.com/agent:v1"), e.register("agent", "registry.example.com/agent:v2")
	in := &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1),
		SchedulingStrategy: types.SchedulingStrategyDaemon, LaunchType: types.LaunchTypeEc2, DesiredCount: aws.Int32(2),
	}
	if _, err := e.ecs.CreateService(e.ctx, in); err == nil || !strings.Contains(err.Error(), "DAEMON service takes no desired count") {
		t.Fatalf("creating a DAEMON service with a desired count: %v", err)
	}
	in.DesiredCount = nil
	if _, err := e.ecs.CreateService(e.ctx, in); err != nil {
		t.Fatal(err)
	}
	s := e.stepUntil("first deployment completed", func(s *types.Service) bool {
		return s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	dc := s.DeploymentConfiguration
	if s.SchedulingStrategy != types.SchedulingStrategyDaemon || s.DesiredCount != 1 || s.RunningCount != 1 ||
		aws.ToInt32(dc.MaximumPercent) != 100 || aws.ToInt32(dc.MinimumHealthyPercent) != 0 {
		t.Fatalf("DAEMON service %s desired %d running %d, deployment configuration %d/%d", s.SchedulingStrategy, s.DesiredCount, s.RunningCount, aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent))
	}
	if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)}); err == nil {
		t.Fatal("UpdateService took a desired count for a DAEMON service")
	}
	e.update(v2)
	s = e.stepUntil("v2 deployed", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && aws.ToString(s.Deployments[0].TaskDefinition) == v2 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
	if s.RunningCount != 1 {
		t.Errorf("running %d after the update, want 1", s.RunningCount)
	}
}

package ecssim_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// env is a simulator on a manual clock with a cluster "prod" and an ECS
// client that calls it.
type env struct {
	t     *testing.T
	ctx   context.Context
	srv   *ecssimtest.Server
	clock *ecssim.ManualClock
	ecs   *ecs.Client
	// sds maps the deployments update started to their service
	// deployments: nothing in a service deployment names its deployment.
	sds map[string]string
}

func newEnv(t *testing.T, opts ...ecssim.Option) *env {
	t.Helper()
	clock := ecssim.NewManualClock(start)
	srv := ecssimtest.NewServer(t, append([]ecssim.Option{ecssim.WithClock(clock), ecssim.WithCluster("prod")}, opts...)...)
	return &env{t: t, ctx: context.Background(), srv: srv, clock: clock, ecs: srv.ECSClient(), sds: map[string]string{}}
}

// register registers a task definition of family with one container.
func (e *env) register(family, image string) string {
	e.t.Helper()
	out, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("app"),
			Image:        aws.String(image),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
		}},
	})
	if err != nil {
		e.t.Fatalf("registering %s: %v", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// createService creates service "web" on td with the circuit breaker
// configured as given, and waits until its first deployment completes.
func (e *env) createService(td string, desired int32, cb *types.DeploymentCircuitBreaker) *types.Service {
	e.t.Helper()
	_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster:                 aws.String("prod"),
		ServiceName:             aws.String("web"),
		TaskDefinition:          aws.String(td),
		DesiredCount:            aws.Int32(desired),
		LaunchType:              types.LaunchTypeFargate,
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: cb},
		LoadBalancers: []types.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"),
			ContainerName:  aws.String("app"),
			ContainerPort:  aws.Int32(8080),
		}},
	})
	if err != nil {
		e.t.Fatalf("creating service: %v", err)
	}
	return e.stepUntil("first deployment completed", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
}

func (e *env) service() *types.Service {
	e.t.Helper()
	out, err := e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil {
		e.t.Fatalf("describing service: %v", err)
	}
	if len(out.Services) != 1 {
		e.t.Fatalf("described %d services, failures %v", len(out.Services), out.Failures)
	}
	return &out.Services[0]
}

// stepUntil advances the manual clock five seconds at a time, for at most
// an hour of simulated time, until cond holds for the service.
func (e *env) stepUntil(what string, cond func(*types.Service) bool) *types.Service {
	e.t.Helper()
	for range 720 {
		if s := e.service(); cond(s) {
			return s
		}
		e.clock.Advance(5 * time.Second)
	}
	s := e.service()
	e.t.Fatalf("%s: not reached after an hour of simulated time; deployments %s; events:\n%s", what, deploymentsString(s), eventsString(s))
	return nil
}

func (e *env) update(td string) *types.Service {
	e.t.Helper()
	out, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(td)})
	if err != nil {
		e.t.Fatalf("updating service: %v", err)
	}
	if out.Service.CurrentServiceDeployment == nil {
		e.t.Fatal("UpdateService answered no currentServiceDeployment")
	}
	e.sds[aws.ToString(out.Service.Deployments[0].Id)] = aws.ToString(out.Service.CurrentServiceDeployment)
	return out.Service
}

// serviceDeployment describes the service deployment of the deployment
// with id, which update started, and checks that the list agrees.
func (e *env) serviceDeployment(deploymentID string) types.ServiceDeployment {
	e.t.Helper()
	arn, ok := e.sds[deploymentID]
	if !ok {
		e.t.Fatalf("deployment %s was not started by update", deploymentID)
	}
	out, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		e.t.Fatalf("describing service deployment: %v", err)
	}
	if len(out.ServiceDeployments) != 1 {
		e.t.Fatalf("described %d service deployments, failures %v", len(out.ServiceDeployments), out.Failures)
	}
	list, err := e.ecs.ListServiceDeployments(e.ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("web")})
	if err != nil {
		e.t.Fatalf("listing service deployments: %v", err)
	}
	i := slices.IndexFunc(list.ServiceDeployments, func(b types.ServiceDeploymentBrief) bool { return aws.ToString(b.ServiceDeploymentArn) == arn })
	if i < 0 {
		e.t.Fatalf("service deployment %s not listed", arn)
	}
	if b := list.ServiceDeployments[i]; b.Status != out.ServiceDeployments[0].Status {
		e.t.Errorf("list says %s, describe says %s", b.Status, out.ServiceDeployments[0].Status)
	}
	return out.ServiceDeployments[0]
}

// stoppedTasks returns the stopped tasks a deployment started.
func (e *env) stoppedTasks(deploymentID string) []types.Task {
	e.t.Helper()
	list, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), DesiredStatus: types.DesiredStatusStopped, StartedBy: aws.String(deploymentID)})
	if err != nil {
		e.t.Fatalf("listing tasks: %v", err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		e.t.Fatalf("describing tasks: %v", err)
	}
	return out.Tasks
}

func primary(s *types.Service) types.Deployment {
	for _, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return d
		}
	}
	return types.Deployment{}
}

// messages returns the service's event messages, oldest first.
func messages(s *types.Service) []string {
	var out []string
	for i := len(s.Events) - 1; i >= 0; i-- {
		out = append(out, aws.ToString(s.Events[i].Message))
	}
	return out
}

func eventsString(s *types.Service) string { return strings.Join(messages(s), "\n") }

func deploymentsString(s *types.Service) string {
	var parts []string
	for _, d := range s.Deployments {
		parts = append(parts, aws.ToString(d.Id)+" "+aws.ToString(d.Status)+" "+string(d.RolloutState)+" "+aws.ToString(d.TaskDefinition))
	}
	return strings.Join(parts, "; ")
}

// hasMessage reports whether some event message contains all the parts.
func hasMessage(s *types.Service, parts ...string) bool {
	for _, m := range messages(s) {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(m, p)
		}
		if ok {
			return true
		}
	}
	return false
}

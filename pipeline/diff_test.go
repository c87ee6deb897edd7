package pipeline_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDiffNoNoise: a running definition as DescribeTaskDefinition returns
// it (read-only fields, API defaults, other orders, resolved units) and the
// local file it was registered from show no difference.
func TestDiffNoNoise(t *testing.T) {
	opts := pipeline.DiffOptions{IgnoreTags: []string{"DeployedAt"}}
	diff, err := pipeline.DiffTaskDefinitions(readFile(t, "testdata/diff/running-task-def.json"), readFile(t, "testdata/diff/local-task-def.json"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("task definitions: want no diff, got:\n%s", diff)
	}
	diff, err = pipeline.DiffServiceDefinitions(readFile(t, "testdata/diff/running-service-def.json"), readFile(t, "testdata/diff/local-service-def.json"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("service definitions: want no diff, got:\n%s", diff)
	}
}

// TestDiffChange: a real change shows as the expected unified diff.
func TestDiffChange(t *testing.T) {
	local := strings.NewReplacer(
		`"value": "production"`, `"value": "canary"`,
		`"sizeInGiB": 21`, `"sizeInGiB": 30`,
	).Replace(string(readFile(t, "testdata/diff/local-task-def.json")))
	diff, err := pipeline.DiffTaskDefinitions(readFile(t, "testdata/diff/running-task-def.json"), []byte(local), pipeline.DiffOptions{
		FromFile:   "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/web:42",
		ToFile:     "ecs-task-def.json",
		IgnoreTags: []string{"DeployedAt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/diff/task-change.diff", diff)

	service := strings.Replace(string(readFile(t, "testdata/diff/local-service-def.json")), `"desiredCount": 2`, `"desiredCount": 3`, 1)
	diff, err = pipeline.DiffServiceDefinitions(readFile(t, "testdata/diff/running-service-def.json"), service, pipeline.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/diff/service-change.diff", diff)
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := string(readFile(t, path)); want != got {
		t.Errorf("%s mismatch (run go test -update to accept)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

// describer serves one task definition like ECS does.
type describer struct {
	out *ecs.DescribeTaskDefinitionOutput
}

func (d describer) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	return d.out, nil
}

// TestDiffDescribedSDKValue: a running definition read through
// TaskDefinitionDescriber (SDK types, not JSON) compares with a local file.
func TestDiffDescribedSDKValue(t *testing.T) {
	now := time.Now()
	d := describer{&ecs.DescribeTaskDefinitionOutput{
		TaskDefinition: &types.TaskDefinition{
			TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/app:3"),
			Family:            aws.String("app"),
			Revision:          3,
			Status:            types.TaskDefinitionStatusActive,
			RegisteredAt:      &now,
			Cpu:               aws.String("1024"),
			Memory:            aws.String("2048"),
			NetworkMode:       types.NetworkModeBridge,
			ContainerDefinitions: []types.ContainerDefinition{{
				Name:         aws.String("app"),
				Image:        aws.String("app@sha256:9999999999999999999999999999999999999999999999999999999999999999"),
				Essential:    aws.Bool(true),
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp}},
				Environment:  []types.KeyValuePair{},
			}},
			Compatibilities: []types.Compatibility{types.CompatibilityEc2},
		},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("app")}},
	}}
	running, err := pipeline.DescribeTaskDefinition(context.Background(), d, "app:3")
	if err != nil {
		t.Fatal(err)
	}
	local := `{"family": "app", "cpu": "1 vCPU", "memory": "2 GB", "networkMode": "bridge",
	  "containerDefinitions": [{"name": "app", "image": "app@sha256:9999999999999999999999999999999999999999999999999999999999999999",
	    "portMappings": [{"containerPort": 80, "hostPort": 0}]}],
	  "tags": [{"key": "team", "value": "app"}]}`
	diff, err := pipeline.DiffTaskDefinitions(running, local, pipeline.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("want no diff, got:\n%s", diff)
	}
	// The same value with a new image differs.
	diff, err = pipeline.DiffTaskDefinitions(running, strings.Replace(local, "9999", "aaaa", 1), pipeline.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diff, "--- running\n+++ local\n") || !strings.Contains(diff, `+      "image": "app@sha256:aaaa`) {
		t.Errorf("unexpected diff:\n%s", diff)
	}
}

// TestDiffServiceSDKValue: a *types.Service as DescribeServices returns it
// compares equal to the service definition file it came from.
func TestDiffServiceSDKValue(t *testing.T) {
	now := time.Now()
	running := &types.Service{
		ServiceArn:     aws.String("arn:aws:ecs:us-east-1:123456789012:service/app/web"),
		ServiceName:    aws.String("web"),
		Status:         aws.String("ACTIVE"),
		CreatedAt:      &now,
		DesiredCount:   2,
		RunningCount:   2,
		LaunchType:     types.LaunchTypeFargate,
		TaskDefinition: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"),
		Events:         []types.ServiceEvent{{Id: aws.String("1"), CreatedAt: &now, Message: aws.String("steady")}},
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MaximumPercent: aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
			Subnets: []string{"subnet-b", "subnet-a"}, AssignPublicIp: types.AssignPublicIpDisabled,
		}},
		PlatformVersion:    aws.String("LATEST"),
		SchedulingStrategy: types.SchedulingStrategyReplica,
		PropagateTags:      types.PropagateTagsNone,
	}
	local := `{"launchType": "FARGATE", "desiredCount": 2,
	  "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}},
	  "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"]}}}`
	diff, err := pipeline.DiffServiceDefinitions(running, local, pipeline.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("want no diff, got:\n%s", diff)
	}
}

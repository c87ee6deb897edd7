package pipeline_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestDiffNoFalseChanges: orders that carry no meaning (tags,
// requiresCompatibilities, placement) show no diff, as ecspresso diff.go
// sorts them (sortTaskDefinition, ServiceDefinitionForDiff); a DAEMON
// service's 100/0 deployment defaults are no change either.
func TestDiffNoFalseChanges(t *testing.T) {
	running := `{"family": "web", "revision": 3, "status": "ACTIVE", "requiresCompatibilities": ["EC2", "FARGATE"],
	  "placementConstraints": [{"type": "memberOf", "expression": "attribute:b"}, {"type": "memberOf", "expression": "attribute:a"}],
	  "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
	  "containerDefinitions": [{"name": "app", "image": "web:1", "essential": true}]}`
	local := `{"family": "web", "requiresCompatibilities": ["FARGATE", "EC2"],
	  "placementConstraints": [{"type": "memberOf", "expression": "attribute:a"}, {"type": "memberOf", "expression": "attribute:b"}],
	  "tags": [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}],
	  "containerDefinitions": [{"name": "app", "image": "web:1"}]}`
	if diff, err := pipeline.DiffTaskDefinitions(running, local, pipeline.DiffOptions{}); err != nil || diff != "" {
		t.Errorf("task definition: %v\n%s", err, diff)
	}

	daemon := &types.Service{
		ServiceName:        aws.String("agent"),
		SchedulingStrategy: types.SchedulingStrategyDaemon,
		LaunchType:         types.LaunchTypeEc2,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MaximumPercent: aws.Int32(100), MinimumHealthyPercent: aws.Int32(0),
		},
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		PropagateTags:        types.PropagateTagsNone,
		Tags:                 []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}},
	}
	localSvc := `{"launchType": "EC2", "schedulingStrategy": "DAEMON", "tags": [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}]}`
	if diff, err := pipeline.DiffServiceDefinitions(daemon, localSvc, pipeline.DiffOptions{}); err != nil || diff != "" {
		t.Errorf("DAEMON service: %v\n%s", err, diff)
	}
	// A real change is still one.
	changed := strings.Replace(localSvc, `"value": "2"`, `"value": "3"`, 1)
	if diff, err := pipeline.DiffServiceDefinitions(daemon, changed, pipeline.DiffOptions{}); err != nil || !strings.Contains(diff, `+      "value": "3"`) {
		t.Errorf("changed tag: %v\n%s", err, diff)
	}
}

// commandFiles is a task definition running command, a JSON list.
func commandFiles(command string) map[string]string {
	return map[string]string{"ecs-task-def.json": `{"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
  "containerDefinitions": [{"name": "app", "image": "registry.example.com/web:v1", "essential": true,
    "portMappings": [{"containerPort": 8080}], "command": ` + command + `}]}`}
}

// TestDiffKeepsEmptyStrings: an empty string in a list is a value, kept by
// diff and by a deploy's plan; ecspresso prunes only nulls and empty lists.
func TestDiffKeepsEmptyStrings(t *testing.T) {
	e := emptyEnv(t)
	same := project(t, commandFiles(`["sh", "-c", ""]`), nil)
	if _, err := pipeline.Create(e.ctx, e.ecs, same, pipeline.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if diff, err := pipeline.DiffService(e.ctx, e.ecs, same, pipeline.DiffServiceOptions{}); err != nil || diff != "" {
		t.Errorf("unchanged: %v\n%s", err, diff)
	}
	dropped := project(t, commandFiles(`["sh", "-c"]`), nil)
	diff, err := pipeline.DiffService(e.ctx, e.ecs, dropped, pipeline.DiffServiceOptions{})
	if err != nil || !strings.Contains(diff, "-        \"\"") {
		t.Errorf("dropping the empty argument shows no removal of \"\": %v\n%s", err, diff)
	}
	dry, err := pipeline.Deploy(e.ctx, e.ecs, same, pipeline.DeployOptions{DryRun: true})
	if err != nil || !regexp.MustCompile(`"-c",\s+""`).MatchString(dry.Plan) {
		t.Errorf("the plan lost the empty argument: %v\n%s", err, dry.Plan)
	}
}

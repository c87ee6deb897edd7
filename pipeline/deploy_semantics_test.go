package pipeline_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestDeployDesiredCountRules follows ecspresso deploy.go (calcDesiredCount):
// the service definition's desiredCount is applied, an asked count wins
// over it, NoUpdateService leaves it out, and without either UpdateService
// carries no desiredCount (TestDeploySucceeds).
func TestDeployDesiredCountRules(t *testing.T) {
	e := newDeployEnv(t, nil)
	image := map[string]string{"IMAGE": "registry.example.com/web:v2"}
	withCount := loadDeployConfig(t, map[string]string{"DESIRED_COUNT": "3"}, image)

	if _, err := pipeline.Deploy(e.ctx, e.ecs, withCount, pipeline.DeployOptions{Wait: e.waitOpts(nil)}); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if got := e.updateParams(0)["desiredCount"]; got != 3.0 {
		t.Errorf("UpdateService desiredCount %v, want the service definition's 3", got)
	}
	if s := e.service(); s.DesiredCount != 3 || s.RunningCount != 3 {
		t.Errorf("desired %d running %d, want 3", s.DesiredCount, s.RunningCount)
	}

	if _, err := pipeline.Deploy(e.ctx, e.ecs, withCount, pipeline.DeployOptions{DesiredCount: aws.Int32(4), Wait: e.waitOpts(nil)}); err != nil {
		t.Fatalf("Deploy with a count: %v", err)
	}
	if got := e.updateParams(1)["desiredCount"]; got != 4.0 {
		t.Errorf("UpdateService desiredCount %v, want the asked 4 over the file's 3", got)
	}

	if _, err := pipeline.Deploy(e.ctx, e.ecs, withCount, pipeline.DeployOptions{NoUpdateService: true, Wait: e.waitOpts(nil)}); err != nil {
		t.Fatalf("Deploy with NoUpdateService: %v", err)
	}
	if _, ok := e.updateParams(2)["desiredCount"]; ok {
		t.Errorf("NoUpdateService sent the service definition's desiredCount: %v", e.updateParams(2))
	}
	if n := len(e.calls("UpdateService")); n != 3 {
		t.Errorf("%d UpdateService calls for 3 deploys", n)
	}

	// diff compares desiredCount only when the file sets it (ecspresso
	// diff.go, diffServices): the service runs 4, the file says 3.
	diff, err := pipeline.DiffService(e.ctx, e.ecs, withCount, pipeline.DiffServiceOptions{})
	if err != nil || !strings.Contains(diff, `-  "desiredCount": 4,`) || !strings.Contains(diff, `+  "desiredCount": 3,`) {
		t.Errorf("diff with desiredCount in the file: %v\n%s", err, diff)
	}
	diff, err = pipeline.DiffService(e.ctx, e.ecs, e.cfg, pipeline.DiffServiceOptions{})
	if err != nil || strings.Contains(diff, "desiredCount") {
		t.Errorf("diff without desiredCount in the file: %v\n%s", err, diff)
	}
}

// daemonFiles is a DAEMON service on EC2; its desiredCount must not be sent.
var daemonFiles = map[string]string{
	"ecs-task-def.json": `{"family": "agent", "networkMode": "bridge", "requiresCompatibilities": ["EC2"], "memory": "256",
  "containerDefinitions": [{"name": "app", "image": "{{ env ` + "`IMAGE` `registry.example.com/agent:v1`" + ` }}", "essential": true}]}`,
	"ecs-service-def.jsonnet": `{launchType: 'EC2', schedulingStrategy: 'DAEMON', desiredCount: 5, propagateTags: 'SERVICE'}`,
}

// TestDeployDaemonService: a DAEMON service is created and deployed with no
// desired count (ecspresso deploy.go calcDesiredCount, create.go), asking
// for one is refused before anything changes, and diff shows none of the
// 100/0 deployment defaults ECS fills in (ecspresso diff.go).
func TestDeployDaemonService(t *testing.T) {
	e := emptyEnv(t)
	if _, err := pipeline.Create(e.ctx, e.ecs, project(t, daemonFiles, nil), pipeline.CreateOptions{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if s := e.service(); s.SchedulingStrategy != types.SchedulingStrategyDaemon || aws.ToInt32(s.DeploymentConfiguration.MinimumHealthyPercent) != 0 {
		t.Fatalf("created %s with %+v", s.SchedulingStrategy, s.DeploymentConfiguration)
	}
	v2 := project(t, daemonFiles, map[string]string{"IMAGE": "registry.example.com/agent:v2"})
	e.srv.ResetRequests()
	if _, err := pipeline.Deploy(e.ctx, e.ecs, v2, pipeline.DeployOptions{DesiredCount: aws.Int32(2), NoWait: true}); err == nil || !strings.Contains(err.Error(), "DAEMON") {
		t.Errorf("a count for a DAEMON service: %v", err)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("a refused deploy called %v", m)
	}
	res, err := pipeline.Deploy(e.ctx, e.ecs, v2, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if _, ok := e.updateParams(0)["desiredCount"]; ok || res.Outcome != pipeline.OutcomeSucceeded {
		t.Errorf("outcome %s, UpdateService %v", res.Outcome, e.updateParams(0))
	}
	diff, err := pipeline.DiffService(e.ctx, e.ecs, v2, pipeline.DiffServiceOptions{})
	if err != nil || diff != "" {
		t.Errorf("diff of the deployed DAEMON service: %v\n%s", err, diff)
	}
}

// TestDeployTaskDefinitionChoice: Revision and LatestTaskDefinition deploy
// an existing revision of the running family without registering, and
// exclude each other (ecspresso deploy.go, taskDefinitionArnForDeploy);
// NoUpdateService sends only the task definition.
func TestDeployTaskDefinitionChoice(t *testing.T) {
	e := newDeployEnv(t, nil)
	v2, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatal(err)
	}
	td, err := pipeline.DescribeTaskDefinition(e.ctx, e.ecs, v2.TaskDefinitionArn)
	if err != nil {
		t.Fatal(err)
	}
	in, err := pipeline.TaskDefinitionInput(&pipeline.Definition{Path: "web:2", Body: td})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := e.ecs.RegisterTaskDefinition(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	v3 := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	e.srv.ResetRequests()

	if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Revision: 1, LatestTaskDefinition: true}); err == nil || !strings.Contains(err.Error(), "exclude") {
		t.Errorf("Revision with LatestTaskDefinition: %v", err)
	}
	if n := len(e.srv.Requests()); n != 0 {
		t.Errorf("a refused deploy made %d requests", n)
	}

	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Revision: 1, Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy Revision 1: %v", err)
	}
	if res.TaskDefinitionArn != e.v1 || aws.ToString(e.service().TaskDefinition) != e.v1 {
		t.Errorf("deployed %s, service runs %s; want %s", res.TaskDefinitionArn, aws.ToString(e.service().TaskDefinition), e.v1)
	}
	res, err = pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{LatestTaskDefinition: true, NoUpdateService: true, Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy LatestTaskDefinition: %v", err)
	}
	if res.TaskDefinitionArn != v3 || aws.ToString(e.service().TaskDefinition) != v3 {
		t.Errorf("deployed %s; want the latest %s", res.TaskDefinitionArn, v3)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"UpdateService", "UpdateService"}) {
		t.Errorf("mutating calls %v, want two UpdateService and no registration", got)
	}
	if keys := slices.Sorted(maps.Keys(e.updateParams(1))); !slices.Equal(keys, []string{"cluster", "service", "taskDefinition"}) {
		t.Errorf("NoUpdateService sent %v, want only cluster, service and taskDefinition", keys)
	}
}

// TestDeployServiceTags: deploy brings the service's tags in line with the
// service definition with TagResource and UntagResource (ecspresso
// deploy.go, UpdateServiceTags), leaves ignored keys alone, still makes one
// UpdateService, and diff reads the tags with the service so unchanged tags
// in another order show no diff.
func TestDeployServiceTags(t *testing.T) {
	e := emptyEnv(t)
	created := project(t, taggedService(`[{key: 'team', value: 'web'}, {key: 'cost', value: 'a'}]`), nil)
	if _, err := pipeline.Create(e.ctx, e.ecs, created, pipeline.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	arn := e.service().ServiceArn
	if _, err := e.ecs.TagResource(e.ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
		{Key: aws.String("stray"), Value: aws.String("x")}, {Key: aws.String("owner"), Value: aws.String("ops")},
	}}); err != nil {
		t.Fatal(err)
	}
	files := taggedService(`[{key: 'cost', value: 'b'}, {key: 'team', value: 'web'}]`)
	files["ecspresso.yml"] = "region: us-east-1\ncluster: prod\nservice: web\ntask_definition: ecs-task-def.json\nservice_definition: ecs-service-def.jsonnet\nignore:\n  tags: [owner]\n"
	changed := project(t, files, nil)
	e.srv.ResetRequests()

	dry, err := pipeline.Deploy(e.ctx, e.ecs, changed, pipeline.DeployOptions{DryRun: true})
	if err != nil || !strings.Contains(dry.Plan, "Would tag service") || !strings.Contains(dry.Plan, "cost=b") || !strings.Contains(dry.Plan, "Would untag service") {
		t.Errorf("dry run: %v\n%s", err, dry.Plan)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("dry run called %v", m)
	}
	if _, err := pipeline.Deploy(e.ctx, e.ecs, changed, pipeline.DeployOptions{Wait: e.waitOpts(nil)}); err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "TagResource", "UntagResource", "UpdateService"}) {
		t.Errorf("mutating calls %v", got)
	}
	if got, want := e.serviceTags(), map[string]string{"team": "web", "cost": "b", "owner": "ops"}; !maps.Equal(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}

	diff, err := pipeline.DiffService(e.ctx, e.ecs, changed, pipeline.DiffServiceOptions{})
	if err != nil || diff != "" {
		t.Errorf("diff after the deploy: %v\n%s", err, diff)
	}
	e.srv.ResetRequests()
	if _, err := pipeline.Deploy(e.ctx, e.ecs, changed, pipeline.DeployOptions{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService"}) {
		t.Errorf("unchanged tags: mutating calls %v", got)
	}
}

// TestDeployCreatesMissingService: deploy creates a service that does not
// exist, as ecspresso v2's deploy does (deploy.go, create.go), through
// Create's rules, and follows its first deployment; a dry run only plans it;
// a deploy that registers nothing does not create.
func TestDeployCreatesMissingService(t *testing.T) {
	e := emptyEnv(t)
	cfg := loadDeployConfig(t, map[string]string{"DESIRED_COUNT": "3"}, nil)

	if _, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{SkipTaskDefinition: true}); !errors.Is(err, pipeline.ErrServiceNotFound) {
		t.Errorf("SkipTaskDefinition on a missing service: %v", err)
	}
	dry, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{DryRun: true})
	if err != nil || !dry.Created || !strings.Contains(dry.Plan, `Would create service "web" in cluster "prod"`) || !strings.Contains(dry.Plan, `"desiredCount": 3`) {
		t.Errorf("dry run: %v %+v", err, dry)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("refused and dry deploys called %v", m)
	}

	res, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if !res.Created || res.Outcome != pipeline.OutcomeSucceeded || res.DeploymentID == "" || !strings.HasSuffix(res.TaskDefinitionArn, ":task-definition/web:1") {
		t.Errorf("result %+v", res)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "CreateService"}) {
		t.Errorf("mutating calls %v", got)
	}
	if s := e.service(); s.DesiredCount != 3 || s.RunningCount != 3 || aws.ToString(s.TaskDefinition) != res.TaskDefinitionArn {
		t.Errorf("service desired %d running %d on %s", s.DesiredCount, s.RunningCount, aws.ToString(s.TaskDefinition))
	}
}

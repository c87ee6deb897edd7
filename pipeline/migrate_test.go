package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// migrateUp is the migration the tests deploy with, and the command its
// one-off task runs.
const migrateUp = "./migrate up"

var migrateKey = ecssim.CommandKey("sh", "-c", migrateUp)

// deployWithMigration deploys web:v2 with RunBefore migrateUp; timeout 0
// is the config's.
func (e *traceEnv) deployWithMigration(timeout time.Duration) (*pipeline.DeployResult, error) {
	e.t.Helper()
	opts := e.waitOpts(nil)
	opts.Logs, opts.Timeout = e.logs, timeout
	return pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{RunBefore: migrateUp, Wait: opts})
}

// TestDeployRunsMigrationFirst: the migration runs as a one-off task of
// the newly registered revision, with the service's launch type and
// network, and exits 0; only then is the service updated, once.
func TestDeployRunsMigrationFirst(t *testing.T) {
	e := newTraceEnv(t)
	res, err := e.deployWithMigration(0)
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Outcome != pipeline.OutcomeSucceeded || res.Migration == nil || len(res.Migration.Traces) != 1 {
		t.Fatalf("outcome %s, migration %+v; want SUCCEEDED after one traced migration", res.Outcome, res.Migration)
	}
	var ops []string
	for _, op := range e.mutating() {
		if op == "RegisterTaskDefinition" || op == "RunTask" || op == "UpdateService" {
			ops = append(ops, op)
		}
	}
	if want := []string{"RegisterTaskDefinition", "RunTask", "UpdateService"}; !slices.Equal(ops, want) {
		t.Fatalf("calls %v, want %v in that order", ops, want)
	}
	var in struct {
		TaskDefinition       string          `json:"taskDefinition"`
		LaunchType           string          `json:"launchType"`
		NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
		Overrides            struct {
			ContainerOverrides []struct {
				Name    string   `json:"name"`
				Command []string `json:"command"`
			} `json:"containerOverrides"`
		} `json:"overrides"`
	}
	if err := json.Unmarshal(e.calls("RunTask")[0].Params, &in); err != nil {
		t.Fatal(err)
	}
	if in.TaskDefinition != res.TaskDefinitionArn || !strings.HasSuffix(in.TaskDefinition, "web:2") {
		t.Errorf("migration ran %s, want the registered %s", in.TaskDefinition, res.TaskDefinitionArn)
	}
	if in.LaunchType != "FARGATE" || !strings.Contains(string(in.NetworkConfiguration), "subnet-0a1b2c3d") {
		t.Errorf("migration without the service's launch type or network: %s", e.calls("RunTask")[0].Params)
	}
	if co := in.Overrides.ContainerOverrides; len(co) != 1 || co[0].Name != "app" || !slices.Equal(co[0].Command, []string{"sh", "-c", migrateUp}) {
		t.Errorf("container overrides %+v, want app running sh -c %q", co, migrateUp)
	}
	if got := e.service().TaskDefinition; aws.ToString(got) != res.TaskDefinitionArn {
		t.Errorf("service runs %s, want %s", aws.ToString(got), res.TaskDefinitionArn)
	}
}

// TestDeployFailedMigrationLeavesServiceAlone: a migration that exits 1
// fails the deploy with its exit code and log line; the revision is
// registered once and the service is neither updated nor tagged.
func TestDeployFailedMigrationLeavesServiceAlone(t *testing.T) {
	e := newTraceEnv(t)
	const line = `ERROR: column "email" of relation "users" already exists`
	e.srv.SetBehavior(migrateKey, ecssim.ExitsWithLogs(1, "migrating to 0042_add_email", line))
	res, err := e.deployWithMigration(0)
	if !errors.Is(err, pipeline.ErrTaskFailed) {
		t.Fatalf("Deploy: %v, want ErrTaskFailed", err)
	}
	for _, want := range []string{"running migration", line, "app: exit code 1", "web:2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if res == nil || res.Outcome != pipeline.OutcomeFailed || res.Migration == nil {
		t.Errorf("result %+v, want FAILED with the migration's run", res)
	}
	if n := len(e.calls("RegisterTaskDefinition")); n != 1 {
		t.Errorf("%d RegisterTaskDefinition calls, want 1", n)
	}
	for _, op := range []string{"UpdateService", "TagResource", "UntagResource"} {
		if n := len(e.calls(op)); n != 0 {
			t.Errorf("%d %s calls after a failed migration, want 0", n, op)
		}
	}
	if got := aws.ToString(e.service().TaskDefinition); got != e.v1 {
		t.Errorf("service runs %s, want %s still", got, e.v1)
	}
}

// TestDeployMigrationTimeoutStopsIt: a migration still running at the
// deploy's timeout is stopped and the service is not updated.
func TestDeployMigrationTimeoutStopsIt(t *testing.T) {
	e := newTraceEnv(t)
	e.srv.SetBehavior(migrateKey, ecssim.ExitsWith(0, "", time.Hour))
	_, err := e.deployWithMigration(2 * time.Minute)
	if err == nil || !strings.Contains(err.Error(), "still running after 2m0s") || !strings.Contains(err.Error(), "stopped ") {
		t.Fatalf("Deploy: %v, want a timeout that stopped the migration", err)
	}
	stops := e.calls("StopTask")
	if len(stops) != 1 {
		t.Fatalf("%d StopTask calls, want 1", len(stops))
	}
	var in struct{ Task string }
	if err := json.Unmarshal(stops[0].Params, &in); err != nil {
		t.Fatal(err)
	}
	out, err := e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{in.Task}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks: %v", err)
	}
	if task := out.Tasks[0]; aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.Group) != "family:web" {
		t.Errorf("stopped task %s in group %s, want the STOPPED migration", aws.ToString(task.LastStatus), aws.ToString(task.Group))
	}
	if n := len(e.calls("UpdateService")); n != 0 {
		t.Errorf("%d UpdateService calls after the migration timed out, want 0", n)
	}
}

// TestDeployDryRunPlansMigration: the plan names the migration and runs
// nothing.
func TestDeployDryRunPlansMigration(t *testing.T) {
	e := newTraceEnv(t)
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{RunBefore: migrateUp, DryRun: true, Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Plan, "Would run a migration first") || !strings.Contains(res.Plan, `"sh" "-c" "./migrate up"`) {
		t.Errorf("plan lacks the migration:\n%s", res.Plan)
	}
	if i, j := strings.Index(res.Plan, "Would run a migration"), strings.Index(res.Plan, "Would update service"); i > j {
		t.Errorf("plan updates before it migrates:\n%s", res.Plan)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("a dry run called %v", m)
	}
}

// TestDeployMigrationChecksItsContainer: a RunBefore container the
// definition lacks is refused before anything is registered.
func TestDeployMigrationChecksItsContainer(t *testing.T) {
	e := newTraceEnv(t)
	_, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{RunBefore: migrateUp, RunBeforeContainer: "db", Wait: e.waitOpts(nil)})
	if err == nil || !strings.Contains(err.Error(), `"db"`) {
		t.Fatalf("Deploy: %v, want the missing container named", err)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("a refused deploy called %v", m)
	}
}

// cancellingClock is a simClock that cancels the run's context when it is
// first asked to sleep, as a CI job cancelled mid-wait does.
type cancellingClock struct {
	simClock
	cancel context.CancelFunc
}

func (c cancellingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.cancel()
	return c.simClock.Sleep(ctx, d)
}

// TestRunStopOnTimeoutStopsOnCancel: a StopOnTimeout run whose context is
// cancelled while it waits still stops its task.
func TestRunStopOnTimeoutStopsOnCancel(t *testing.T) {
	e := newTraceEnv(t)
	e.srv.SetBehavior(migrateKey, ecssim.ExitsWith(0, "", time.Hour))
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	_, err := pipeline.Run(ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{Command: []string{"sh", "-c", migrateUp}, StopOnTimeout: true,
		Clock: cancellingClock{simClock{e.clock}, cancel}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped ") {
		t.Fatalf("Run: %v, want the cancellation, and the task stopped", err)
	}
	if n := len(e.calls("StopTask")); n != 1 {
		t.Errorf("%d StopTask calls, want 1", n)
	}
}

// TestDeployMigrationNeedsAService: a deploy that would create the service
// refuses RunBefore before changing anything.
func TestDeployMigrationNeedsAService(t *testing.T) {
	e := newTraceEnv(t)
	cfg := *e.cfg
	cfg.Service = "api"
	_, err := pipeline.Deploy(e.ctx, e.ecs, &cfg, pipeline.DeployOptions{RunBefore: migrateUp, Wait: e.waitOpts(nil)})
	if !errors.Is(err, pipeline.ErrServiceNotFound) || !strings.Contains(err.Error(), "RunBefore") {
		t.Fatalf("Deploy: %v, want RunBefore refused for a service to create", err)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("a refused deploy called %v", m)
	}
}

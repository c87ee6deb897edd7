package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestFindOutWhy deploys, through dagger call, a release after a migration
// that fails (no UpdateService; the error quotes its log), then a release
// whose container crashes at start: the failed deploy quotes the crashed
// task's log line; tasks, trace and logs show it again; run propagates a
// one-off task's exit code (0, 1, 137).
func TestFindOutWhy(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	const crash = "FATAL: DATABASE_URL is not set (e2e)"
	const image = "registry.invalid/hello:v2@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	s.sim.SetBehavior(image, ecssim.CrashesAtStart(crash))

	// A migration that fails: the new revision is registered, the
	// service is not updated, and the error quotes the migration's log.
	const migrationError = "ERROR: relation \"users\" already exists (e2e)"
	s.sim.SetBehavior(ecssim.CommandKey("sh", "-c", "./migrate up"), ecssim.ExitsWithLogs(1, "applying 0042_users", migrationError))
	r := daggerCall(t, append(s.args(app), "service", "--image", image, "deploy", "--run-before", "./migrate up", "summary")...)
	if r.err == nil {
		t.Fatalf("deploy after a failed migration succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{migrationError, "exit code 1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failed migration does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	if m := strings.Join(s.mutating(), " "); m != "RegisterTaskDefinition RunTask" {
		t.Errorf("a failed migration made the mutating calls %q, want one RegisterTaskDefinition and the RunTask", m)
	}
	s.sim.ResetRequests()

	r = daggerCall(t, append(s.args(app), "service", "--image", image, "deploy", "summary")...)
	if r.err == nil {
		t.Fatalf("deploy of a crashing release succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{crash, "exit code 1", "service runs hello:1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failed deploy does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	assertNoSecrets(t, r)
	s.waitFor(t, "hello:1")

	r = daggerCall(t, append(s.args(app), "service", "tasks", "--stopped")...)
	if r.err != nil || !strings.Contains(r.stdout, "hello:3") || !strings.Contains(r.stdout, "exit code 1") {
		t.Errorf("tasks --stopped: %v\n%s", r.err, tail(r.all(), 30))
	}
	r = daggerCall(t, append(s.args(app), "service", "trace", "--format", "markdown")...)
	if r.err != nil || !strings.Contains(r.stdout, crash) || !strings.Contains(r.stdout, "hello:3") {
		t.Errorf("trace: %v\n%s", r.err, tail(r.all(), 40))
	}
	r = daggerCall(t, append(s.args(app), "service", "logs", "--since", "30m")...)
	if r.err != nil || !strings.Contains(r.stdout, crash) {
		t.Errorf("logs --since 30m: %v\n%s", r.err, tail(r.all(), 30))
	}

	// One-off tasks of three revisions of another family, scripted to
	// exit 0, 1 and 137.
	for code, b := range map[int32]ecssim.Behavior{
		0:   {Logs: []string{"migrated 3 tables"}},
		1:   ecssim.ExitsWith(1, "", time.Second),
		137: ecssim.RunsOutOfMemory(time.Second, "loading everything"),
	} {
		out, err := s.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
			Family:                  aws.String("oneoff"),
			RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			NetworkMode:             types.NetworkModeAwsvpc,
			Cpu:                     aws.String("256"),
			Memory:                  aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{
				Name: aws.String("app"), Essential: aws.Bool(true), LogConfiguration: awslogs("/ecs/oneoff"),
				Image: aws.String(fmt.Sprintf("registry.invalid/oneoff:exit%d@sha256:%s", code, strings.Repeat("3", 64))),
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		rev := fmt.Sprintf("oneoff:%d", out.TaskDefinition.Revision)
		s.sim.SetBehavior(rev, b)
		r := daggerCall(t, append(s.args(app), "service", "run", "--task-definition", rev, "--command", "sh", "--command", "-c", "--command", "./seed")...)
		switch code {
		case 0:
			if r.err != nil || !strings.Contains(r.stdout, "migrated 3 tables") {
				t.Errorf("run %s (exit 0): %v\n%s", rev, r.err, tail(r.all(), 30))
			}
		default:
			if r.err == nil || !strings.Contains(r.stderr, fmt.Sprintf("exit code %d", code)) {
				t.Errorf("run %s (exit %d): %v, want a failure naming the exit code\n%s", rev, code, r.err, tail(r.all(), 30))
			}
		}
	}
}

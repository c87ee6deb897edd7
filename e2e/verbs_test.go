package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestScaleRefreshRevisionsDelete: ecspresso's scale, refresh, wait,
// revisions, deregister and delete through dagger call, on service hello
// (hello:1, two tasks). Deregister and delete change ECS only with --force.
func TestScaleRefreshRevisionsDelete(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	const image = "registry.invalid/hello:v1@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	call := func(args ...string) result {
		t.Helper()
		return daggerCall(t, append(append(s.args(app), "service", "--image", image), args...)...)
	}
	must := func(args ...string) result {
		t.Helper()
		r := call(args...)
		if r.err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), r.err, tail(r.all(), 30))
		}
		return r
	}

	must("scale", "--tasks", "3")
	if svc := s.service(t); svc.DesiredCount != 3 || svc.RunningCount != 3 {
		t.Fatalf("scale --tasks 3: desired %d, running %d", svc.DesiredCount, svc.RunningCount)
	}
	before := s.updates()
	must("refresh")
	if s.updates() != before+1 || len(s.service(t).Deployments) != 1 {
		t.Errorf("refresh: %d UpdateService calls, want 1; deployments %d", s.updates()-before, len(s.service(t).Deployments))
	}
	s.waitFor(t, "hello:1")

	// deploy --no-wait, then wait (ecspresso's wait): hello:2.
	if r := must("deploy", "--no-wait", "outcome"); r.out() != "STARTED" {
		t.Fatalf("deploy --no-wait: %s", r.out())
	}
	if r := must("wait"); !strings.Contains(r.stdout, "SUCCEEDED") || !strings.Contains(r.stdout, "hello:2") {
		t.Errorf("wait:\n%s", r.stdout)
	}
	if svc := s.service(t); len(svc.Deployments) != 1 || svc.RunningCount != 3 || !strings.HasSuffix(aws.ToString(svc.TaskDefinition), "/hello:2") {
		t.Errorf("after wait: %d deployments, %d running, %s", len(svc.Deployments), svc.RunningCount, aws.ToString(svc.TaskDefinition))
	}

	// hello:3 and hello:4, registered and idle.
	for range 2 {
		if _, err := s.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("hello"), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
			NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image)}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := must("revisions", "--format", "tsv")
	if got := strings.TrimSpace(r.stdout); got != "hello:1\t\nhello:2\tPRIMARY deployment\nhello:3\t\nhello:4" {
		t.Errorf("revisions --format tsv:\n%s", r.stdout)
	}
	r = must("revisions", "--revision", "latest")
	var td map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &td); err != nil || td["revision"] != float64(4) {
		t.Errorf("revisions --revision latest (%v):\n%s", err, r.stdout)
	}

	s.sim.ResetRequests()
	if r := call("deregister", "--keeps", "1"); r.err == nil || !strings.Contains(r.stderr, "--force") {
		t.Errorf("deregister without --force: %v\n%s", r.err, tail(r.all(), 20))
	}
	if m := s.mutating(); len(m) != 0 {
		t.Fatalf("deregister without --force called %v", m)
	}
	if r := must("deregister", "--keeps", "1", "--force"); !strings.Contains(r.stdout, "hello:1 deregistered") || !strings.Contains(r.stdout, "hello:3 deregistered") ||
		strings.Contains(r.stdout, "hello:2 deregistered") || strings.Contains(r.stdout, "hello:4 deregistered") {
		t.Errorf("deregister --keeps 1 --force:\n%s", r.stdout)
	}

	if r := must("delete", "--dry-run"); !strings.Contains(r.stdout, "--terminate") {
		t.Errorf("delete --dry-run of a running service:\n%s", r.stdout)
	}
	if r := call("delete", "--terminate"); r.err == nil || !strings.Contains(r.stderr, "--force") {
		t.Errorf("delete without --force: %v\n%s", r.err, tail(r.all(), 20))
	}
	if st := aws.ToString(s.service(t).Status); st != "ACTIVE" {
		t.Fatalf("the refused delete left the service %s", st)
	}
	must("delete", "--force", "--terminate")
	if st := aws.ToString(s.service(t).Status); st == "ACTIVE" {
		t.Errorf("delete --force --terminate: service %s", st)
	}
}

package pipeline_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// register registers the config's task definition n times (web:2,
// web:3...), then forgets the calls.
func (e *deployEnv) register(n int) {
	e.t.Helper()
	for range n {
		if _, err := pipeline.Register(e.ctx, e.ecs, e.cfg, pipeline.RegisterOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
	e.srv.ResetRequests()
}

func names(revs []pipeline.Revision) []string {
	var out []string
	for _, r := range revs {
		out = append(out, r.Name+"="+r.InUse)
	}
	return out
}

// TestRevisionsAndDeregisterKeeps: revisions marks what the service runs;
// deregister --keeps leaves it and the newest idle ones, asks first, and
// --delete deletes what it deregistered.
func TestRevisionsAndDeregisterKeeps(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.register(4) // web:2..5; the service runs web:1

	revs, err := pipeline.Revisions(e.ctx, e.ecs, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"web:1=PRIMARY deployment", "web:2=", "web:3=", "web:4=", "web:5="}
	if !slices.Equal(names(revs), want) {
		t.Fatalf("revisions %v, want %v", names(revs), want)
	}

	dry, err := pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Keeps: 2, DryRun: true})
	if err != nil || !slices.Equal(dry.Deregistered, []string{"web:2", "web:3"}) || len(e.mutating()) != 0 {
		t.Fatalf("dry run: %v, %+v, calls %v", err, dry, e.mutating())
	}
	// Declined: nothing changes.
	var asked string
	_, err = pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Keeps: 2, Confirm: func(q string) bool { asked = q; return false }})
	if !errors.Is(err, pipeline.ErrAborted) || !strings.Contains(asked, "web:2, web:3") || len(e.mutating()) != 0 {
		t.Fatalf("declined: %v, asked %q, calls %v", err, asked, e.mutating())
	}
	res, err := pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Keeps: 2, Delete: true, Confirm: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deregistered, []string{"web:2", "web:3"}) || !slices.Equal(res.Deleted, []string{"web:2", "web:3"}) ||
		len(res.Kept) != 1 || res.Kept[0].Name != "web:1" {
		t.Fatalf("deregister --keeps 2 --delete: %+v", res)
	}
	for name, want := range map[string]types.TaskDefinitionStatus{
		"web:1": types.TaskDefinitionStatusActive, "web:2": types.TaskDefinitionStatusDeleteInProgress,
		"web:3": types.TaskDefinitionStatusDeleteInProgress, "web:4": types.TaskDefinitionStatusActive, "web:5": types.TaskDefinitionStatusActive,
	} {
		out, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(name)})
		if err != nil || out.TaskDefinition.Status != want {
			t.Errorf("%s: %v %v, want %s", name, err, out.TaskDefinition.Status, want)
		}
	}
	if again, err := pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Keeps: 2}); err != nil || len(again.Deregistered) != 0 {
		t.Errorf("a second deregister --keeps 2: %v %+v", err, again)
	}
}

// TestDeregisterRevision: one revision, by number or latest; the one the
// service runs is refused before anything changes.
func TestDeregisterRevision(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.register(2) // web:2, web:3

	if _, err := pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Revision: "1"}); err == nil ||
		!strings.Contains(err.Error(), "web:1 is in use by a PRIMARY deployment") || len(e.mutating()) != 0 {
		t.Fatalf("deregister the running revision: %v, calls %v", err, e.mutating())
	}
	res, err := pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Revision: "latest"})
	if err != nil || !slices.Equal(res.Deregistered, []string{"web:3"}) {
		t.Fatalf("deregister latest: %v %+v", err, res)
	}
	res, err = pipeline.Deregister(e.ctx, e.ecs, e.cfg, pipeline.DeregisterOptions{Revision: "2"})
	if err != nil || !slices.Equal(res.Deregistered, []string{"web:2"}) {
		t.Fatalf("deregister 2: %v %+v", err, res)
	}
	for _, bad := range []pipeline.DeregisterOptions{{}, {Revision: "2", Keeps: 1}, {Revision: "two"}} {
		if _, err := pipeline.Deregister(e.ctx, e.ecs, e.cfg, bad); err == nil {
			t.Errorf("Deregister(%+v): no error", bad)
		}
	}
	b, err := pipeline.DescribeRevision(e.ctx, e.ecs, e.cfg, "current")
	if err != nil || !strings.Contains(string(b), `"revision": 1`) {
		t.Errorf("revision current: %v\n%s", err, b)
	}
}

// TestDeleteService: a service scaled above 0 is refused unless Terminate,
// before any change; a dry run says so; asked and declined, it stays.
func TestDeleteService(t *testing.T) {
	e := newDeployEnv(t, nil)
	dry, err := pipeline.DeleteService(e.ctx, e.ecs, e.cfg, pipeline.DeleteOptions{DryRun: true})
	if err != nil || !strings.Contains(dry.String(true), "--terminate") {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	if _, err := pipeline.DeleteService(e.ctx, e.ecs, e.cfg, pipeline.DeleteOptions{}); err == nil || !strings.Contains(err.Error(), "scale it to 0") {
		t.Fatalf("delete a running service without terminate: %v", err)
	}
	if _, err := pipeline.DeleteService(e.ctx, e.ecs, e.cfg, pipeline.DeleteOptions{Terminate: true, Confirm: func(s string) bool { return s == "other" }}); !errors.Is(err, pipeline.ErrAborted) {
		t.Fatalf("declined: %v", err)
	}
	if len(e.mutating()) != 0 {
		t.Fatalf("calls %v before the delete", e.mutating())
	}
	res, err := pipeline.DeleteService(e.ctx, e.ecs, e.cfg, pipeline.DeleteOptions{Terminate: true, Confirm: func(s string) bool { return s == "web" }})
	if err != nil || res.Status != "DRAINING" || res.DesiredCount != 2 {
		t.Fatalf("delete: %v %+v", err, res)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"DeleteService"}) {
		t.Errorf("calls %v", got)
	}
}

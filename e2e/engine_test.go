package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/internal/registryserver"
)

// TestPulledEngine proves the path a user's call takes once a release is
// pinned: the engine image, built from this source and pushed to a
// registry, is pulled by reference (--engine-image) and runs the call.
func TestPulledEngine(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartOpen(t)
	pushed := daggerCall(t, "engine", "publish", "--address", reg.Host+"/ecs-pipeline-engine:e2e")
	ref := pushed.out()
	if pushed.err != nil || !regexp.MustCompile(`^`+regexp.QuoteMeta(reg.Host)+`/ecs-pipeline-engine:e2e@sha256:[0-9a-f]{64}$`).MatchString(ref) {
		t.Fatalf("engine publish: %v %q\n%s", pushed.err, ref, tail(pushed.all(), 30))
	}

	app := initApp(t)
	image := "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1@sha256:" + strings.Repeat("1", 64)
	r := daggerCall(t, "--engine-image", ref, "--source", app, "service", "--image", image, "render")
	if r.err != nil {
		t.Fatalf("render with the pulled engine: %v\n%s", r.err, tail(r.all(), 30))
	}
	var td struct{ Family string }
	if err := json.Unmarshal([]byte(r.stdout), &td); err != nil || td.Family != "hello" {
		t.Fatalf("render with the pulled engine printed %q (%v), want family hello", r.stdout, err)
	}
	digest := ref[strings.Index(ref, "@")+1:]
	if !strings.Contains(reg.Log(), "/v2/ecs-pipeline-engine/manifests/"+digest) {
		t.Errorf("the registry never served the engine's manifest %s:\n%s", digest, tail(reg.Log(), 20))
	}
}

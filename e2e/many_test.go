package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestShipThreeServices ships one image to three services in one call:
// one build and one push, then hello (whose new tasks fail their health
// checks, so the circuit breaker rolls it back) and two new services,
// worker and batch, deployed together. The call fails naming hello and
// why; worker and batch run the new image.
func TestShipThreeServices(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	state, err := os.ReadFile(filepath.Join(app, "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"worker", "batch"} {
		dir := filepath.Join(app, "services", svc)
		r := daggerCall(t, "init", "--cluster", "prod", "--service", svc, "--region", "us-east-1",
			"--repository", "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello", "--tfstate-url", "terraform.tfstate",
			"export", "--path", dir)
		if r.err != nil {
			t.Fatalf("init %s: %v\n%s", svc, r.err, tail(r.all(), 20))
		}
		writeFile(t, filepath.Join(dir, "terraform.tfstate"), string(state))
		os.RemoveAll(filepath.Join(dir, ".github"))
	}
	s.sim.SetBehavior("hello:2", ecssim.FailsHealthChecks(20*time.Second))

	repo := s.reg.Host + "/hello"
	r := daggerCall(t, append(s.args(app), "ship", "--repository", repo,
		"--config", "ecspresso.yml", "--config", "services/*/ecspresso.yml", "summary")...)
	if r.err == nil {
		t.Fatalf("ship to three services with one failing succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{"1 of 3 services failed", "hello", "ROLLED_BACK", "health checks"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failure does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	if n := s.reg.ManifestPuts("hello"); n != 1 {
		t.Errorf("%d manifests pushed, want 1 (one push for the three services)", n)
	}
	for _, svc := range []string{"worker", "batch"} {
		if got := s.image(t, svc+":1"); !strings.HasPrefix(got, repo+":") || !strings.Contains(got, "@sha256:") {
			t.Errorf("%s:1 runs %q, want the pushed image", svc, got)
		}
	}
	updates := map[string]int{}
	for _, req := range s.sim.Requests() {
		if req.Operation == "UpdateService" || req.Operation == "CreateService" {
			updates[req.Operation]++
		}
	}
	if updates["UpdateService"] != 1 || updates["CreateService"] != 2 {
		t.Errorf("service calls %v, want one UpdateService (hello) and two CreateService (worker, batch)", updates)
	}
	assertNoSecrets(t, r)
}

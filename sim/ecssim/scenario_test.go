package ecssim_test

import (
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestScenarios pins what each rehearsal scenario means: one that
// succeeds, one that fails health checks, one that crashes at start with
// a log line, and one that is slow but succeeds.
func TestScenarios(t *testing.T) {
	if len(ecssim.Scenarios) != 4 {
		t.Fatalf("%d scenarios, want healthy, failing-health-checks, crash-on-start and slow-start", len(ecssim.Scenarios))
	}
	if b := ecssim.Scenarios["crash-on-start"]; b.Failure == nil || b.Failure.Kind != ecssim.FailExit || b.Failure.ExitCode != 1 || len(b.Logs) == 0 {
		t.Errorf("crash-on-start = %+v, want an exit 1 after logging a line", b)
	}
	if b := ecssim.Scenarios["healthy"]; b.Failure != nil {
		t.Errorf("healthy fails: %+v", b.Failure)
	}
	if b := ecssim.Scenarios["failing-health-checks"]; b.Failure == nil || b.Failure.Kind != ecssim.FailHealthCheck {
		t.Errorf("failing-health-checks = %+v", b)
	}
	slow, healthy := ecssim.Scenarios["slow-start"], ecssim.Scenarios["healthy"]
	if slow.Failure != nil || slow.StartDelay+slow.HealthyAfter < 3*time.Minute || slow.StartDelay <= healthy.StartDelay {
		t.Errorf("slow-start = %+v, want a start several minutes slower than healthy and no failure", slow)
	}
}

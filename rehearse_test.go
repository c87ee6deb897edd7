package main

import (
	"slices"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// The module offers the simulator's scenarios without importing the
// simulator (it would enter the module's build): the list must stay true.
func TestRehearsalScenariosAreTheSimulators(t *testing.T) {
	want := []string{failingMigration}
	for name := range ecssim.Scenarios {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(rehearsalScenarios, want) {
		t.Errorf("rehearsalScenarios = %q, want %q", rehearsalScenarios, want)
	}
}

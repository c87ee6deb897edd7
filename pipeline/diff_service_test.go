package pipeline_test

import (
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestDiffService compares the running service with the local files: no
// diff for what is deployed, the image line for a new image, and no
// mutating call either way.
func TestDiffService(t *testing.T) {
	e := newDeployEnv(t, nil)
	same := loadDeployConfig(t, nil, map[string]string{"IMAGE": imageOf(t, e)})
	diff, err := pipeline.DiffService(e.ctx, e.ecs, same, pipeline.DiffServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Errorf("diff of the deployed files is not empty:\n%s", diff)
	}

	diff, err = pipeline.DiffService(e.ctx, e.ecs, e.cfg, pipeline.DiffServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--- web:1", "+++ ecs-task-def.json", `+      "image": "registry.example.com/web:v2",`} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("diff made mutating calls: %v", m)
	}
}

// imageOf is the image of the first container the service runs.
func imageOf(t *testing.T, e *deployEnv) string {
	t.Helper()
	td, err := pipeline.DescribeTaskDefinition(e.ctx, e.ecs, e.v1)
	if err != nil {
		t.Fatal(err)
	}
	return td["containerDefinitions"].([]any)[0].(map[string]any)["image"].(string)
}

// TestDiffServiceToCreate diffs a service that does not exist yet, as ship
// does before a deploy that creates it: everything local is new, and no
// call changes anything.
func TestDiffServiceToCreate(t *testing.T) {
	e := emptyEnv(t)
	cfg := loadDeployConfig(t, nil, nil)
	diff, err := pipeline.DiffService(e.ctx, e.ecs, cfg, pipeline.DiffServiceOptions{})
	if err != nil {
		t.Fatalf("DiffService: %v", err)
	}
	for _, want := range []string{`(service "web" does not exist in cluster "prod": deploy creates it)`, "+++ ecs-task-def.json", `+  "family": "web",`, "+++ ecs-service-def.jsonnet"} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if m := e.mutating(); len(m) != 0 {
		t.Errorf("diff made mutating calls: %v", m)
	}
}

package pipeline_test

import (
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestTaskDefinitionInputPassThrough: read-only fields go, everything else,
// including fields an allowlist would forget, reaches the register input;
// field names match case-insensitively.
func TestTaskDefinitionInputPassThrough(t *testing.T) {
	d := &pipeline.Definition{Path: "described.json", Body: map[string]any{
		"taskDefinitionArn":  "arn:aws:ecs:us-east-1:123456789012:task-definition/app:7",
		"revision":           7,
		"status":             "ACTIVE",
		"requiresAttributes": []any{map[string]any{"name": "ecs.capability.task-eni"}},
		"compatibilities":    []any{"EC2", "FARGATE"},
		"registeredAt":       "2026-11-20T10:11:12Z",
		"registeredBy":       "arn:aws:sts::123456789012:assumed-role/ci/x",
		"deregisteredAt":     "2026-11-21T10:11:12Z",
		"deleteRequestedAt":  "2026-11-22T10:11:12Z",
		"Family":             "app",
		"containerDefinitions": []any{map[string]any{
			"name": "app", "image": "app@sha256:abcd", "dockerLabels": map[string]any{"Com.Example": "x"},
		}},
		"ephemeralStorage":     map[string]any{"sizeInGiB": 50},
		"pidMode":              "task",
		"ipcMode":              "none",
		"runtimePlatform":      map[string]any{"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
		"tags":                 []any{map[string]any{"key": "team", "value": "x"}},
		"enableFaultInjection": true,
	}}
	in, err := pipeline.TaskDefinitionInput(d)
	if err != nil {
		t.Fatal(err)
	}
	if *in.Family != "app" || in.PidMode != "task" || in.IpcMode != "none" || in.EphemeralStorage.SizeInGiB != 50 ||
		in.RuntimePlatform.CpuArchitecture != "ARM64" || len(in.Tags) != 1 || !*in.EnableFaultInjection {
		t.Errorf("fields lost: %+v", in)
	}
	js, err := pipeline.CanonicalJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"containerDefinitions":[{"dockerLabels":{"Com.Example":"x"},"image":"app@sha256:abcd","name":"app"}],` +
		`"enableFaultInjection":true,"ephemeralStorage":{"sizeInGiB":50},"family":"app","ipcMode":"none","pidMode":"task",` +
		`"runtimePlatform":{"cpuArchitecture":"ARM64","operatingSystemFamily":"LINUX"},"tags":[{"key":"team","value":"x"}]}`
	if string(js) != want {
		t.Errorf("canonical JSON\n got %s\nwant %s", js, want)
	}
}

// TestNormalizeUnits: ECS's human units become the API's numbers.
func TestNormalizeUnits(t *testing.T) {
	for _, c := range []struct{ cpu, memory, wantCPU, wantMemory string }{
		{"0.25 vCPU", "0.5 GB", "256", "512"},
		{"0.5 vCPU", "1 GB", "512", "1024"},
		{"1 vCPU", "2 GB", "1024", "2048"},
		{"2vcpu", "16GB", "2048", "16384"},
		{"4 VCPU", "30 gb", "4096", "30720"},
		{"256", "512", "256", "512"},
	} {
		n, err := pipeline.NormalizeTaskDefinition("t.json", map[string]any{"family": "x", "cpu": c.cpu, "memory": c.memory}, pipeline.NormalizeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n["cpu"] != c.wantCPU || n["memory"] != c.wantMemory {
			t.Errorf("%q/%q: got %v/%v, want %s/%s", c.cpu, c.memory, n["cpu"], n["memory"], c.wantCPU, c.wantMemory)
		}
	}
}

// TestNormalizeErrorsNameField: a definition ECS would reject is reported
// with the file and the field.
func TestNormalizeErrorsNameField(t *testing.T) {
	_, err := pipeline.NormalizeTaskDefinition("ecs-task-def.json", map[string]any{"family": "x", "containerDefinitions": []any{map[string]any{"name": "a", "portMappings": "80"}}}, pipeline.NormalizeOptions{})
	if err == nil || !strings.Contains(err.Error(), "ecs-task-def.json") || !strings.Contains(err.Error(), "containerDefinitions.portMappings") {
		t.Errorf("got %v", err)
	}
	_, err = pipeline.NormalizeServiceDefinition("ecs-service-def.json", map[string]any{"desiredCont": 1}, pipeline.NormalizeOptions{})
	if err == nil || !strings.Contains(err.Error(), `ecs-service-def.json: unknown key "desiredCont"`) {
		t.Errorf("got %v", err)
	}
}

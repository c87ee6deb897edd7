package pipeline_test

import (
	"os"
	"strings"
	"testing"
)

// TestRenderServiceDefinitionServiceName: the rendered service definition
// carries the config's service as serviceName, as ecspresso's render prints
// it (LoadServiceDefinition fills it in); a file naming another service is
// refused rather than silently overridden.
func TestRenderServiceDefinitionServiceName(t *testing.T) {
	cfg := loadDeployConfig(t, nil, nil)
	d, err := cfg.RenderServiceDefinition(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d.Body["serviceName"] != "web" {
		t.Errorf("serviceName %v, want web", d.Body["serviceName"])
	}
	js, err := d.JSON()
	if err != nil || !strings.Contains(string(js), `"serviceName": "web"`) {
		t.Errorf("render output: %v\n%s", err, js)
	}

	same := project(t, taggedService(`[]`), nil)
	if _, err := same.RenderServiceDefinition(t.Context()); err != nil {
		t.Errorf("no serviceName in the file: %v", err)
	}
	b, _ := readFileString("testdata/deploy/ecs-service-def.jsonnet")
	other := project(t, map[string]string{"ecs-service-def.jsonnet": b + " + { serviceName: 'api' }\n"}, nil)
	if _, err := other.RenderServiceDefinition(t.Context()); err == nil || !strings.Contains(err.Error(), `serviceName "api" is not the service "web"`) {
		t.Errorf("a file naming another service: %v", err)
	}
	matching := project(t, map[string]string{"ecs-service-def.jsonnet": b + " + { serviceName: 'web' }\n"}, nil)
	if _, err := matching.RenderServiceDefinition(t.Context()); err != nil {
		t.Errorf("a file naming the service: %v", err)
	}
}

func readFileString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

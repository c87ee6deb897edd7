package pipeline_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/render")

// renderCase is testdata/render/<case>/case.json.
type renderCase struct {
	Description    string            `json:"description"`
	Env            map[string]string `json:"env"`
	EnvFiles       []string          `json:"envfiles"`
	ExtStr         map[string]string `json:"ext_str"`
	ExtCode        map[string]string `json:"ext_code"`
	ImageOverrides map[string]string `json:"image_overrides"`
	// ErrorContains must all appear in the error: the file and line or field.
	ErrorContains []string `json:"error_contains"`
}

// mapEnv is an environment made of m alone.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// TestRenderGolden walks testdata/render: each case loads its config, renders
// the task and service definitions and compares the results, or the error,
// with the golden files beside the inputs.
func TestRenderGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/render/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 10 {
		t.Fatalf("found only %d cases in testdata/render", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			abs, err := filepath.Abs(dir)
			if err != nil {
				t.Fatal(err)
			}
			var c renderCase
			b, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatalf("case.json: %v", err)
			}
			got := renderOutputs(t, abs, c)
			// Outputs are compared with paths relative to the case directory.
			for name, out := range got {
				got[name] = strings.ReplaceAll(strings.ReplaceAll(out, abs+"/", ""), abs, ".")
			}
			errText, failed := got["error.golden"]
			if len(c.ErrorContains) > 0 && !failed {
				t.Errorf("want an error containing %q, got none", c.ErrorContains)
			}
			for _, want := range c.ErrorContains {
				if !strings.Contains(errText, want) {
					t.Errorf("error %q lacks %q", errText, want)
				}
			}
			for _, name := range []string{"config.golden.json", "task-definition.golden.json", "service-definition.golden.json", "error.golden"} {
				path := filepath.Join(dir, name)
				out, ok := got[name]
				if *update {
					if ok {
						if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
							t.Fatal(err)
						}
					} else {
						os.Remove(path)
					}
					continue
				}
				want, err := os.ReadFile(path)
				switch {
				case err != nil && ok:
					t.Errorf("%s: missing golden file; got:\n%s", name, out)
				case err == nil && !ok:
					t.Errorf("%s: expected output, got none (error: %s)", name, got["error.golden"])
				case ok && string(want) != out:
					t.Errorf("%s mismatch (run go test -update to accept)\n--- want\n%s\n--- got\n%s", name, want, out)
				}
			}
		})
	}
}

// renderOutputs runs one case and returns its outputs by golden file name.
func renderOutputs(t *testing.T, dir string, c renderCase) map[string]string {
	ctx := context.Background()
	out := map[string]string{}
	fail := func(err error) map[string]string {
		out["error.golden"] = err.Error() + "\n"
		return out
	}
	var envFiles []string
	for _, f := range c.EnvFiles {
		envFiles = append(envFiles, filepath.Join(dir, f))
	}
	cfg, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{
		Dir:       dir,
		LookupEnv: mapEnv(c.Env),
		EnvFiles:  envFiles,
		ExtStr:    c.ExtStr,
		ExtCode:   c.ExtCode,
	})
	if err != nil {
		return fail(err)
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	err = enc.Encode(map[string]any{
		"path":               cfg.Path,
		"region":             cfg.Region,
		"cluster":            cfg.Cluster,
		"service":            cfg.Service,
		"task_definition":    cfg.TaskDefinition,
		"service_definition": cfg.ServiceDefinition,
		"timeout":            cfg.Timeout.String(),
		"plugins":            len(cfg.Plugins),
		"ignore_tags":        cfg.Ignore.Tags,
		"required_version":   cfg.RequiredVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	out["config.golden.json"] = buf.String()

	td, err := cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{ImageOverrides: c.ImageOverrides})
	if err != nil {
		return fail(err)
	}
	if _, err := pipeline.TaskDefinitionInput(td); err != nil {
		return fail(err)
	}
	js, err := td.JSON()
	if err != nil {
		t.Fatal(err)
	}
	out["task-definition.golden.json"] = string(js)
	if cfg.ServiceDefinition != "" {
		sd, err := cfg.RenderServiceDefinition(ctx)
		if err != nil {
			return fail(err)
		}
		if _, err := pipeline.ServiceDefinitionInput(sd); err != nil {
			return fail(err)
		}
		js, err := sd.JSON()
		if err != nil {
			t.Fatal(err)
		}
		out["service-definition.golden.json"] = string(js)
	}
	return out
}

// TestTfstateFileURL reads a plugin's state through a file:// URL.
func TestTfstateFileURL(t *testing.T) {
	state, err := filepath.Abs("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", "service: app\ntask_definition: td.yml\nplugins:\n  - name: tfstate\n    func_prefix: tf_\n    config:\n      url: file://"+state+"\n")
	write(t, dir, "td.yml", "family: '{{ tf_tfstate \"aws_ecs_cluster.main.name\" }}'\n")
	cfg, err := pipeline.LoadConfig(context.Background(), pipeline.LoadConfigOptions{Path: filepath.Join(dir, "ecspresso.yml"), LookupEnv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	td, err := cfg.RenderTaskDefinition(context.Background(), pipeline.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := td.Body["family"]; got != "app" {
		t.Errorf("family = %v, want app", got)
	}
}

// TestLoadConfigErrors covers failures outside the golden cases.
func TestLoadConfigErrors(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: empty}); err == nil || !strings.Contains(err.Error(), "ecspresso.yml, ecspresso.yaml, ecspresso.json, ecspresso.jsonnet") {
		t.Errorf("no config: got %v", err)
	}
	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", "service: app\ntask_definition: td.json\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir, EnvFiles: []string{filepath.Join(dir, "missing.env")}}); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Errorf("missing envfile: got %v", err)
	}
	write(t, dir, "ecspresso.yml", "service: app\ntimeout: soon\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "ecspresso.yml: timeout") {
		t.Errorf("bad timeout: got %v", err)
	}
	write(t, dir, "ecspresso.yml", "service: app\nplugins:\n  - name: external\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), `plugins[0]: name: plugin "external" is not available`) {
		t.Errorf("unsupported plugin: got %v", err)
	}
	write(t, dir, "ecspresso.yml", "service: app\nplugins:\n  - name: tfstate\n    config: {}\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "config.path or config.url") {
		t.Errorf("plugin without location: got %v", err)
	}
	state, _ := filepath.Abs("testdata/tfstate/terraform.tfstate")
	write(t, dir, "ecspresso.yml", "service: app\nplugins:\n  - {name: tfstate, config: {path: "+state+"}}\n  - {name: tfstate, config: {path: "+state+"}}\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "plugins[1]") || !strings.Contains(err.Error(), "func_prefix") {
		t.Errorf("duplicate plugin functions: got %v", err)
	}
	write(t, dir, "ecspresso.yml", "service: app\nplugins:\n  - {name: tfstate, config: {path: nope.tfstate}}\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "nope.tfstate")) {
		t.Errorf("missing state file: got %v", err)
	}
}

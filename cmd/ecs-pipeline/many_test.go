package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// twoServices writes a.yml (service web-a, family web-a) and b.yml
// (web-b, family web-b) next to the project's files.
func twoServices(t *testing.T) {
	t.Helper()
	project(t, nil)
	td, err := os.ReadFile("ecs-task-def.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		svc := "web-" + n
		files := map[string]string{
			n + ".yml":           "region: us-east-1\ncluster: prod\nservice: " + svc + "\ntask_definition: " + n + "-task-def.json\nservice_definition: ecs-service-def.jsonnet\ntimeout: 10m\n",
			n + "-task-def.json": strings.Replace(string(td), `"family": "web"`, `"family": "`+svc+`"`, 1),
		}
		for name, body := range files {
			if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDeploySeveralConfigs deploys two configs in one call against the
// simulator: one line each on stdout, --result with the first service's
// fields, the whole summary and a row per service; then again with web-b's
// new image failing its health checks.
func TestDeploySeveralConfigs(t *testing.T) {
	twoServices(t)
	s := newSimulator(t, false, ecssim.WithBehavior("registry.example.com/web:bad", ecssim.FailsHealthChecks(30*time.Second)))
	for _, c := range []string{"a.yml", "b.yml"} {
		wantCode(t, cli(t, s.env, "-c", c, "create", "--image", "registry.example.com/web:v1"), 0)
	}
	dir := t.TempDir()
	res := filepath.Join(dir, "r.json")
	r := cli(t, s.env, "--image", "registry.example.com/web:v2", "deploy", "-c", "a.yml", "-c", "b.yml", "--result", res)
	wantCode(t, r, 0)
	if want := "SUCCEEDED: service web-a in cluster prod, task definition arn:aws:ecs:us-east-1:123456789012:task-definition/web-a:2\n" +
		"SUCCEEDED: service web-b in cluster prod, task definition arn:aws:ecs:us-east-1:123456789012:task-definition/web-b:2\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "[web-a] ") || !strings.Contains(r.stderr, "[web-b] ") {
		t.Errorf("events not labelled by service:\n%s", r.stderr)
	}
	got := readResult(t, res)
	if got.Service != "web-a" || got.Outcome != "SUCCEEDED" || !strings.HasSuffix(got.TaskDefinition, "web-a:2") || got.DeploymentID == "" ||
		len(got.Images) != 1 || got.Images[0] != "app=registry.example.com/web:v2" {
		t.Errorf("single-service fields: %+v", got.deployResult)
	}
	if len(got.Services) != 2 || got.Services[0].Service != "web-a" || got.Services[1].Service != "web-b" || got.Services[1].Revision != "web-b:2" ||
		got.Services[1].Outcome != "SUCCEEDED" || got.Services[0].Config != "a.yml" || got.Services[1].DurationSeconds <= 0 {
		t.Errorf("services: %+v", got.Services)
	}
	if !strings.Contains(got.Summary, "| `web-b` (`prod`) | `web-b:2` | SUCCEEDED |") || !strings.Contains(got.Summary, "### Deploy of `web-a` to `prod`") {
		t.Errorf("summary:\n%s", got.Summary)
	}

	// web-b fails: exit 1, the single-service fields are web-b's.
	errFile := filepath.Join(dir, "error")
	r = cli(t, s.env, "--image", "registry.example.com/web:bad", "--error-file", errFile, "deploy", "-c", "a.yml", "-c", "b.yml", "--result", res)
	wantCode(t, r, 1)
	msg, _ := os.ReadFile(errFile)
	if !strings.HasPrefix(string(msg), "2 of 2 services failed") && !strings.HasPrefix(string(msg), "1 of 2 services failed") {
		t.Errorf("error %q", msg)
	}
	got = readResult(t, res)
	if got.Outcome != "ROLLED_BACK" || got.Services[0].Outcome != "ROLLED_BACK" || !strings.Contains(got.Services[0].Reason, "circuit breaker") {
		t.Errorf("result after a failure: %+v %+v", got.deployResult, got.Services)
	}
}

// TestSeveralConfigsOnlyForDeploy: the other verbs refuse several
// configs; one config's --result has no "services".
func TestSeveralConfigsOnlyForDeploy(t *testing.T) {
	twoServices(t)
	for _, verb := range [][]string{{"status"}, {"render", "taskdef"}, {"rollback"}, {"diff"}} {
		r := cli(t, nil, append([]string{"-c", "a.yml", "-c", "b.yml"}, verb...)...)
		wantCode(t, r, 1)
		if !strings.Contains(r.stderr, "--config is given 2 times: only deploy and ship take several configs") {
			t.Errorf("%v: %s", verb, r.stderr)
		}
	}
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "-c", "a.yml", "create", "--image", "registry.example.com/web:v1"), 0)
	res := filepath.Join(t.TempDir(), "r.json")
	wantCode(t, cli(t, s.env, "-c", "a.yml", "--result", res, "--image", "registry.example.com/web:v2", "deploy"), 0)
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"services"`) {
		t.Errorf("one config's result has services:\n%s", b)
	}
}

func readResult(t *testing.T, path string) manyDeployResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manyDeployResult
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEcspressoFilesRender renders, through dagger call, files written as
// ecspresso's docs write them: a .json task definition that is
// `aws ecs describe-task-definition` output with Go templates inside and
// outside strings and an {{ if }} block, and a config with a key this
// module reads but does not act on. Values with a comma (CSV-quoted
// --env) and JSON (an env file in a Dagger secret) reach the templates
// unchanged. The rest of the corpus runs in pipeline's TestCompatCorpus.
func TestEcspressoFilesRender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ecspresso.yml"), `region: us-east-1
cluster: prod
service: hello
task_definition: ecs-task-def.json
codedeploy:
  application_name: hello
  deployment_group_name: hello
`)
	writeFile(t, filepath.Join(dir, "ecs-task-def.json"), `{
  "taskDefinition": {
    "family": "hello",
    "containerDefinitions": [
      {
        "name": "app",
        "image": "{{ must_env `+"`IMAGE`"+` }}",
        "essential": true,
        "environment": [
          {"name": "LEVELS", "value": "{{ must_env `+"`LEVELS`"+` }}"},
          {"name": "CONFIG", "value": "{{ must_env `+"`CONFIG_JSON`"+` | json_escape }}"},
          {"name": "PASSWORD", "value": "{{ must_env `+"`PASSWORD`"+` }}"}
        ]{{ if eq (env `+"`STAGE` `dev`"+`) `+"`prod`"+` }},
        "memory": {{ env `+"`MEMORY` `512`"+` }}{{ end }}
      }
    ]
  },
  "tags": [{"key": "team", "value": "web"}]
}
`)
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	appEnv := "CONFIG_JSON='{\"a\":1,\"b\":\"x,y\"}'\nMEMORY=1024\nPASSWORD=p@$$W0RD\n"
	r := daggerCallEnv(t, []string{"E2E_APP_ENV=" + appEnv}, moduleRoot(t),
		"--source", dir, "service", "--image", image,
		"--env", `"LEVELS=warn,debug"`, "--env", "STAGE=prod", "--secret-envfile", "env://E2E_APP_ENV",
		"render")
	if r.err != nil {
		t.Fatalf("render: %v\n%s", r.err, tail(r.all(), 30))
	}
	var td struct {
		Family               string
		ContainerDefinitions []struct {
			Image       string
			Memory      int
			Environment []struct{ Name, Value string }
		}
		Tags []struct{ Key, Value string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &td); err != nil {
		t.Fatalf("render printed no task definition: %v\n%s", err, r.stdout)
	}
	if td.Family != "hello" || len(td.ContainerDefinitions) != 1 || len(td.Tags) != 1 || td.Tags[0].Key != "team" {
		t.Fatalf("rendered %+v, want family hello, one container and the tag beside the wrapped definition", td)
	}
	c := td.ContainerDefinitions[0]
	env := map[string]string{}
	for _, e := range c.Environment {
		env[e.Name] = e.Value
	}
	want := map[string]string{"LEVELS": "warn,debug", "CONFIG": `{"a":1,"b":"x,y"}`, "PASSWORD": "p@$$W0RD"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("environment %s = %q, want %q", k, env[k], v)
		}
	}
	if c.Image != image || c.Memory != 1024 {
		t.Errorf("image %q memory %d, want %s and 1024 (the {{ if }} block with STAGE=prod)", c.Image, c.Memory, image)
	}
	if !strings.Contains(r.stderr, "codedeploy") {
		t.Errorf("no warning names the codedeploy key it does not act on:\n%s", tail(r.stderr, 20))
	}

	// A template error names the file and line, and nothing is printed.
	writeFile(t, filepath.Join(dir, "ecs-task-def.json"), "{\n  \"family\": \"hello\",\n  \"cpu\": \"{{ must_env `CPU` }}\"\n}\n")
	r = daggerCall(t, "--source", dir, "service", "--image", image, "render")
	if r.err == nil || !strings.Contains(r.stderr, "ecs-task-def.json:3") || !strings.Contains(r.stderr, "CPU") {
		t.Errorf("render with CPU unset: %v, want an error naming ecs-task-def.json:3 and CPU\n%s", r.err, tail(r.stderr, 20))
	}
}

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitThenRender exports the starter kit into an application
// repository with init, then renders its task definition with an image,
// as a deploy would register it.
func TestInitThenRender(t *testing.T) {
	t.Parallel()
	app := copyApp(t)
	state, err := os.ReadFile(filepath.Join(moduleRoot(t), "pipeline", "testdata", "tfstate", "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(app, "terraform.tfstate"), string(state))

	r := daggerCall(t, "init", "--cluster", "prod", "--service", "hello", "--region", "us-east-1",
		"--repository", "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello", "--tfstate-url", "terraform.tfstate",
		"export", "--path", app)
	if r.err != nil {
		t.Fatalf("init: %v\n%s", r.err, tail(r.all(), 30))
	}
	for _, f := range []string{"ecspresso.yml", "ecs-task-def.jsonnet", "ecs-service-def.jsonnet"} {
		if _, err := os.Stat(filepath.Join(app, f)); err != nil {
			t.Errorf("init did not export %s: %v", f, err)
		}
	}

	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r = daggerCall(t, "--source", app, "service", "--image", image, "render")
	if r.err != nil {
		t.Fatalf("render: %v\n%s", r.err, tail(r.all(), 30))
	}
	var td struct {
		Family               string
		ContainerDefinitions []struct{ Name, Image string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &td); err != nil {
		t.Fatalf("render printed no task definition: %v\n%s", err, r.stdout)
	}
	if td.Family != "hello" || len(td.ContainerDefinitions) != 1 || td.ContainerDefinitions[0].Image != image {
		t.Errorf("rendered %+v, want family hello with one container running %s", td, image)
	}

	// Bad input: a config that is not there, and a definition that needs
	// IMAGE when none is given.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"service", "--config", "deploy/ecspresso.yml", "render"}, `--config "deploy/ecspresso.yml": no such file in the source`},
		{[]string{"service", "render"}, "ecs-task-def.jsonnet"},
		{[]string{"service", "--image", image, "--container-image", "web=" + image, "render"}, "web"},
	} {
		r := daggerCall(t, append([]string{"--source", app}, c.args...)...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("dagger call %v: err %v, want an error saying %q:\n%s", c.args, r.err, c.want, tail(r.stderr, 15))
		}
	}
}

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
)

// TestInitThenRender exports the starter kit into an application
// repository with init, then renders its task definition with an image,
// as a deploy would register it.
func TestInitThenRender(t *testing.T) {
	t.Parallel()
	app := initApp(t)
	for _, f := range []string{"ecspresso.yml", "ecs-task-def.jsonnet", "ecs-service-def.jsonnet", ".github/workflows/pull-request.yml"} {
		if _, err := os.Stat(filepath.Join(app, f)); err != nil {
			t.Errorf("init did not export %s: %v", f, err)
		}
	}
	deploy, err := os.ReadFile(filepath.Join(app, ".github/workflows/deploy.yml"))
	if want := "ship --repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/hello"; err != nil || !strings.Contains(string(deploy), want) {
		t.Errorf("the exported deploy workflow does not run %q (%v)", want, err)
	}

	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	r := daggerCall(t, "--source", app, "service", "--image", image, "render")
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
		{[]string{"service", "--config", "deploy/ecspresso.yml", "render"}, `--config "deploy/ecspresso.yml": no such file`},
		{[]string{"service", "render"}, "ecs-task-def.jsonnet"},
		{[]string{"service", "--image", image, "--container-image", "web=" + image, "render"}, "web"},
	} {
		r := daggerCall(t, append([]string{"--source", app}, c.args...)...)
		if r.err == nil || !strings.Contains(r.stderr, c.want) {
			t.Errorf("dagger call %v: err %v, want an error saying %q:\n%s", c.args, r.err, c.want, tail(r.stderr, 15))
		}
	}
}

// TestVerifyReportsWhatIsMissing verifies the starter kit against an empty
// moto: every reference is missing, the call fails and names each one; with
// --allow-failures the Markdown report is printed instead.
func TestVerifyReportsWhatIsMissing(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	app := initApp(t)
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	args := append(append([]string{"--source", app}, awsArgs(moto)...), "service", "--image", image, "verify")

	r := daggerCall(t, args...)
	if r.err == nil {
		t.Fatalf("verify passed against an empty account:\n%s", r.stdout)
	}
	for _, want := range []string{"role app-task not found in IAM", "cluster prod not found in ECS", "log group /ecs/app not found", "repository hello not found in ECR"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("verify's error does not say %q:\n%s", want, tail(r.stderr, 20))
		}
	}
	assertNoSecrets(t, r)

	r = daggerCall(t, append(args, "--allow-failures", "--format", "markdown")...)
	if r.err != nil || !strings.Contains(r.stdout, "FAILED") {
		t.Errorf("verify --allow-failures --format markdown: %v\n%s", r.err, tail(r.all(), 20))
	}
	if !strings.Contains(r.stdout, "|") {
		t.Errorf("the Markdown report has no table:\n%s", r.stdout)
	}
}

// initApp is the sample app with the starter kit for cluster prod, service
// hello, and the Terraform state fixture the kit reads.
func initApp(t testing.TB) string {
	t.Helper()
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
	return app
}

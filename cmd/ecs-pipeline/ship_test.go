package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// shipRepo is the stand-in registry's repository ship pushes to.
const shipRepo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"

// randomLayout is a random image as an OCI layout tarball.
func randomLayout(t *testing.T) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return layoutTarball(t, img)
}

// manifestPuts returns the registry's manifest PUTs.
func (s *simulator) manifestPuts() []registryRequest {
	var out []registryRequest
	for _, r := range s.registryRequests() {
		if r.method == "PUT" && strings.Contains(r.path, "/manifests/") {
			out = append(out, r)
		}
	}
	return out
}

// mutating returns the simulator's logged mutating ECS requests.
func (s *simulator) mutating() []ecssim.Request {
	var out []ecssim.Request
	for _, r := range s.sim.Requests() {
		if r.Mutating() {
			out = append(out, r)
		}
	}
	return out
}

// taskDefinitionImages returns the container images of a task definition.
func (s *simulator) taskDefinitionImages(t *testing.T, td string) map[string]string {
	t.Helper()
	out, err := s.ecs(t).DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		m[aws.ToString(c.Name)] = aws.ToString(c.Image)
	}
	return m
}

// serviceTaskDefinition returns the task definition service web runs.
func (s *simulator) serviceTaskDefinition(t *testing.T) string {
	t.Helper()
	out, err := s.ecs(t).DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing service web: %v %v", out, err)
	}
	return aws.ToString(out.Services[0].TaskDefinition)
}

// TestShipPushesThenDeploysThePushedDigest ships a layout to the
// stand-in registry and service web: the registered revision runs the
// pushed digest-pinned image (the simulator refuses images the registry
// lacks), every push ends before ECS is first changed, UpdateService is
// called once, and --result is deploy's with the published image.
func TestShipPushesThenDeploysThePushedDigest(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, true)
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)
	s.sim.ResetRequests()

	dir := t.TempDir()
	res, errFile := filepath.Join(dir, "result.json"), filepath.Join(dir, "error")
	r := cli(t, s.env, "--result", res, "--error-file", errFile, "ship", "--layout", randomLayout(t), "--repository", shipRepo,
		"--tag", "v2", "--tag", "latest", "--through", s.URL, "--diff", "--require-digest")
	wantCode(t, r, 0)

	m := regexp.MustCompile(`(?m)^published (` + regexp.QuoteMeta(shipRepo) + `:v2@sha256:[0-9a-f]{64})$`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no published line on stderr:\n%s", r.stderr)
	}
	pinned := m[1]
	if !strings.Contains(r.stderr, "pushed "+pinned+"\n") || !strings.Contains(r.stderr, "pushed "+shipRepo+":latest@"+digestOf(pinned)+"\n") {
		t.Errorf("no pushed line per tag:\n%s", r.stderr)
	}
	published := strings.Index(r.stderr, "published "+pinned) + len("published "+pinned)
	if !strings.Contains(r.stderr[published:], pinned) {
		t.Errorf("no diff showing the pushed image after the push:\n%s", r.stderr)
	}
	if want := "SUCCEEDED: service web in cluster prod, task definition arn:aws:ecs:us-east-1:123456789012:task-definition/web:2\n"; r.stdout != want {
		t.Errorf("stdout %q, want deploy's %q", r.stdout, want)
	}

	var got deployResult
	if b, err := os.ReadFile(res); err != nil || json.Unmarshal(b, &got) != nil {
		t.Fatalf("result: %s %v", b, err)
	}
	if got.Image != pinned || got.Outcome != "SUCCEEDED" || got.Service != "web" || !strings.HasSuffix(got.TaskDefinition, "web:2") ||
		len(got.Images) != 1 || got.Images[0] != "app="+pinned || got.DeploymentID == "" || got.Summary == "" {
		t.Errorf("result %+v, want deploy's with image %s", got, pinned)
	}
	if imgs := s.taskDefinitionImages(t, "web:2"); imgs["app"] != pinned {
		t.Errorf("web:2 runs %v, want app=%s", imgs, pinned)
	}
	if td := s.serviceTaskDefinition(t); !strings.HasSuffix(td, "web:2") {
		t.Errorf("service runs %s", td)
	}

	var updates int
	var firstChange time.Time
	for _, req := range s.mutating() {
		if firstChange.IsZero() {
			firstChange = req.Time
		}
		if req.Operation == "UpdateService" {
			updates++
		}
	}
	if updates != 1 {
		t.Errorf("%d UpdateService calls, want 1: %v", updates, s.sim.Requests())
	}
	puts := s.manifestPuts()
	if len(puts) != 2 {
		t.Fatalf("%d manifest PUTs, want one per tag: %v", len(puts), s.registryRequests())
	}
	if last := puts[len(puts)-1].time; !last.Before(firstChange) {
		t.Errorf("the last manifest PUT (%s) is not before ECS's first change (%s)", last, firstChange)
	}

	creds, err := pipeline.ECRLogin(t.Context(), mustAWS(t, s).ECR)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{creds.Password, "test-secret-access-key"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("ship printed a secret:\n%s\n%s", r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(errFile); err == nil {
		t.Error("a successful ship wrote the error file")
	}
}

func mustAWS(t *testing.T, s *simulator) *pipeline.AWS {
	t.Helper()
	clients, err := pipeline.NewAWS(t.Context(), pipeline.AWSOptions{Region: "us-east-1", AccessKeyID: "AKIDTESTKEY", SecretAccessKey: "x", EndpointURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	return clients
}

// TestShipBadConfigPushesNothing: a config deploy would refuse fails ship
// before the registry or ECS sees anything.
func TestShipBadConfigPushesNothing(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		args  []string
		want  string
	}{
		"broken task definition": {
			files: map[string]string{"ecs-task-def.json": "{\n  \"family\": \"web\",\n  \"cpu\": \"256\",,\n}\n"},
			want:  "ecs-task-def.json:",
		},
		"unknown container": {
			args: []string{"--publish-container", "worker"},
			want: "worker",
		},
		"migration in an unknown container": {
			args: []string{"--run-before", "./migrate", "--run-before-container", "worker"},
			want: "worker",
		},
	} {
		t.Run(name, func(t *testing.T) {
			project(t, c.files)
			s := newSimulator(t, false)
			errFile := filepath.Join(t.TempDir(), "error")
			res := filepath.Join(t.TempDir(), "result.json")
			args := append([]string{"--error-file", errFile, "--result", res, "ship", "--layout", randomLayout(t), "--repository", shipRepo,
				"--tag", "v2", "--through", s.URL}, c.args...)
			r := cli(t, s.env, args...)
			wantCode(t, r, 1)
			if b, _ := os.ReadFile(errFile); !strings.Contains(string(b), c.want) {
				t.Errorf("error %q, want it to name %q", b, c.want)
			}
			if reqs := s.registryRequests(); len(reqs) != 0 {
				t.Errorf("the registry saw %v", reqs)
			}
			if m := s.mutating(); len(m) != 0 {
				t.Errorf("ECS was changed: %v", m)
			}
			if strings.Contains(r.stderr, "pushed ") || strings.Contains(r.stderr, "published ") {
				t.Errorf("stderr:\n%s", r.stderr)
			}
			if _, err := os.Stat(res); err == nil {
				t.Error("a ship that pushed nothing wrote a result")
			}
		})
	}
}

// TestShipUnreachableRegistryChangesNothing: a push that fails leaves the
// service as it was, with no revision registered.
func TestShipUnreachableRegistryChangesNothing(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)
	s.sim.ResetRequests()

	// A port that was just listening and is closed now.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	errFile := filepath.Join(t.TempDir(), "error")
	r := cli(t, s.env, "--error-file", errFile, "ship", "--layout", randomLayout(t), "--repository", shipRepo, "--tag", "v2", "--through", closed)
	wantCode(t, r, 1)
	if b, _ := os.ReadFile(errFile); len(b) == 0 {
		t.Error("no error message")
	}
	if m := s.mutating(); len(m) != 0 {
		t.Errorf("ECS was changed: %v", m)
	}
	if td := s.serviceTaskDefinition(t); !strings.HasSuffix(td, "web:1") {
		t.Errorf("service runs %s, want web:1", td)
	}
	if strings.Contains(r.stderr, "published ") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
}

// TestShipPublishContainer: --publish-container gives the pushed image to
// that container; the others keep theirs (--image, or the file's), and
// without --image the definitions read the pushed image as IMAGE too, as
// the module's ship --container has always done.
func TestShipPublishContainer(t *testing.T) {
	project(t, nil)
	td, err := os.ReadFile("ecs-task-def.json")
	if err != nil {
		t.Fatal(err)
	}
	sidecar := `{"name": "sidecar", "image": "registry.example.com/proxy:v1", "essential": false},
    {
      "name": "app",`
	if err := os.WriteFile("ecs-task-def.json", []byte(strings.Replace(string(td), `{
      "name": "app",`, sidecar, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSimulator(t, true)
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)

	res := filepath.Join(t.TempDir(), "result.json")
	r := cli(t, s.env, "--result", res, "--image", "registry.example.com/web:v7", "ship", "--publish-container", "sidecar",
		"--layout", randomLayout(t), "--repository", shipRepo, "--tag", "proxy-v2", "--through", s.URL)
	wantCode(t, r, 0)
	var got deployResult
	if b, err := os.ReadFile(res); err != nil || json.Unmarshal(b, &got) != nil {
		t.Fatalf("result: %s %v", b, err)
	}
	if !strings.HasPrefix(got.Image, shipRepo+":proxy-v2@sha256:") {
		t.Fatalf("result image %q", got.Image)
	}
	want := map[string]string{"sidecar": got.Image, "app": "registry.example.com/web:v7"}
	imgs := s.taskDefinitionImages(t, "web:2")
	if len(imgs) != 2 || imgs["sidecar"] != want["sidecar"] || imgs["app"] != want["app"] {
		t.Errorf("web:2 runs %v, want %v", imgs, want)
	}
	if strings.Join(got.Images, " ") != "app=registry.example.com/web:v7 sidecar="+got.Image {
		t.Errorf("result images %v", got.Images)
	}

	r = cli(t, s.env, "--result", res, "ship", "--publish-container", "sidecar",
		"--layout", randomLayout(t), "--repository", shipRepo, "--tag", "both", "--through", s.URL)
	wantCode(t, r, 0)
	if b, err := os.ReadFile(res); err != nil || json.Unmarshal(b, &got) != nil {
		t.Fatalf("result: %s %v", b, err)
	}
	if imgs := s.taskDefinitionImages(t, "web:3"); imgs["sidecar"] != got.Image || imgs["app"] != got.Image {
		t.Errorf("web:3 runs %v, want %s in both (app reads IMAGE)", imgs, got.Image)
	}
}

// TestShipRefusesFlags: ship refuses what would not deploy the image it
// pushes, before pushing.
func TestShipRefusesFlags(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	layout := randomLayout(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ship", "--dry-run"}, "--dry-run"},
		{[]string{"ship", "--skip-task-definition"}, "--skip-task-definition"},
		{[]string{"ship", "--revision", "3"}, "--revision"},
		{[]string{"--image", "registry.example.com/web:v9", "ship"}, "--publish-container"},
		{[]string{"--container-image", "app=registry.example.com/web:v9", "ship", "--publish-container", "app"}, "--container-image"},
		{[]string{"ship", "--tag", "bad tag!"}, "bad tag!"},
	} {
		errFile := filepath.Join(t.TempDir(), "error")
		args := append([]string{"--error-file", errFile}, c.args...)
		args = append(args, "--layout", layout, "--repository", shipRepo, "--tag", "v2", "--through", s.URL)
		r := cli(t, s.env, args...)
		wantCode(t, r, 1)
		if b, _ := os.ReadFile(errFile); !strings.Contains(string(b), c.want) {
			t.Errorf("%v: error %q, want it to name %s", c.args, b, c.want)
		}
	}
	if reqs := s.registryRequests(); len(reqs) != 0 {
		t.Errorf("the registry saw %v", reqs)
	}
	if m := s.mutating(); len(m) != 0 {
		t.Errorf("ECS was changed: %v", m)
	}
}

// TestShipSeveralConfigs ships one image to two services: both run it,
// and --result is deploy's with a row each and the image.
func TestShipSeveralConfigs(t *testing.T) {
	twoServices(t)
	s := newSimulator(t, true)
	for _, c := range []string{"a.yml", "b.yml"} {
		wantCode(t, cli(t, s.env, "-c", c, "create", "--image", "registry.example.com/web:v1"), 0)
	}
	res := filepath.Join(t.TempDir(), "r.json")
	r := cli(t, s.env, "-c", "a.yml", "-c", "b.yml", "--result", res, "ship",
		"--layout", randomLayout(t), "--repository", shipRepo, "--tag", "v2", "--through", s.URL)
	wantCode(t, r, 0)
	got := readResult(t, res)
	if !strings.HasPrefix(got.Image, shipRepo+":v2@sha256:") || len(got.Services) != 2 {
		t.Fatalf("result %+v", got)
	}
	for _, family := range []string{"web-a:2", "web-b:2"} {
		if imgs := s.taskDefinitionImages(t, family); imgs["app"] != got.Image {
			t.Errorf("%s runs %v, want %s", family, imgs, got.Image)
		}
	}
	if n := len(s.manifestPuts()); n != 1 {
		t.Errorf("%d manifest PUTs, want 1", n)
	}
}

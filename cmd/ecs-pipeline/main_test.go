package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/standin"
)

// result is how one run of the CLI ended.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the CLI in-process with env as its whole environment.
func cli(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(t.Context(), args, lookup, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// project copies pipeline/testdata/deploy (service web of cluster prod in
// us-east-1) to a temporary directory, replaces or adds files, and makes
// it the working directory.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"ecspresso.yml", "ecs-task-def.json", "ecs-service-def.jsonnet"} {
		b, err := os.ReadFile(filepath.Join("../../pipeline/testdata/deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	return dir
}

// simulator is the ECS simulator behind the stand-ins (ECR token, STS,
// registry), on a clock 600 times the wall clock, with cluster prod.
type simulator struct {
	URL string
	si  *standin.Server
	sim *ecssim.Simulator
	env map[string]string

	regMu sync.Mutex
	reg   []registryRequest // the registry requests, oldest first
}

// registryRequest is one request to the stand-in's registry (under /v2/).
type registryRequest struct {
	time         time.Time
	method, path string
}

func (r registryRequest) String() string { return r.method + " " + r.path }

// registryRequests returns the requests the stand-in's registry received.
func (s *simulator) registryRequests() []registryRequest {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	return slices.Clone(s.reg)
}

func newSimulator(t *testing.T, checkImages bool, opts ...ecssim.Option) *simulator {
	t.Helper()
	s := &simulator{}
	opts = append([]ecssim.Option{ecssim.WithTimeScale(600), ecssim.WithCluster("prod"), ecssim.WithRegion("us-east-1")}, opts...)
	if checkImages {
		opts = append(opts, ecssim.WithImageCheck(func(image string) error { return s.si.CheckImage(image) }))
	}
	s.sim = ecssim.New(opts...)
	s.si = standin.New(s.sim, "123456789012", "us-east-1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/") {
			s.regMu.Lock()
			s.reg = append(s.reg, registryRequest{time.Now(), r.Method, r.URL.Path})
			s.regMu.Unlock()
		}
		s.si.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.env = map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDTESTKEY", "AWS_SECRET_ACCESS_KEY": "test-secret-access-key",
		"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": "us-east-1",
	}
	return s
}

func (s *simulator) ecs(t *testing.T) *ecs.Client {
	t.Helper()
	clients, err := pipeline.NewAWS(t.Context(), pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "AKIDTESTKEY", SecretAccessKey: "x", EndpointURL: s.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return clients.ECS.(*ecs.Client)
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func TestRenderTaskdefAndConfig(t *testing.T) {
	project(t, nil)
	r := cli(t, map[string]string{"IMAGE": "registry.example.com/web:v9"}, "render", "taskdef")
	wantCode(t, r, 0)
	var td map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &td); err != nil {
		t.Fatalf("render taskdef printed no JSON: %v\n%s", err, r.stdout)
	}
	cds := td["containerDefinitions"].([]any)
	if td["family"] != "web" || cds[0].(map[string]any)["image"] != "registry.example.com/web:v9" {
		t.Fatalf("rendered %s", r.stdout)
	}

	// --image sets IMAGE, as the module's service did.
	r = cli(t, nil, "--image", "registry.example.com/web@sha256:"+strings.Repeat("a", 64), "render", "task-definition")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "web@sha256:aaaa") {
		t.Fatalf("--image not rendered:\n%s", r.stdout)
	}

	r = cli(t, nil, "render", "--format", "json", "config")
	wantCode(t, r, 0)
	var cfg map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["region"] != "us-east-1" || cfg["cluster"] != "prod" || cfg["service"] != "web" || cfg["task_definition"] != "ecs-task-def.json" {
		t.Fatalf("render config: %v", cfg)
	}
	r = cli(t, nil, "render", "config")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "service: web\n") {
		t.Fatalf("render config as YAML:\n%s", r.stdout)
	}
}

func TestBadConfigNamesFileAndLine(t *testing.T) {
	dir := project(t, map[string]string{"ecs-task-def.json": "{\n  \"family\": \"web\",\n  \"cpu\": \"256\",,\n}\n"})
	errFile := filepath.Join(t.TempDir(), "error")
	r := cli(t, nil, "--error-file", errFile, "render", "taskdef")
	wantCode(t, r, 1)
	b, err := os.ReadFile(errFile)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(b)
	if !regexp.MustCompile(`ecs-task-def\.json:\d+`).MatchString(msg) || strings.Contains(msg, dir) {
		t.Fatalf("error %q: want ecs-task-def.json:LINE, relative to the working directory", msg)
	}
	if r.stderr != "Error: "+msg+"\n" {
		t.Fatalf("stderr %q, error file %q", r.stderr, msg)
	}
}

func TestDeployToSimulator(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	r := cli(t, s.env, "create", "--image", "registry.example.com/web:v1")
	wantCode(t, r, 0)
	if r.stdout != "created service \"web\" in cluster \"prod\" with web:1\n" {
		t.Fatalf("create printed %q", r.stdout)
	}

	dir := t.TempDir()
	res, errFile := filepath.Join(dir, "result.json"), filepath.Join(dir, "error")
	r = cli(t, s.env, "--result", res, "--error-file", errFile, "--image", "registry.example.com/web:v2", "deploy", "--diff")
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, "registry.example.com/web:v2") {
		t.Fatalf("no diff on stderr:\n%s", r.stderr)
	}
	var got map[string]any
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cluster", "service", "taskDefinition", "images", "deploymentId", "outcome", "plan", "migration", "summary"} {
		if _, ok := got[k]; !ok {
			t.Errorf("result lacks %q: %s", k, b)
		}
	}
	if got["cluster"] != "prod" || got["service"] != "web" || got["outcome"] != "SUCCEEDED" ||
		!strings.HasSuffix(got["taskDefinition"].(string), ":task-definition/web:2") || got["deploymentId"] == "" || got["summary"] == "" {
		t.Errorf("result %s", b)
	}
	if imgs := got["images"].([]any); len(imgs) != 1 || imgs[0] != "app=registry.example.com/web:v2" {
		t.Errorf("images %v", imgs)
	}
	if !strings.Contains(r.stdout, "SUCCEEDED") {
		t.Errorf("stdout %q", r.stdout)
	}
	if _, err := os.Stat(errFile); err == nil {
		t.Error("a successful deploy wrote the error file")
	}

	r = cli(t, s.env, "--image", "registry.example.com/web:v2", "diff")
	wantCode(t, r, 0)
	if r.stdout != "no changes\n" {
		t.Fatalf("diff after deploy: %q", r.stdout)
	}

	r = cli(t, s.env, "--image", "registry.example.com/web:v3", "register", "--dry-run")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "registry.example.com/web:v3") {
		t.Fatalf("register --dry-run:\n%s", r.stdout)
	}
	r = cli(t, s.env, "--image", "registry.example.com/web:v3", "register")
	wantCode(t, r, 0)
	if !strings.HasSuffix(r.stdout, ":task-definition/web:3\n") {
		t.Fatalf("register printed %q", r.stdout)
	}

	r = cli(t, s.env, "status", "--events", "3")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "web:2") {
		t.Fatalf("status:\n%s", r.stdout)
	}
}

func TestFailingDeployExits1WithReason(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false, ecssim.WithBehavior("registry.example.com/web:bad", ecssim.FailsHealthChecks(30*time.Second)))
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)

	dir := t.TempDir()
	res, errFile := filepath.Join(dir, "result.json"), filepath.Join(dir, "error")
	r := cli(t, s.env, "--result", res, "--error-file", errFile, "--image", "registry.example.com/web:bad", "deploy")
	wantCode(t, r, 1)
	b, err := os.ReadFile(errFile)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(b)
	if !strings.Contains(msg, "web:1") || !strings.Contains(strings.ToLower(msg), "health") {
		t.Fatalf("error %q: want the health check failure and the revision running now", msg)
	}
	if !strings.Contains(r.stderr, "Error: "+msg) {
		t.Fatalf("stderr lacks the error:\n%s", r.stderr)
	}
	var got map[string]any
	if b, err := os.ReadFile(res); err != nil || json.Unmarshal(b, &got) != nil || got["outcome"] == "SUCCEEDED" {
		t.Fatalf("result of the failed deploy: %s %v", b, err)
	}
}

func TestPublishLayoutToStandInRegistry(t *testing.T) {
	t.Chdir(t.TempDir())
	s := newSimulator(t, false)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tarball := layoutTarball(t, img)
	res := filepath.Join(t.TempDir(), "result.json")
	repo := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	r := cli(t, s.env, "--result", res, "publish", "--layout", tarball, "--repository", repo,
		"--tag", "v1", "--tag", "latest", "--through", s.URL)
	wantCode(t, r, 0)
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(repo) + `:v1@sha256:[0-9a-f]{64}\n$`).MatchString(r.stdout) {
		t.Fatalf("publish printed %q", r.stdout)
	}
	var got map[string]string
	if b, err := os.ReadFile(res); err != nil || json.Unmarshal(b, &got) != nil || got["image"] != strings.TrimSpace(r.stdout) {
		t.Fatalf("result %v %v", got, err)
	}
	clients, err := pipeline.NewAWS(t.Context(), pipeline.AWSOptions{Region: "us-east-1", AccessKeyID: "AKIDTESTKEY", SecretAccessKey: "x", EndpointURL: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := pipeline.ECRLogin(t.Context(), clients.ECR)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{creds.Password, "test-secret-access-key"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("publish printed a secret:\n%s\n%s", r.stdout, r.stderr)
		}
	}
}

func TestRehearsalSetup(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, true)
	before := s.sim.Now()
	env := map[string]string{} // no credentials: setup uses the stand-in's
	r := cli(t, env, "rehearsal", "setup", "--sim", s.URL, "--scenario", "failing-migration")
	wantCode(t, r, 0)
	if r.stdout != "created web:1\n" {
		t.Fatalf("rehearsal setup printed %q", r.stdout)
	}
	if s.sim.Now().Sub(before) < 15*time.Minute {
		t.Error("the simulated clock did not advance 15m")
	}
	resp, err := http.Get(s.URL + "/_sim/behaviors")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var behaviors map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&behaviors); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"web:1", "web", ecssim.CommandKey(pipeline.MigrationCommand("./migrate")...)} {
		if _, ok := behaviors[key]; !ok {
			t.Errorf("no behaviour for %q: %v", key, behaviors)
		}
	}
	out, err := s.ecs(t).DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 || !strings.HasSuffix(aws.ToString(out.Services[0].TaskDefinition), "web:1") {
		t.Fatalf("service after setup: %v %v", out, err)
	}

	r = cli(t, env, "rehearsal", "setup", "--sim", s.URL, "--scenario", "nope")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "failing-health-checks") {
		t.Fatalf("bad scenario: %s", r.stderr)
	}
}

// TestRehearsalSetupSetsUpTheAccount starts the simulator as the module's
// rehearsal does, knowing nothing of the config: setup gives it the
// config's region and cluster, and pushes the previous image to the
// registry host of that region.
func TestRehearsalSetupSetsUpTheAccount(t *testing.T) {
	project(t, map[string]string{"ecspresso.yml": "region: eu-west-1\ncluster: staging\nservice: web\n" +
		"task_definition: ecs-task-def.json\nservice_definition: ecs-service-def.jsonnet\n"})
	var si *standin.Server
	sim := ecssim.New(ecssim.WithTimeScale(600), ecssim.WithImageCheck(func(image string) error { return si.CheckImage(image) }))
	si = standin.New(sim, "123456789012", "")
	srv := httptest.NewServer(si)
	t.Cleanup(srv.Close)
	res := filepath.Join(t.TempDir(), "result.json")
	r := cli(t, map[string]string{}, "--result", res, "rehearsal", "setup", "--sim", srv.URL)
	wantCode(t, r, 0)
	var got struct{ Region, Cluster, Service, Repository, PreviousImage string }
	if b, err := os.ReadFile(res); err != nil || json.Unmarshal(b, &got) != nil {
		t.Fatalf("result: %v", err)
	}
	const repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web"
	if got.Region != "eu-west-1" || got.Cluster != "staging" || got.Service != "web" || got.Repository != repo ||
		!strings.HasPrefix(got.PreviousImage, repo+":previous@sha256:") {
		t.Fatalf("result %+v", got)
	}
	if err := si.CheckImage(got.PreviousImage); err != nil {
		t.Fatalf("the previous image is not in the stand-in's registry: %v", err)
	}
	clients, err := pipeline.NewAWS(t.Context(), pipeline.AWSOptions{Region: "eu-west-1", AccessKeyID: "AKIDTESTKEY", SecretAccessKey: "x", EndpointURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	out, err := clients.ECS.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("service after setup: %v %v", out, err)
	}
	if arn := aws.ToString(out.Services[0].ClusterArn); arn != "arn:aws:ecs:eu-west-1:123456789012:cluster/staging" {
		t.Errorf("cluster ARN %q", arn)
	}
	if td := aws.ToString(out.Services[0].TaskDefinition); !strings.HasPrefix(td, "arn:aws:ecs:eu-west-1:") {
		t.Errorf("task definition %q", td)
	}
}

// TestRehearsalSetupNeedsNoAccount: a config whose lookups need AWS fails
// with the way out, and nothing is set up.
func TestRehearsalSetupNeedsNoAccount(t *testing.T) {
	project(t, map[string]string{"ecspresso.yml": "region: us-east-1\ncluster: '{{ ssm \"/app/cluster\" }}'\nservice: web\n" +
		"task_definition: ecs-task-def.json\nservice_definition: ecs-service-def.jsonnet\n"})
	sim := ecssim.New(ecssim.WithTimeScale(600))
	srv := httptest.NewServer(standin.New(sim, "123456789012", ""))
	t.Cleanup(srv.Close)
	r := cli(t, map[string]string{}, "rehearsal", "setup", "--sim", srv.URL)
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "A rehearsal has no AWS account: pass --tfstate") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	for _, req := range sim.Requests() {
		t.Errorf("the simulator was called: %s", req.Operation)
	}
}

func TestEcspressoFlagsAccepted(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1", "--no-wait"), 0)
	r := cli(t, s.env, "--debug", "--filter-command", "peco", "--image", "registry.example.com/web:v2",
		"deploy", "--dry-run", "--suspend-auto-scaling", "--wait-until", "stable", "--rollback-events", "DEPLOYMENT_FAILURE")
	wantCode(t, r, 0)
	for _, f := range []string{"--filter-command", "--suspend-auto-scaling", "--rollback-events"} {
		if !strings.Contains(r.stderr, "warning: "+f+" is not supported") {
			t.Errorf("no warning for %s:\n%s", f, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "DRY_RUN") {
		t.Errorf("dry run printed %q", r.stdout)
	}
	if strings.Contains(r.stderr, "--wait-until is not supported") {
		t.Errorf("--wait-until is supported:\n%s", r.stderr)
	}
	// --wait-until is checked before anything changes: a bad value, and a
	// lifecycle stage on the simulator's ROLLING service.
	for _, c := range []struct{ until, want string }{
		{"ecs:NOPE", "BAKE_TIME, CLEAN_UP"}, {"codedeploy:AfterAllowTraffic", "CODE_DEPLOY"}, {"ecs:BAKE_TIME", "ROLLING strategy"}, {"paused", "ROLLING strategy"},
	} {
		r = cli(t, s.env, "--image", "registry.example.com/web:v2", "deploy", "--dry-run", "--wait-until", c.until)
		wantCode(t, r, 1)
		if !strings.Contains(r.stderr, "--wait-until") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--wait-until %s: %s", c.until, r.stderr)
		}
	}

	// ECSPRESSO_ASSUME_ROLE_ARN is --assume-role-arn: a value that is not
	// a role ARN fails, through the error file, before any call.
	errFile := filepath.Join(t.TempDir(), "error")
	env := maps.Clone(s.env)
	env["ECSPRESSO_ASSUME_ROLE_ARN"] = "arn:aws:iam::123456789012:user/deploy"
	r = cli(t, env, "--error-file", errFile, "status")
	wantCode(t, r, 1)
	if b, _ := os.ReadFile(errFile); !strings.Contains(string(b), "--assume-role-arn") {
		t.Fatalf("error file %q", b)
	}
	// A flag ecspresso does not have is an error too, reaching --error-file.
	r = cli(t, nil, "--error-file", errFile, "render", "--bogus", "taskdef")
	wantCode(t, r, 1)
	if b, _ := os.ReadFile(errFile); !strings.Contains(string(b), "--bogus") {
		t.Fatalf("error file %q", b)
	}
}

func TestSecretEnvfileNeverNamed(t *testing.T) {
	dir := project(t, nil)
	secret := filepath.Join(dir, "prod.secret.env")
	if err := os.WriteFile(secret, []byte("IMAGE=registry.example.com/web:secret\nBROKEN LINE=\"unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, nil, "--secret-envfile", secret, "render", "taskdef")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "--secret-envfile 1") || strings.Contains(r.stderr, "prod.secret.env") || strings.Contains(r.stderr, "unterminated") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// layoutTarball writes img as an OCI layout tarball, as Dagger's
// asTarball does, and returns its path.
func layoutTarball(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunTasksAndRollback(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false,
		ecssim.WithBehavior(ecssim.CommandKey("./report"), ecssim.ExitsWithLogs(0, "report done")),
		ecssim.WithBehavior(ecssim.CommandKey("./broken"), ecssim.ExitsWithLogs(3, "report failed: no table")))
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)

	r := cli(t, s.env, "run", "--skip-task-definition", "--command", "./report", "--tags", "team=web,job=report")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "app: exit code 0") {
		t.Fatalf("run printed:\n%s", r.stdout)
	}
	errFile := filepath.Join(t.TempDir(), "error")
	r = cli(t, s.env, "--error-file", errFile, "run", "--skip-task-definition", "--command", "./broken")
	wantCode(t, r, 1)
	if b, _ := os.ReadFile(errFile); !strings.Contains(string(b), "3") {
		t.Fatalf("a failed run's error %q names no exit code", b)
	}

	// The deploy stops revision 1's tasks.
	wantCode(t, cli(t, s.env, "--image", "registry.example.com/web:v2", "deploy"), 0)
	r = cli(t, s.env, "tasks", "--stopped")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "web:1") {
		t.Fatalf("tasks --stopped:\n%s", r.stdout)
	}
	r = cli(t, s.env, "tasks", "--trace", "--log-lines", "5")
	wantCode(t, r, 0)
	if r.stdout == "" {
		t.Fatal("tasks --trace printed nothing")
	}

	r = cli(t, s.env, "rollback")
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "rolled back service \"web\" in cluster \"prod\"") || !strings.Contains(r.stdout, "deregistered") {
		t.Fatalf("rollback printed:\n%s", r.stdout)
	}
}

// TestWait: ecspresso's wait follows the deployment a deploy --no-wait
// started to its end; a rolled-back one fails naming the rollback; paused
// on a ROLLING service is refused.
func TestWait(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false, ecssim.WithBehavior("registry.example.com/web:bad", ecssim.FailsHealthChecks(30*time.Second)))
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)

	wantCode(t, cli(t, s.env, "--image", "registry.example.com/web:v2", "deploy", "--no-wait"), 0)
	// The simulator runs 600 times the wall clock; so does wait's clock
	// with --time-scale, as in a rehearsal.
	start := time.Now()
	r := cli(t, s.env, "--time-scale=600", "wait")
	wantCode(t, r, 0)
	if took := time.Since(start); took > 15*time.Second {
		// On the wall clock it takes about 30 s (its polls are spaced
		// for a real ECS).
		t.Errorf("wait with --time-scale=600 took %s for a deployment of a few simulated minutes", took)
	}
	if r := cli(t, s.env, "--time-scale=0.5", "wait"); r.code != 1 || !strings.Contains(r.stderr, "--time-scale 0.5") {
		t.Errorf("--time-scale 0.5: exit %d, %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "SUCCEEDED: service \"web\"") || !strings.HasSuffix(strings.TrimSpace(r.stdout), "web:2") {
		t.Errorf("wait printed %q", r.stdout)
	}

	wantCode(t, cli(t, s.env, "--image", "registry.example.com/web:bad", "deploy", "--no-wait"), 0)
	r = cli(t, s.env, "--time-scale=600", "wait", "--until", "deployed")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "rolled back") || !strings.Contains(r.stderr, "web:2") {
		t.Errorf("wait on a rolled-back deployment: %s", r.stderr)
	}

	r = cli(t, s.env, "wait", "--wait-until", "paused")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "ROLLING") {
		t.Errorf("wait until paused on a ROLLING service: %s", r.stderr)
	}
	r = cli(t, s.env, "wait", "--wait-until", "ecs:BAKE_TIME")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "--wait-until") {
		t.Errorf("wait until a stage: %s", r.stderr)
	}
}

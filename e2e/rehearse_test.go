package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRehearseSample is README's first command, with nothing but the
// engine: the sample application and starter kit, shipped to the simulator
// that the module builds and runs itself. Healthy, then failing health
// checks.
func TestRehearseSample(t *testing.T) {
	t.Parallel()

	r := daggerCall(t, "rehearse", "--scenario", "nope", "summary")
	if want := `--scenario "nope": want one of crash-on-start, failing-health-checks, failing-migration, healthy, slow-start`; r.err == nil || !strings.Contains(r.stderr, want) {
		t.Fatalf("rehearse --scenario nope: %v, want %q\n%s", r.err, want, tail(r.stderr, 15))
	}

	r = daggerCall(t, "rehearse", "summary")
	if r.err != nil {
		t.Fatalf("rehearse: %v\n%s", r.err, tail(r.all(), 60))
	}
	published := regexp.MustCompile(`published (123456789012\.dkr\.ecr\.ap-northeast-1\.amazonaws\.com/hello:src-[0-9a-f]{12}@sha256:[0-9a-f]{64})`).FindStringSubmatch(r.stderr)
	if published == nil {
		t.Fatalf("rehearse did not publish to the stand-in's ECR:\n%s", tail(r.stderr, 40))
	}
	for _, want := range []string{"SUCCEEDED", "`hello:2`", published[1]} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the summary lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{
		"No Dockerfile in the source: rehearsing the sample application",
		"running hello:1; scenario healthy",
		"hello:previous@sha256:", // the diff, from the revision before
		"deployment completed.",
		"has reached a steady state.",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("rehearse did not print %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	if d := rolloutTime(t, r.stderr); d > 2*time.Minute {
		t.Errorf("a healthy rollout took %v of simulated time", d)
	}

	r = daggerCall(t, "rehearse", "--scenario", "failing-health-checks", "summary")
	if r.err == nil {
		t.Fatalf("rehearse of failing health checks succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{
		"failed and is being rolled back",
		"circuit breaker",
		`stopped tasks: "Task failed ELB health checks`,
		"service runs hello:1",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failed rehearsal does not say %q:\n%s", want, tail(r.stderr, 30))
		}
	}
	if !strings.Contains(r.stderr, "is unhealthy in (target-group") || !strings.Contains(r.stderr, "rolling back to deployment") {
		t.Errorf("the failed rehearsal did not show the service's events:\n%s", tail(r.stderr, 30))
	}

	// A crash at start: the failure quotes what the container logged.
	r = daggerCall(t, "rehearse", "--scenario", "crash-on-start", "summary")
	if r.err == nil {
		t.Fatalf("rehearse of a crash at start succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{"panic: config: DATABASE_URL is not set", "exit code 1", "service runs hello:1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the crashed rehearsal does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}

	// A migration that fails: the call fails with its log line, and the
	// service is never updated (no deployment events follow).
	r = daggerCall(t, "rehearse", "--scenario", "failing-migration", "summary")
	if r.err == nil {
		t.Fatalf("rehearse of a failing migration succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{`ERROR: relation "users" already exists`, "exit code 1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failed migration does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	if strings.Contains(r.stderr, "deployment completed") {
		t.Errorf("the service was updated after a failed migration:\n%s", tail(r.stderr, 40))
	}
}

// TestRehearseOwnRepository rehearses an application repository with its
// own ecspresso config, whose Terraform state lives in S3: without a local
// copy the rehearsal stops and says what to pass; with --tfstate it ships,
// here with tasks that take minutes to start.
func TestRehearseOwnRepository(t *testing.T) {
	t.Parallel()
	app := initApp(t)
	path := filepath.Join(app, "ecspresso.yml")
	config, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(config), "url: terraform.tfstate", "url: s3://company-tfstate/hello/terraform.tfstate", 1))

	r := daggerCall(t, "--source", app, "rehearse", "summary")
	for _, want := range []string{"s3://company-tfstate/hello/terraform.tfstate", "pass --tfstate"} {
		if r.err == nil || !strings.Contains(r.stderr, want) {
			t.Errorf("rehearse of an s3:// state without --tfstate: %v, want an error saying %q\n%s", r.err, want, tail(r.stderr, 15))
		}
	}

	r = daggerCall(t, "--source", app, "rehearse", "--tfstate", "terraform.tfstate", "--scenario", "slow-start", "summary")
	if r.err != nil {
		t.Fatalf("rehearse --scenario slow-start: %v\n%s", r.err, tail(r.all(), 60))
	}
	for _, want := range []string{"SUCCEEDED", "Deploy of `hello` to `prod`", "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:src-"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stderr, "sample application") {
		t.Error("rehearse used the sample although the source has a Dockerfile")
	}
	if d := rolloutTime(t, r.stderr); d < 3*time.Minute+30*time.Second {
		t.Errorf("a slow start rolled out in %v of simulated time, want at least 3m30s (2m to start, 90s to pass health checks)\n%s", d, tail(r.stderr, 30))
	}
}

// eventLine is a service event as deploy prints it.
var eventLine = regexp.MustCompile(`(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) \(service \S+\) (.*)`)

// rolloutTime is the simulated time from the first task the deployment
// started to its completion, read from the printed events.
func rolloutTime(t *testing.T, stderr string) time.Duration {
	t.Helper()
	var started, completed time.Time
	for _, m := range eventLine.FindAllStringSubmatch(stderr, -1) {
		at, err := time.Parse(time.RFC3339, m[1])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(m[2], "has started") && started.IsZero():
			started = at
		case strings.Contains(m[2], "deployment completed"):
			completed = at
		}
	}
	if started.IsZero() || completed.IsZero() {
		t.Fatalf("no start and completion among the printed events:\n%s", tail(stderr, 30))
	}
	return completed.Sub(started)
}

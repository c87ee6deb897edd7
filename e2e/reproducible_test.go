//go:build reproducible

// This test starts Dagger engines of its own, one after the other, and no
// other engine may run meanwhile (two engines on one machine here break each
// other's containers). So it is not part of `go test ./...`: .ci/reproducible
// stops the machine's engine, runs it with -tags reproducible, and starts the
// engine again; .ci/run calls .ci/reproducible after the test command.

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline/starter"
)

// TestShipReproducibleAcrossEngines ships the sample, from the same git
// commit, once from each of two fresh engines with separate, empty state
// directories: with --reproducible, both publish the same image digest and
// register the same task definition.
func TestShipReproducibleAcrossEngines(t *testing.T) {
	start := os.Getenv("E2E_FRESH_ENGINE")
	if start == "" {
		t.Fatal("E2E_FRESH_ENGINE is not set: it names a command that runs a fresh Dagger engine (STATE_DIR SOCKET); .ci/reproducible sets it")
	}
	s := startECSStandIns(t)
	app := starterApp(t)
	commit := gitCommitAll(t, app)
	repo := s.reg.Host + "/hello"

	type run struct{ published, taskDefinition, plain string }
	var runs []run
	for i := range 2 {
		host := freshEngine(t, start)
		env := []string{"_EXPERIMENTAL_DAGGER_RUNNER_HOST=" + host}
		args := append(s.args(app),
			"ship", "--repository", repo, "--reproducible", "task-definition")
		started := time.Now()
		r := daggerCallEnv(t, env, moduleRoot(t), args...)
		if r.err != nil {
			t.Fatalf("engine %d: ship --reproducible: %v\n%s", i+1, r.err, tail(r.all(), 60))
		}
		assertNoSecrets(t, r)
		t.Logf("engine %d: cold ship --reproducible took %v", i+1, time.Since(started).Round(time.Second))
		published := regexp.MustCompile(`published (\S+@sha256:[0-9a-f]{64})`).FindStringSubmatch(r.stderr)
		if published == nil || !strings.HasPrefix(published[1], repo+":"+commit+"@") {
			t.Fatalf("engine %d: ship did not publish %s:%s:\n%s", i+1, repo, commit, tail(r.stderr, 40))
		}
		if held, err := s.reg.ManifestDigest("hello", commit); err != nil || !strings.HasSuffix(published[1], "@"+held) {
			t.Fatalf("engine %d: the registry holds %s under %s (%v), ship published %s", i+1, held, commit, err, published[1])
		}
		td := describedTaskDefinition(t, s.ecs, r.out())

		// For the record: the same build pushed by the engine itself.
		plain := daggerCallEnv(t, env, moduleRoot(t), append(s.args(app), "publish", "--repository", repo, "--tag", "plain")...)
		if plain.err != nil {
			t.Fatalf("engine %d: publish: %v\n%s", i+1, plain.err, tail(plain.all(), 30))
		}
		runs = append(runs, run{published[1], td, plain.out()})
		stopEngine(t, host)
	}
	t.Logf("engine 1: %s\nengine 2: %s", runs[0].published, runs[1].published)
	t.Logf("without --reproducible: engine 1 %s, engine 2 %s", digestOf(runs[0].plain), digestOf(runs[1].plain))
	if runs[0].published != runs[1].published {
		t.Errorf("two fresh engines published different images:\n  %s\n  %s", runs[0].published, runs[1].published)
	}
	if runs[0].taskDefinition != runs[1].taskDefinition {
		t.Errorf("two fresh engines registered different task definitions:\n  %s\n  %s", runs[0].taskDefinition, runs[1].taskDefinition)
	}
}

// starterApp is the sample application with the starter kit filled in, as
// init exports it, built without an engine.
func starterApp(t *testing.T) string {
	t.Helper()
	app := copyApp(t)
	root := moduleRoot(t)
	files, err := starter.Read(os.DirFS(filepath.Join(root, "templates")))
	if err != nil {
		t.Fatal(err)
	}
	filled, err := starter.Fill(files, starter.Options{Cluster: "prod", Service: "hello", Region: "us-east-1",
		Repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello", TFStateURL: "terraform.tfstate"})
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(root, "pipeline", "testdata", "tfstate", "terraform.tfstate"))
	if err != nil {
		t.Fatal(err)
	}
	filled["terraform.tfstate"] = string(state)
	for p, content := range filled {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(app, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(app, p), content)
	}
	return app
}

// describedTaskDefinition is what ECS holds for a registered task
// definition, without what differs between registrations (ARN, revision,
// registration time).
func describedTaskDefinition(t *testing.T, client *ecs.Client, arn string) string {
	t.Helper()
	out, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("describing %q: %v", arn, err)
	}
	td := out.TaskDefinition
	td.TaskDefinitionArn, td.Revision, td.RegisteredAt, td.RegisteredBy = nil, 0, nil, nil
	b, err := pipeline.CanonicalJSON(td)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// engines are the fresh engines running, by runner host.
var engines = map[string]*exec.Cmd{}

// freshEngine runs `start STATE_DIR SOCKET` and waits until the engine
// answers; it is stopped when the test ends, if not before.
func freshEngine(t *testing.T, start string) string {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "engine.sock")
	cmd := exec.Command(start, filepath.Join(dir, "state"), sock)
	log, err := os.Create(filepath.Join(dir, "engine.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a fresh engine with %s: %v", start, err)
	}
	host := "unix://" + sock
	engines[host] = cmd
	t.Cleanup(func() { stopEngine(t, host) })
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		v := exec.CommandContext(ctx, "dagger", "core", "version")
		v.Env = append(os.Environ(), "_EXPERIMENTAL_DAGGER_RUNNER_HOST="+host)
		out, err := v.CombinedOutput()
		cancel()
		if err == nil && strings.Contains(string(out), "v0.19.10") {
			return host
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("the fresh engine did not answer in 2 minutes:\n%s", tail(string(b), 20))
		}
	}
}

// stopEngine stops a fresh engine and waits for it to exit.
func stopEngine(t *testing.T, host string) {
	cmd := engines[host]
	if cmd == nil {
		return
	}
	delete(engines, host)
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Errorf("the fresh engine %s did not stop within a minute", host)
	}
}

func digestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

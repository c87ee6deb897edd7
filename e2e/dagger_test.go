// Package e2e runs the module end to end, as a user would: `dagger call` on
// this repository, against moto (AWS) and a local registry (ECR's stand-in).
// It needs the dagger CLI and a reachable engine; .ci/run provides both.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// Recognisable fake credentials: none may appear in anything the module
// prints. moto accepts any key.
const (
	fakeAccessKeyID     = "e2e-fake-access-key-id"
	fakeSecretAccessKey = "e2e-secret-access-key-must-never-be-printed"
	fakeSessionToken    = "e2e-session-token-must-never-be-printed"
)

// TestMain loads the module before the tests run (see loadModuleFirst).
func TestMain(m *testing.M) {
	if err := loadModuleFirst(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// moduleRoot is this repository, the module under test.
func moduleRoot(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// result is what one `dagger call` did.
type result struct {
	stdout, stderr string
	err            error
}

// out is stdout with surrounding space trimmed: the function's return value.
func (r result) out() string { return strings.TrimSpace(r.stdout) }

// all is everything the call printed.
func (r result) all() string { return r.stdout + r.stderr }

// daggerCall runs `dagger call -m <this module> args...` with plain
// progress output and the fake AWS credentials in its environment.
func daggerCall(t testing.TB, args ...string) result {
	t.Helper()
	return daggerCallModule(t, moduleRoot(t), args...)
}

// daggerCallModule is daggerCall on another module.
func daggerCallModule(t testing.TB, module string, args ...string) result {
	t.Helper()
	return daggerCallEnv(t, nil, module, args...)
}

// daggerCallEnv is daggerCallModule with more environment, such as another
// engine's _EXPERIMENTAL_DAGGER_RUNNER_HOST.
func daggerCallEnv(t testing.TB, env []string, module string, args ...string) result {
	t.Helper()
	bin, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatalf("the dagger CLI is not on PATH (run .ci/run, or install Dagger and start an engine): %v", err)
	}
	for attempt := 1; ; attempt++ {
		r := daggerCallOnce(t, bin, env, module, args...)
		if attempt == 3 || !staleSession(r) {
			return r
		}
		t.Logf("dagger call %s: the engine lost a session while loading the module (dagger/dagger#11448); calling again", strings.Join(args, " "))
	}
}

// staleSession reports whether a call failed while the engine loaded the
// module, before any function ran, because it looked up a client session
// that had ended: an engine flake (dagger/dagger#11448, "failed to stat
// path: failed to get requester session"), seen when calls that load the
// same module run side by side. Nothing of the call ran, so it may be made
// again.
func staleSession(r result) bool {
	return r.err != nil && strings.Contains(r.stderr, "Error: failed to get configured module: ") &&
		strings.Contains(r.stderr, "failed to get requester session: session for")
}

// daggerCallOnce is one run of daggerCallEnv's command.
func daggerCallOnce(t testing.TB, bin string, env []string, module string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"call", "--progress=plain", "-m", module}, args...)...)
	cmd.Env = append(os.Environ(),
		"E2E_AWS_ACCESS_KEY_ID="+fakeAccessKeyID,
		"E2E_AWS_SECRET_ACCESS_KEY="+fakeSecretAccessKey,
		"E2E_AWS_SESSION_TOKEN="+fakeSessionToken,
		"DO_NOT_TRACK=1",
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	var stamped bytes.Buffer
	if os.Getenv("E2E_TRACE_DIR") != "" {
		cmd.Stderr = io.MultiWriter(&stderr, &stampWriter{w: &stamped, start: start})
	}
	err := cmd.Run()
	t.Logf("dagger call %s: %v in %s", strings.Join(args, " "), errOrOK(err), time.Since(start).Round(time.Millisecond))
	if dir := os.Getenv("E2E_TRACE_DIR"); dir != "" {
		os.WriteFile(fmt.Sprintf("%s/%d.log", dir, start.UnixNano()), stamped.Bytes(), 0o644)
	}
	return result{stdout.String(), stderr.String(), err}
}

func errOrOK(err error) any {
	if err == nil {
		return "ok"
	}
	return err
}

// awsArgs are the constructor arguments that point the module at moto.
func awsArgs(motoURL string) []string {
	return []string{
		"--region", "us-east-1",
		"--aws-access-key-id", "env://E2E_AWS_ACCESS_KEY_ID",
		"--aws-secret-access-key", "env://E2E_AWS_SECRET_ACCESS_KEY",
		"--aws-session-token", "env://E2E_AWS_SESSION_TOKEN",
		"--endpoint", "tcp://" + strings.TrimPrefix(motoURL, "http://"),
	}
}

// motoClients are AWS clients pointed at moto.
func motoClients(t testing.TB, motoURL string) *pipeline.AWS {
	t.Helper()
	clients, err := pipeline.NewAWS(context.Background(), pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: fakeAccessKeyID, SecretAccessKey: fakeSecretAccessKey, EndpointURL: motoURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return clients
}

// ecrToken asks moto's ECR for the registry password, as publish will.
func ecrToken(t testing.TB, motoURL string) string {
	t.Helper()
	creds, err := pipeline.ECRLogin(context.Background(), motoClients(t, motoURL).ECR)
	if err != nil {
		t.Fatal(err)
	}
	return creds.Password
}

// assertNoSecrets fails the test if the output holds any of the secrets.
func assertNoSecrets(t testing.TB, r result, secrets ...string) {
	t.Helper()
	for _, s := range append(secrets, fakeSecretAccessKey, fakeSessionToken) {
		if n := strings.Count(r.all(), s); n > 0 {
			t.Errorf("the output holds a secret %d times (%.6s...)", n, s)
		}
	}
}

// copyApp copies the sample application into a new directory and returns it.
func copyApp(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "app")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(moduleRoot(t), "testdata", "app"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeFile writes a file, failing the test on error.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitCommitAll makes dir a git repository with one commit and returns it.
func gitCommitAll(t testing.TB, dir string) string {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "sample app")
	return git("rev-parse", "HEAD")
}

// stampWriter prefixes each line with the seconds since start (for
// E2E_TRACE_DIR).
type stampWriter struct {
	w     io.Writer
	start time.Time
	mid   bool
}

func (s *stampWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if !s.mid {
			fmt.Fprintf(s.w, "%7.3f ", time.Since(s.start).Seconds())
		}
		s.w.Write([]byte{b})
		s.mid = b != '\n'
	}
	return len(p), nil
}

// TestStaleSessionIsOnlyTheEngineFlake: only the module load's lost
// session is called again, never a failure of the call itself.
func TestStaleSessionIsOnlyTheEngineFlake(t *testing.T) {
	fail := errors.New("exit status 1")
	for _, c := range []struct {
		r    result
		want bool
	}{
		{result{"", `Error: failed to get configured module: failed to stat local path: failed to stat path: failed to get requester session: session for "b9mif45x6aclmar9ronblkx53" not found [traceparent:3671]`, fail}, true},
		{result{"", `Error: delete: confirm at a terminal, or give --force`, fail}, false},
		{result{"", `Error: input: ... failed to get requester session: session for "x" not found`, fail}, false},
		{result{"", `Error: failed to get configured module: failed to get requester session: session for "x" not found`, nil}, false},
	} {
		if got := staleSession(c.r); got != c.want {
			t.Errorf("staleSession(%q) = %v, want %v", c.r.stderr, got, c.want)
		}
	}
}

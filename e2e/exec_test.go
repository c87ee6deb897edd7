package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestExecIntoATask gets into a task of the simulated service through
// dagger call, with no aws CLI or session-manager-plugin: refused while the
// service has ECS Exec off; then a command's output and exit code; then an
// interactive shell in tmux, typed into as a person would.
func TestExecIntoATask(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	call := func(args ...string) result {
		t.Helper()
		return daggerCall(t, append(append(s.args(app), "service", "exec"), args...)...)
	}

	off := call("--command", "true")
	if off.err == nil || !strings.Contains(off.stderr, "enableExecuteCommand") {
		t.Fatalf("exec on a service with ECS Exec off: %v, want a refusal naming enableExecuteCommand:\n%s", off.err, tail(off.stderr, 20))
	}

	// Turn ECS Exec on and replace the tasks, as the refusal says to.
	_, err := s.ecs.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("hello"),
		EnableExecuteCommand: aws.Bool(true), ForceNewDeployment: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "hello:1")

	ok := call("--command", "echo hello from $(hostname -s >/dev/null && echo the task)")
	if ok.err != nil || !strings.Contains(ok.stdout, "hello from the task") {
		t.Fatalf("exec --command: %v, want its output:\n%s", ok.err, tail(ok.all(), 30))
	}
	assertNoSecrets(t, ok)

	three := call("--command", "echo before the end; exit 3")
	if three.err == nil || !strings.Contains(three.stderr, "before the end") || !strings.Contains(three.stderr, "exited with 3") {
		t.Fatalf("exec of a command exiting 3: %v, want a failure with its output and exit code:\n%s", three.err, tail(three.stderr, 30))
	}

	// Interactive: dagger call on a terminal (tmux), a shell prompt, typed
	// input, the answer on the screen, and the session's end.
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("tmux is not on PATH (.ci/run installs it): %v", err)
	}
	session := fmt.Sprintf("e2e-exec-%d", os.Getpid())
	socket := filepath.Join(t.TempDir(), "tmux.sock")
	bin, _ := exec.LookPath("dagger")
	args := append([]string{bin, "call", "-m", moduleRoot(t)}, s.args(app)...)
	args = append(args, "service", "exec", "--terminal")
	script := filepath.Join(t.TempDir(), "session.sh")
	writeFile(t, script, fmt.Sprintf("#!/bin/sh\nexport E2E_AWS_ACCESS_KEY_ID=%s E2E_AWS_SECRET_ACCESS_KEY=%s E2E_AWS_SESSION_TOKEN=%s DO_NOT_TRACK=1 _EXPERIMENTAL_DAGGER_RUNNER_HOST=%s\n%s\necho \"SESSION ENDED $?\"\nsleep 600\n",
		fakeAccessKeyID, fakeSecretAccessKey, fakeSessionToken, os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST"), shellQuote(args)))
	tm := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tmux, append([]string{"-S", socket}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	tm("new-session", "-d", "-s", session, "-x", "160", "-y", "50", "sh "+script)
	t.Cleanup(func() { exec.Command(tmux, "-S", socket, "kill-server").Run() })
	screen := func() string { return tm("capture-pane", "-p", "-t", session) }
	waitFor := func(what string, ok func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Minute); !ok(screen()); time.Sleep(500 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the interactive session never showed %s; the screen:\n%s", what, screen())
			}
		}
	}
	waitFor("a shell prompt", func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
		last := strings.TrimSpace(lines[len(lines)-1])
		return strings.HasSuffix(last, "$") || strings.HasSuffix(last, "#")
	})
	// The shell's answer proves it ran remotely: the typed line holds no 42.
	tm("send-keys", "-t", session, "echo typed-$((40+2))", "Enter")
	waitFor("the typed command's answer", func(s string) bool { return strings.Contains(s, "typed-42") })
	tm("send-keys", "-t", session, "exit", "Enter")
	waitFor("the session's end", func(s string) bool { return strings.Contains(s, "SESSION ENDED 0") })
}

// shellQuote quotes args for sh.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

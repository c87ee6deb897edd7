package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// execProject is the test project's service (enableExecuteCommand on)
// created in a simulator, with its tasks running.
func execProject(t *testing.T) *simulator {
	t.Helper()
	project(t, nil)
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1"), 0)
	for range 100 {
		r := cli(t, s.env, "tasks")
		if strings.Contains(r.stdout, "RUNNING") {
			return s
		}
		time.Sleep(50 * time.Millisecond) // 30s of simulated time
	}
	t.Fatal("no task of the service runs")
	return nil
}

// withStdin makes f exec's stdin for the test.
func withStdin(t *testing.T, f *os.File) {
	old := execStdin
	execStdin = f
	t.Cleanup(func() { execStdin = old })
}

func TestExecCommandExitCode(t *testing.T) {
	s := execProject(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	withStdin(t, devnull)
	errFile := filepath.Join(t.TempDir(), "error")
	r := cli(t, s.env, "--error-file", errFile, "exec", "--command", "echo hello; exit 3")
	wantCode(t, r, 3)
	if !strings.Contains(r.stdout, "hello") || strings.Contains(r.stdout, "^D") {
		t.Errorf("exec printed %q, want hello (and no ^D)", r.stdout)
	}
	if strings.Contains(r.stderr, "Error:") {
		t.Errorf("a remote exit is reported as a failure: %q", r.stderr)
	}
	if _, err := os.Stat(errFile); err == nil {
		t.Error("a remote exit code wrote the error file")
	}
	wantCode(t, cli(t, s.env, "exec", "--command", "true", "--container", "app"), 0)

	// A failure of the tool itself is an error, with the error file.
	r = cli(t, s.env, "--error-file", errFile, "exec", "--command", "true", "--container", "nope")
	wantCode(t, r, 1)
	if b, _ := os.ReadFile(errFile); !strings.Contains(string(b), `no container "nope"`) {
		t.Errorf("error file %q", b)
	}
	r = cli(t, s.env, "exec", "--port-forward")
	wantCode(t, r, 1)
}

func TestExecPipedScript(t *testing.T) {
	s := execProject(t)
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("echo piped\nexit 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(script)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	withStdin(t, f)
	// The default command, sh, reads the script from the remote terminal.
	r := cli(t, s.env, "exec")
	wantCode(t, r, 4)
	// The remote terminal echoes the script, then the shell prints.
	if strings.Count(r.stdout, "piped") != 2 || !strings.HasSuffix(strings.TrimSuffix(r.stdout, "# "), "piped\r\n") {
		t.Errorf("exec printed %q, want the echoed script and piped", r.stdout)
	}

	// Without a script, the shell sees the end of its input and exits.
	empty, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	withStdin(t, empty)
	wantCode(t, cli(t, s.env, "exec"), 0)
}

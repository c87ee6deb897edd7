package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBinaryServesAndExitsWhenIdle builds the command, reads its URL, calls
// it, and checks that it exits by itself once idle.
func TestBinaryServesAndExitsWhenIdle(t *testing.T) {
	bin := t.TempDir() + "/ecssim"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-idle-exit", "500ms", "-time-scale", "60")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting: %v", err)
	}
	var waitErr error
	done := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the URL: %v", err)
	}
	url := strings.TrimSpace(line)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line = %q, want the URL", line)
	}
	resp, err := http.Get(url + "/_sim/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()

	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("exited with %v, want 0", waitErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit after 500ms idle")
	}
}

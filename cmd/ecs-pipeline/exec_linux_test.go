//go:build linux

package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// lockedBuffer is written by the session and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestExecInteractiveTerminal(t *testing.T) {
	s := execProject(t)
	// stdin is a terminal: the session is interactive and the terminal
	// goes raw for its duration.
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Cols: 100, Rows: 30}); err != nil {
		t.Fatal(err)
	}
	withStdin(t, tty)
	go io.Copy(io.Discard, ptmx) // the local terminal's echo, if any

	var stdout, stderr lockedBuffer
	lookup := func(k string) (string, bool) { v, ok := s.env[k]; return v, ok }
	done := make(chan int, 1)
	go func() { done <- run(t.Context(), []string{"exec"}, lookup, &stdout, &stderr) }()

	// Wait for the remote shell's prompt, then type as a user would.
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stdout.String(), "$") && !strings.Contains(stdout.String(), "#") {
		if time.Now().After(deadline) {
			t.Fatalf("no prompt; output %q, stderr %q", stdout.String(), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := ptmx.Write([]byte("stty size; echo hel''lo; exit\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the session did not end; output %q", stdout.String())
	}
	out := stdout.String()
	t.Logf("session output: %q", out)
	// "hel''lo" is what was typed (echoed by the remote terminal); "hello"
	// on a line of its own is the shell's output.
	if !strings.Contains(out, "\nhello\r\n") {
		t.Errorf("output %q, want hello on a line", out)
	}
	if !strings.Contains(out, "30 100") {
		t.Errorf("output %q, want the local terminal's size 30 100 from stty", out)
	}
	if st, err := getTermios(tty); err == nil && !st {
		t.Error("the terminal was left in raw mode")
	}
}

// getTermios reports whether the terminal echoes and reads lines, as a
// terminal not in raw mode does.
func getTermios(f *os.File) (bool, error) {
	st, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		return false, err
	}
	return st.Lflag&unix.ECHO != 0 && st.Lflag&unix.ICANON != 0, nil
}

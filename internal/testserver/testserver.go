// Package testserver runs a server program for the length of a test: on
// 127.0.0.1, stopped when the test ends and killed with the test binary,
// so nothing outlives the run that started it.
package testserver

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer; a busy
// two-core machine needs several seconds for some.
const startTimeout = 60 * time.Second

// Process is a running server.
type Process struct {
	out *syncBuffer
}

// Output returns what the server has printed so far (stdout and stderr).
func (p *Process) Output() string { return p.out.String() }

// Command is a program to run and its environment.
type Command struct {
	Program string
	Args    []string
	// Env is added to the test's own environment (NAME=VALUE).
	Env []string
}

// Start runs the command, waits until GET readyURL answers (any status),
// and stops the program when the test ends. A program that is missing or
// exits early fails the test: nothing is skipped.
func Start(t testing.TB, readyURL string, c Command) *Process {
	t.Helper()
	program := c.Program
	bin, err := exec.LookPath(program)
	if err != nil {
		t.Fatalf("%s is not on PATH (.ci/run installs it): %v", program, err)
	}
	p := &Process{out: &syncBuffer{}}
	cmd := exec.Command(bin, c.Args...)
	if c.Env != nil {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Die with the test binary even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", program, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before answering:\n%s", program, p.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer on %s within %v:\n%s", program, readyURL, startTimeout, p.Output())
		}
	}
}

// FreePort returns a loopback TCP port in [lo, hi] (any port when both are
// 0) that was free a moment ago and that no other test of this process
// holds; the port is released when the test ends. Port 5000 is never
// returned: the Dagger engine's image mirror uses it.
func FreePort(t testing.TB, lo, hi int) int {
	t.Helper()
	held.Lock()
	defer held.Unlock()
	if held.ports == nil {
		held.ports = map[int]bool{}
	}
	try := func(addr string) int {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return 0
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port == 5000 || held.ports[port] {
			return 0
		}
		held.ports[port] = true
		t.Cleanup(func() {
			held.Lock()
			defer held.Unlock()
			delete(held.ports, port)
		})
		return port
	}
	if lo == 0 && hi == 0 {
		for range 100 {
			if port := try("127.0.0.1:0"); port != 0 {
				return port
			}
		}
	}
	for port := lo; port <= hi && lo != 0; port++ {
		if try(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))) != 0 {
			return port
		}
	}
	t.Fatalf("no free port in %d-%d on 127.0.0.1", lo, hi)
	return 0
}

// held are the ports handed out to tests that are still running.
var held struct {
	sync.Mutex
	ports map[int]bool
}

// syncBuffer collects a server's output from the copying goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Package testserver runs a server program for the length of a test: on
// 127.0.0.1, stopped when the test ends and killed with the test binary,
// so nothing outlives the run that started it.
package testserver

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	p, err := start(t, readyURL, c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// StartOnFreePort runs the server command(port) returns, on a port from
// FreePort(t, lo, hi), as Start does. When the program exits because its
// address is in use ("address already in use", as Go and Python both say
// it, in any case; a process that is not one of these tests took the port
// between FreePort's check and the program's bind), it starts again on
// another port, three times in all.
func StartOnFreePort(t testing.TB, lo, hi int, command func(port int) (readyURL string, c Command)) (int, *Process) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := FreePort(t, lo, hi)
		readyURL, c := command(port)
		p, err := start(t, readyURL, c)
		if err == nil {
			return port, p
		}
		if attempt == 3 || !strings.Contains(strings.ToLower(p.Output()), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("port %d was taken before the server bound it; trying another", port)
	}
}

// start is Start returning its error; the Process is never nil.
func start(t testing.TB, readyURL string, c Command) (*Process, error) {
	program := c.Program
	p := &Process{out: &syncBuffer{}}
	bin, err := exec.LookPath(program)
	if err != nil {
		return p, fmt.Errorf("%s is not on PATH (.ci/run installs it): %v", program, err)
	}
	cmd := exec.Command(bin, c.Args...)
	if c.Env != nil {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Die with the test binary even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return p, fmt.Errorf("starting %s: %v", program, err)
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
			return p, nil
		}
		select {
		case <-exited:
			return p, fmt.Errorf("%s exited before answering:\n%s", program, p.Output())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("%s did not answer on %s within %v:\n%s", program, readyURL, startTimeout, p.Output())
		}
	}
}

// FreePort returns a loopback TCP port in [lo, hi] (any port when both are
// 0) that was free a moment ago and that no other test holds, in this
// process or in any other test binary of the run (go test runs packages
// side by side, and a registry in one may still be starting on a port
// another finds free). A port is held by an flock on a file named for it,
// released when the test ends or its process dies. Port 5000 is never
// returned: the Dagger engine's image mirror uses it.
func FreePort(t testing.TB, lo, hi int) int {
	t.Helper()
	try := func(addr string) int {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return 0
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port == 5000 {
			return 0
		}
		release, err := hold(port)
		if err != nil {
			t.Fatal(err)
		}
		if release == nil {
			return 0
		}
		t.Cleanup(release)
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

// hold takes the lock file of a port, and returns nil when another test,
// here or in another process, holds it. flock locks belong to the open
// file, so a second open of the same file is refused until the holder
// closes it (or dies).
func hold(port int) (release func(), err error) {
	dir := filepath.Join(os.TempDir(), "ecs-pipeline-test-ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, nil
	}
	return func() { f.Close() }, nil
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

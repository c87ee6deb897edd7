package e2e

import (
	"io"
	"net"
	"os"
	"strings"
	"testing"
)

// TestThroughAnEngineOverTCP: nothing assumes the engine is local. The
// rehearsal and a deploy run through the engine reached over TCP, as CI
// jobs reach a team's shared engine (_EXPERIMENTAL_DAGGER_RUNNER_HOST=
// tcp://...). Here TCP is forwarded to this machine's engine socket.
func TestThroughAnEngineOverTCP(t *testing.T) {
	t.Parallel()
	host := os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
	socket, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		t.Fatalf("_EXPERIMENTAL_DAGGER_RUNNER_HOST is %q: this test forwards TCP to an engine's unix socket (.ci/run starts one)", host)
	}
	tcp := forwardTCP(t, socket)
	env := []string{"_EXPERIMENTAL_DAGGER_RUNNER_HOST=tcp://" + tcp}

	r := daggerCallEnv(t, env, moduleRoot(t), "rehearse", "outcome")
	if r.err != nil || r.out() != "SUCCEEDED" {
		t.Fatalf("rehearse through tcp://%s: %v %q\n%s", tcp, r.err, r.out(), tail(r.all(), 40))
	}

	s := startECSStandIns(t)
	app := initApp(t)
	image := "registry.invalid/hello:v2@sha256:" + strings.Repeat("2", 64)
	d := daggerCallEnv(t, env, moduleRoot(t), append(s.args(app), "service", "--image", image, "deploy", "outcome")...)
	if d.err != nil || d.out() != "SUCCEEDED" {
		t.Fatalf("deploy through tcp://%s: %v %q\n%s", tcp, d.err, d.out(), tail(d.all(), 40))
	}
	s.waitFor(t, "hello:2")
	if n := s.updates(); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// forwardTCP listens on 127.0.0.1 and forwards each connection to the unix
// socket; it stops accepting when the test ends.
func forwardTCP(t *testing.T, socket string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("unix", socket)
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(u, c); done <- struct{}{} }()
				go func() { io.Copy(c, u); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}

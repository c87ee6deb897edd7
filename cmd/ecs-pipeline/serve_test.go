package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/internal/serve"
)

const serveToken = "serve-test-token"

// newServer serves runs with env as the process environment.
func newServer(t *testing.T, env map[string]string) string {
	t.Helper()
	srv := &server{token: serveToken, files: t.TempDir(), lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// serveRequest sends a request with the token (or another authorization).
func serveRequest(t *testing.T, method, url, auth string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// served is a run's answer through the module's client.
type served struct {
	stdout, stderr string
	*serve.Ran
}

func serveRun(t *testing.T, url string, req serve.Request) served {
	t.Helper()
	var stdout, stderr strings.Builder
	c := &serve.Client{URL: url, Token: serveToken}
	ran, err := c.Run(t.Context(), req, &stdout, &stderr)
	if err != nil {
		t.Fatalf("POST /run: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	return served{stdout.String(), stderr.String(), ran}
}

// TestServeRunsPushesWithUploadedLayout uploads a layout, then publishes
// it through the server: the run gets the request's environment over the
// server's, its stderr and stdout stream back, and the last frame carries
// the exit code and --result.
func TestServeRunsPushesWithUploadedLayout(t *testing.T) {
	t.Chdir(t.TempDir())
	s := newSimulator(t, false)
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTESTKEY", "AWS_SECRET_ACCESS_KEY": "test-secret-access-key", "AWS_REGION": "eu-west-1"}
	url := newServer(t, env)

	layout, err := os.ReadFile(randomLayout(t))
	if err != nil {
		t.Fatal(err)
	}
	path, err := (&serve.Client{URL: url, Token: serveToken}).Upload(t.Context(), "image.tar", bytes.NewReader(layout))
	if err != nil {
		t.Fatalf("PUT /files/image.tar: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, layout) {
		t.Fatalf("stored %s: %d bytes, %v; want the %d uploaded", path, len(b), err, len(layout))
	}

	repo := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	got := serveRun(t, url, serve.Request{
		Args: []string{"publish", "--layout", path, "--repository", repo, "--tag", "v1", "--through", s.URL},
		Env:  map[string]string{"AWS_ENDPOINT_URL": s.URL, "AWS_REGION": "us-east-1"},
	})
	if got.Code != 0 {
		t.Fatalf("exit %d: %s", got.Code, got.stderr)
	}
	pinned := regexp.MustCompile(`^` + regexp.QuoteMeta(repo) + `:v1@sha256:[0-9a-f]{64}$`)
	if !pinned.MatchString(strings.TrimSpace(got.stdout)) || !strings.Contains(got.stderr, "pushed "+strings.TrimSpace(got.stdout)) {
		t.Fatalf("stdout %q, stderr %q", got.stdout, got.stderr)
	}
	var res publishResult
	if json.Unmarshal([]byte(got.Result), &res) != nil || res.Image != strings.TrimSpace(got.stdout) {
		t.Fatalf("result %q, want the pushed image", got.Result)
	}
	if got.Error != "" {
		t.Errorf("error %q after a success", got.Error)
	}
}

// TestServeRunFailure: a failing run ends with exit 1 and its error, which
// names the file; the server goes on serving.
func TestServeRunFailure(t *testing.T) {
	project(t, map[string]string{"ecs-task-def.json": "{\n  \"family\": \"web\",\n  oops\n}\n"})
	url := newServer(t, map[string]string{})
	for range 2 {
		got := serveRun(t, url, serve.Request{Args: []string{"render", "taskdef"}})
		if got.Code != 1 || !strings.Contains(got.Error, "ecs-task-def.json") || got.Result != "" {
			t.Fatalf("end %+v, want exit 1 naming ecs-task-def.json", got.Ran)
		}
		if !strings.Contains(got.stderr, "Error: "+got.Error) {
			t.Errorf("stderr %q lacks the error", got.stderr)
		}
	}
}

// TestServeRefuses: no token, a wrong one, a bad file name, no args.
func TestServeRefuses(t *testing.T) {
	url := newServer(t, map[string]string{})
	for _, c := range []struct {
		method, path, auth, body string
		want                     int
	}{
		{"POST", "/run", "", `{"args": ["version"]}`, 401},
		{"POST", "/run", "Bearer wrong", `{"args": ["version"]}`, 401},
		{"PUT", "/files/x", "Bearer " + serveToken[:len(serveToken)-1], "x", 401},
		{"PUT", "/files/../x", "Bearer " + serveToken, "x", 400},
		{"PUT", "/files/.x", "Bearer " + serveToken, "x", 400},
		{"POST", "/run", "Bearer " + serveToken, `{"args": []}`, 400},
		{"GET", "/run", "Bearer " + serveToken, "", 404},
	} {
		if resp := serveRequest(t, c.method, url+c.path, c.auth, []byte(c.body)); resp.StatusCode != c.want {
			t.Errorf("%s %s (%q): %s, want %d", c.method, c.path, c.auth, resp.Status, c.want)
		}
	}
}

// TestServeNeedsToken: serve refuses to start without a token.
func TestServeNeedsToken(t *testing.T) {
	r := cli(t, map[string]string{}, "serve", "--addr", "127.0.0.1:0")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, serve.TokenEnv) {
		t.Fatalf("stderr %q does not name %s", r.stderr, serve.TokenEnv)
	}
}

// TestServeExitsWhenIdle: serve returns once idle for --idle-timeout.
func TestServeExitsWhenIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		lookup := func(k string) (string, bool) { return serveToken, k == serve.TokenEnv }
		code := run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--idle-timeout", "200ms"}, lookup, &stdout, &stderr)
		done <- result{code, stdout.String(), stderr.String()}
	}()
	select {
	case r := <-done:
		wantCode(t, r, 0)
		if !strings.HasPrefix(r.stderr, "serving on 127.0.0.1:") {
			t.Errorf("stderr %q", r.stderr)
		}
	case <-ctx.Done():
		t.Fatal("serve did not exit when idle")
	}
}

// TestServeExitsAfterLastRun: serve answers a run marked last in full,
// then exits by itself.
func TestServeExitsAfterLastRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		lookup := func(k string) (string, bool) { return serveToken, k == serve.TokenEnv }
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, lookup, io.Discard, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "serving on ")
	if err != nil || !ok {
		t.Fatalf("serve printed %q: %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	got := serveRun(t, "http://"+addr, serve.Request{Args: []string{"version"}, Last: true})
	if got.Code != 0 || strings.TrimSpace(got.stdout) == "" {
		t.Fatalf("version: exit %d, stdout %q", got.Code, got.stdout)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-ctx.Done():
		t.Fatal("serve still runs after its last run")
	}
}

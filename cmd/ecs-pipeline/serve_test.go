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

// served is a run's answer, its frames put together.
type served struct {
	stdout, stderr string
	frames         int
	end            runFrame
}

func serveRun(t *testing.T, url string, req runRequest) served {
	t.Helper()
	body, _ := json.Marshal(req)
	resp := serveRequest(t, "POST", url+"/run", "Bearer "+serveToken, body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST /run: %s", resp.Status)
	}
	var s served
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var f runFrame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("frame %q: %v", sc.Text(), err)
		}
		s.frames++
		s.stdout += f.Stdout
		s.stderr += f.Stderr
		if f.Exit != nil {
			s.end = f
		}
	}
	if s.end.Exit == nil {
		t.Fatalf("no exit frame after %d frames:\n%s%s", s.frames, s.stdout, s.stderr)
	}
	return s
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
	resp := serveRequest(t, "PUT", url+"/files/image.tar", "Bearer "+serveToken, layout)
	var put struct{ Path string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&put) != nil {
		t.Fatalf("PUT /files/image.tar: %s", resp.Status)
	}
	if b, err := os.ReadFile(put.Path); err != nil || !bytes.Equal(b, layout) {
		t.Fatalf("stored %s: %d bytes, %v; want the %d uploaded", put.Path, len(b), err, len(layout))
	}

	repo := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app"
	got := serveRun(t, url, runRequest{
		Args: []string{"publish", "--layout", put.Path, "--repository", repo, "--tag", "v1", "--through", s.URL},
		Env:  map[string]string{"AWS_ENDPOINT_URL": s.URL, "AWS_REGION": "us-east-1"},
	})
	if *got.end.Exit != 0 {
		t.Fatalf("exit %d: %s", *got.end.Exit, got.stderr)
	}
	pinned := regexp.MustCompile(`^` + regexp.QuoteMeta(repo) + `:v1@sha256:[0-9a-f]{64}$`)
	if !pinned.MatchString(strings.TrimSpace(got.stdout)) || !strings.Contains(got.stderr, "pushed "+strings.TrimSpace(got.stdout)) {
		t.Fatalf("stdout %q, stderr %q", got.stdout, got.stderr)
	}
	var res publishResult
	if got.end.Result == nil || json.Unmarshal([]byte(*got.end.Result), &res) != nil || res.Image != strings.TrimSpace(got.stdout) {
		t.Fatalf("result %v, want the pushed image", got.end.Result)
	}
	if got.end.Error != nil {
		t.Errorf("error %q after a success", *got.end.Error)
	}
}

// TestServeRunFailure: a failing run ends with exit 1 and its error, which
// names the file; the server goes on serving.
func TestServeRunFailure(t *testing.T) {
	project(t, map[string]string{"ecs-task-def.json": "{\n  \"family\": \"web\",\n  oops\n}\n"})
	url := newServer(t, map[string]string{})
	for range 2 {
		got := serveRun(t, url, runRequest{Args: []string{"render", "taskdef"}})
		if *got.end.Exit != 1 || got.end.Error == nil || !strings.Contains(*got.end.Error, "ecs-task-def.json") || got.end.Result != nil {
			t.Fatalf("end %+v, want exit 1 naming ecs-task-def.json", got.end)
		}
		if !strings.Contains(got.stderr, "Error: "+*got.end.Error) {
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
	if !strings.Contains(r.stderr, serveTokenEnv) {
		t.Fatalf("stderr %q does not name %s", r.stderr, serveTokenEnv)
	}
}

// TestServeExitsWhenIdle: serve returns once idle for --idle-timeout.
func TestServeExitsWhenIdle(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		lookup := func(k string) (string, bool) { return serveToken, k == serveTokenEnv }
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
		lookup := func(k string) (string, bool) { return serveToken, k == serveTokenEnv }
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, lookup, io.Discard, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "serving on ")
	if err != nil || !ok {
		t.Fatalf("serve printed %q: %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	got := serveRun(t, "http://"+addr, runRequest{Args: []string{"version"}, Last: true})
	if *got.end.Exit != 0 || strings.TrimSpace(got.stdout) == "" {
		t.Fatalf("version: exit %d, stdout %q", *got.end.Exit, got.stdout)
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

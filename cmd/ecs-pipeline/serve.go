package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/internal/serve"
)

// ServeCmd runs command lines sent over HTTP, for the Dagger module: its
// ship and rehearse start the engine image as a Dagger service while they
// build, then send it their steps (the dry run, the push and deploy)
// instead of starting a container for each (a container costs the
// engine about half a second to start and stop). Each run is this
// program's own command line, run in-process with this process's
// environment; its stdout and stderr stream back as they are written.
//
// The protocol, its types and the module's client are package
// internal/serve's.
//
// A client that goes away cancels its run. The server exits after
// answering a run marked last (so that its client need not wait for the
// service to be stopped), or once it has had no run in flight for
// --idle-timeout.
type ServeCmd struct {
	Addr        string        `default:"0.0.0.0:8080" help:"Where to listen." placeholder:"HOST:PORT"`
	IdleTimeout time.Duration `default:"10m" help:"Exit after this long with no run in flight."`
}

func (s *ServeCmd) Run(a *app) error {
	token, _ := a.lookup(serve.TokenEnv)
	if token == "" {
		return fmt.Errorf("serve: set %s to the token clients send", serve.TokenEnv)
	}
	files, err := os.MkdirTemp("", "ecs-pipeline-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(files)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &server{token: token, files: files, lookup: a.lookup, done: make(chan struct{})}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go srv.exitWhenIdle(a.ctx, hs, s.IdleTimeout)
	fmt.Fprintf(a.stderr, "serving on %s\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// server is ServeCmd's handler.
type server struct {
	token  string
	files  string
	lookup func(string) (string, bool)

	mu       sync.Mutex
	inFlight int
	last     time.Time
	// done is closed after a run marked last is answered.
	done     chan struct{}
	doneOnce sync.Once
}

// fileName is what PUT /files/NAME accepts as NAME.
var fileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.token)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.begin()
	defer s.end()
	switch name, isFile := strings.CutPrefix(r.URL.Path, "/files/"); {
	case r.Method == http.MethodPut && isFile:
		s.put(w, r, name)
	case r.Method == http.MethodPost && r.URL.Path == "/run":
		s.run(w, r)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// put stores the body as file name.
func (s *server) put(w http.ResponseWriter, r *http.Request, name string) {
	if !fileName.MatchString(name) {
		http.Error(w, fmt.Sprintf("file name %q: want letters, digits, '.', '_' and '-'", name), http.StatusBadRequest)
		return
	}
	path := filepath.Join(s.files, name)
	f, err := os.Create(path)
	if err == nil {
		_, err = io.Copy(f, r.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		http.Error(w, "storing "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"path": path})
}

// run runs one command line and streams its output.
func (s *server) run(w http.ResponseWriter, r *http.Request) {
	var req serve.Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Args) == 0 {
		http.Error(w, fmt.Sprintf("want {\"args\": [...]}: %v", err), http.StatusBadRequest)
		return
	}
	dir, err := os.MkdirTemp(s.files, "run-")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.RemoveAll(dir)
	resultFile, errorFile := filepath.Join(dir, "result.json"), filepath.Join(dir, "error")
	args := append([]string{"--result=" + resultFile, "--error-file=" + errorFile}, req.Args...)
	lookup := func(k string) (string, bool) {
		if v, ok := req.Env[k]; ok {
			return v, true
		}
		return s.lookup(k)
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	out := &frameWriter{enc: json.NewEncoder(w), flush: func() {}}
	if f, ok := w.(http.Flusher); ok {
		out.flush = f.Flush
	}
	code := run(r.Context(), args, lookup, frameStream{out, false}, frameStream{out, true})
	end := serve.Frame{Exit: &code}
	if b, err := os.ReadFile(resultFile); err == nil {
		end.Result = ptr(string(b))
	}
	if b, err := os.ReadFile(errorFile); err == nil {
		end.Error = ptr(string(b))
	}
	out.send(end)
	if req.Last && s.done != nil {
		s.doneOnce.Do(func() { close(s.done) })
	}
}

func ptr[T any](v T) *T { return &v }

// frameWriter sends frames one at a time, each flushed at once.
type frameWriter struct {
	mu    sync.Mutex
	enc   *json.Encoder
	flush func()
}

func (f *frameWriter) send(fr serve.Frame) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.enc.Encode(fr) == nil {
		f.flush()
	}
}

// frameStream is a run's stdout or stderr as frames.
type frameStream struct {
	f      *frameWriter
	stderr bool
}

func (s frameStream) Write(p []byte) (int, error) {
	if s.stderr {
		s.f.send(serve.Frame{Stderr: string(p)})
	} else {
		s.f.send(serve.Frame{Stdout: string(p)})
	}
	return len(p), nil
}

func (s *server) begin() {
	s.mu.Lock()
	s.inFlight++
	s.mu.Unlock()
}

func (s *server) end() {
	s.mu.Lock()
	s.inFlight--
	s.last = time.Now()
	s.mu.Unlock()
}

// exitWhenIdle shuts hs down once no request has been in flight for
// timeout (counting from the start), or when ctx is done.
func (s *server) exitWhenIdle(ctx context.Context, hs *http.Server, timeout time.Duration) {
	s.mu.Lock()
	s.last = time.Now()
	s.mu.Unlock()
	tick := time.NewTicker(min(timeout/4, time.Second) + time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			hs.Close()
			return
		case <-s.done:
			// Let the answer's last bytes go out first.
			hs.Shutdown(context.WithoutCancel(ctx))
			return
		case <-tick.C:
			s.mu.Lock()
			idle := s.inFlight == 0 && time.Since(s.last) >= timeout
			s.mu.Unlock()
			if idle {
				hs.Close()
				return
			}
		}
	}
}

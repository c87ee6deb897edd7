package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
)

// serverPort is where the engine serves runs (ecs-pipeline serve) inside
// its service.
const serverPort = 8081

// engineServer is the engine image running as a Dagger service that runs
// the engine's command lines sent to it over HTTP (cmd/ecs-pipeline
// serve.go). Ship and rehearse run their steps there: the service starts
// while the image is tested and built, and each step then costs a
// request instead of a container (about half a second each to start and
// stop). Its output streams to this function's own output as it is
// written.
type engineServer struct {
	svc   *dagger.Service
	url   string
	token string
	// args come before every command line: the global flags the
	// container was made for (such as --endpoint-url).
	args []string
	// through is where pushes go (publish's --through); "" for the
	// repository's own registry.
	through string
	// exited: the last run was answered, and the server has exited.
	exited bool
}

// startServer starts ctr (an engine container, set up as for an exec)
// as the engine server, bound to the module's registry endpoint when it
// has one (withRegistry), and returns it once it answers; args are the
// global flags every run gets, command the service's command (ecs-pipeline
// serve when none). Each server is its own: a fresh token (a secret
// variable, sent as a bearer token) keeps other containers of the session
// out and its instance unshared.
func (m *EcsPipeline) startServer(ctx context.Context, ctr *dagger.Container, args []string, command ...string) (*engineServer, error) {
	ctr, through, err := m.withRegistry(ctx, ctr)
	if err != nil {
		return nil, err
	}
	var b, id [16]byte
	rand.Read(b[:])
	rand.Read(id[:]) // the secret's name, which traces show
	token := hex.EncodeToString(b[:])
	if len(command) == 0 {
		command = []string{engineCLI, "serve", fmt.Sprintf("--addr=0.0.0.0:%d", serverPort)}
	}
	svc := ctr.
		WithSecretVariable("ECS_PIPELINE_SERVE_TOKEN", dag.SetSecret("ecs-pipeline-serve-"+hex.EncodeToString(id[:]), token)).
		WithExposedPort(serverPort).
		AsService(dagger.ContainerAsServiceOpts{Args: command})
	svc, err = svc.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	url, err := svc.Endpoint(ctx, dagger.ServiceEndpointOpts{Port: serverPort, Scheme: "http"})
	if err != nil {
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	return &engineServer{svc: svc, url: url, token: token, args: args, through: through}, nil
}

// stop stops the server, unless it has exited after its last run.
func (s *engineServer) stop(ctx context.Context) {
	if !s.exited {
		s.svc.Stop(context.WithoutCancel(ctx), dagger.ServiceStopOpts{Kill: true})
	}
}

// pending is a server being started.
type pending struct {
	done chan struct{}
	srv  *engineServer
	err  error
}

// startingServer starts the server in the background.
func startingServer(ctx context.Context, start func(context.Context) (*engineServer, error)) *pending {
	p := &pending{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.srv, p.err = start(ctx)
	}()
	return p
}

// get waits for the server.
func (p *pending) get(ctx context.Context) (*engineServer, error) {
	select {
	case <-p.done:
		return p.srv, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// exportLocal exports f to a file of this function's container, for
// upload; remove removes it.
func exportLocal(ctx context.Context, f *dagger.File) (path string, remove func(), err error) {
	dir, err := os.MkdirTemp("", "ecs-pipeline-upload-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "file")
	if _, err := f.Export(ctx, path); err != nil {
		remove()
		return "", nil, err
	}
	return path, remove, nil
}

// upload stores the local file as name in the server and returns its
// path there.
func (s *engineServer) upload(ctx context.Context, name, local string) (string, error) {
	body, err := os.Open(local)
	if err != nil {
		return "", err
	}
	defer body.Close()
	resp, err := s.do(ctx, http.MethodPut, "/files/"+name, body)
	if err != nil {
		return "", fmt.Errorf("sending %s to the engine: %w", name, err)
	}
	defer resp.Body.Close()
	var put struct{ Path string }
	if err := json.NewDecoder(resp.Body).Decode(&put); err != nil || put.Path == "" {
		return "", fmt.Errorf("sending %s to the engine: no path in its answer (%v)", name, err)
	}
	return put.Path, nil
}

func (s *engineServer) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// served is a finished run: what it printed on stdout, its --result, its
// error message (empty on success) and exit code.
type served struct {
	Stdout, Result, Error string
	Code                  int
}

// run runs the engine's command line (after the server's global flags)
// with env over the server's environment; what it prints goes to this
// function's output as it comes.
func (s *engineServer) run(ctx context.Context, env map[string]string, args ...string) (*served, error) {
	return s.send(ctx, false, env, args)
}

// runLast is run for the server's last run: the server exits once it has
// answered, so that nothing waits for the service to be stopped.
func (s *engineServer) runLast(ctx context.Context, env map[string]string, args ...string) (*served, error) {
	r, err := s.send(ctx, true, env, args)
	if err == nil {
		s.exited = true
	}
	return r, err
}

func (s *engineServer) send(ctx context.Context, last bool, env map[string]string, args []string) (*served, error) {
	body, err := json.Marshal(map[string]any{"args": append(append([]string{}, s.args...), args...), "env": env, "last": last})
	if err != nil {
		return nil, err
	}
	resp, err := s.do(ctx, http.MethodPost, "/run", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("running ecs-pipeline %s: %w", args[0], err)
	}
	defer resp.Body.Close()
	var out served
	var stdout strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var f struct {
			Stdout, Stderr string
			Exit           *int
			Result, Error  *string
		}
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return nil, fmt.Errorf("running ecs-pipeline %s: reading its output: %w", args[0], err)
		}
		stdout.WriteString(f.Stdout)
		os.Stderr.WriteString(f.Stdout + f.Stderr)
		if f.Exit != nil {
			out.Code, out.Stdout = *f.Exit, stdout.String()
			if f.Result != nil {
				out.Result = *f.Result
			}
			if f.Error != nil {
				out.Error = strings.TrimRight(*f.Error, "\n")
			}
			return &out, nil
		}
	}
	err = sc.Err()
	if err == nil {
		err = errors.New("the engine ended the run without an exit code")
	}
	return nil, fmt.Errorf("running ecs-pipeline %s: %w", args[0], err)
}

// failure is the error of a run that exited with a code other than 0.
func (r *served) failure(command string) error {
	if r.Error != "" {
		return errors.New(r.Error)
	}
	return fmt.Errorf("ecs-pipeline %s exited with %d", command, r.Code)
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/internal/serve"
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
	svc    *dagger.Service
	client *serve.Client
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
	// Dagger's health check polls the port on a backoff from 0.1 s;
	// Await polls it more often, so the first run goes out as soon as
	// the server listens.
	svc := ctr.
		WithSecretVariable(serve.TokenEnv, dag.SetSecret("ecs-pipeline-serve-"+hex.EncodeToString(id[:]), token)).
		WithExposedPort(serverPort, dagger.ContainerWithExposedPortOpts{ExperimentalSkipHealthcheck: true}).
		AsService(dagger.ContainerAsServiceOpts{Args: command})
	svc, err = svc.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	endpoint, err := svc.Endpoint(ctx, dagger.ServiceEndpointOpts{Port: serverPort, Scheme: "http"})
	if err != nil {
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	s := &engineServer{svc: svc, client: &serve.Client{URL: endpoint, Token: token}, args: args, through: through}
	if err := s.client.Await(ctx, serverStartTimeout); err != nil {
		s.stop(ctx)
		return nil, fmt.Errorf("starting the engine: %w", err)
	}
	return s, nil
}

// serverStartTimeout bounds the wait for a started server to listen: its
// container runs by then, and a cold engine pages its binary in within
// seconds.
const serverStartTimeout = time.Minute

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
	return s.client.Upload(ctx, name, body)
}

// served is a finished run and what it printed on stdout.
type served struct {
	*serve.Ran
	Stdout string
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
	var stdout strings.Builder
	req := serve.Request{Args: append(append([]string{}, s.args...), args...), Env: env, Last: last}
	ran, err := s.client.Run(ctx, req, io.MultiWriter(&stdout, os.Stderr), os.Stderr)
	if err != nil {
		return nil, fmt.Errorf("running ecs-pipeline %s: %w", args[0], err)
	}
	return &served{Ran: ran, Stdout: stdout.String()}, nil
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
)

// releasedEngine is the engine image the release workflow
// (.github/workflows/release.yml) built from this source, pushed and pinned
// here by digest. Until a release pins one, the engine is built from the
// module's own source on first use (and cached by the engine after that).
const releasedEngine = ""

// The engine image's programs: the deploy engine as a command-line program
// (cmd/ecs-pipeline) and the ECS simulator with its stand-ins (cmd/ecssim).
const (
	engineCLI = "/usr/local/bin/ecs-pipeline"
	engineSim = "/usr/local/bin/ecssim"
	// engineOut is where a command writes its error and result files.
	engineOut = "/run/ecs-pipeline"
	// engineSrc is where the application's source is mounted: the
	// command's working directory.
	engineSrc = "/src"
)

// engineSources is the source the engine image is built from
// (internal/lint checks that it holds every package the two programs
// import from this module).
var engineSources = []string{"go.mod", "go.sum", "cmd/ecs-pipeline/**/*.go", "cmd/ecssim/**/*.go", "pipeline/**/*.go", "sim/**/*.go", "internal/serve/**/*.go", "internal/ssmsession/**/*.go"}

// Engine returns the engine image built from this module's source: the
// ecs-pipeline command (a drop-in for the ecspresso binary, and what every
// function here runs to reach AWS) and the ECS simulator. The release
// workflow publishes it: `dagger call engine publish --address ...`.
func (m *EcsPipeline) Engine() *dagger.Container {
	own := dag.CurrentModule().Source()
	bin := dag.Container().From("golang:1.25-alpine").
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("ecs-pipeline-go-mod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("ecs-pipeline-go-build")).
		WithEnvVariable("CGO_ENABLED", "0").
		WithDirectory("/src", own, dagger.ContainerWithDirectoryOpts{
			Include: engineSources,
			Exclude: []string{"**/*_test.go"},
		}).
		WithWorkdir("/src").
		WithExec([]string{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/", "./cmd/ecs-pipeline", "./cmd/ecssim"}).
		Directory("/out")
	return dag.Container().From("alpine:3.22").
		WithFile(engineCLI, bin.File("ecs-pipeline")).
		WithFile(engineSim, bin.File("ecssim")).
		WithEntrypoint([]string{engineCLI}).
		WithWorkdir(engineSrc)
}

// engine is the engine image this call uses: --engine-image, else the
// released one, else built from source (--engine-from-source forces it).
func (m *EcsPipeline) engine() *dagger.Container {
	switch {
	case m.EngineImage != "":
		return dag.Container().From(m.EngineImage)
	case releasedEngine != "" && !m.EngineFromSource:
		return dag.Container().From(releasedEngine)
	default:
		return m.Engine()
	}
}

// awsEngine is the engine with the application's source as its working
// directory and the module's AWS region, credentials (secret variables,
// never arguments) and endpoint.
func (m *EcsPipeline) awsEngine(ctx context.Context) (*dagger.Container, []string, error) {
	ctr := m.engine().
		WithMountedDirectory(engineSrc, m.Source.WithoutDirectory(".git")).
		WithWorkdir(engineSrc)
	for _, s := range []struct {
		name   string
		secret *dagger.Secret
	}{
		{"AWS_ACCESS_KEY_ID", m.AwsAccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", m.AwsSecretAccessKey},
		{"AWS_SESSION_TOKEN", m.AwsSessionToken},
	} {
		if s.secret != nil {
			ctr = ctr.WithSecretVariable(s.name, s.secret)
		}
	}
	if m.Region != "" {
		ctr = ctr.WithEnvVariable("AWS_REGION", m.Region)
	}
	var args []string
	endpoint := m.EndpointURL
	if m.Endpoint != nil {
		var err error
		if ctr, endpoint, err = bind(ctx, ctr, "aws-endpoint", m.Endpoint); err != nil {
			return nil, nil, fmt.Errorf("the AWS endpoint service: %w", err)
		}
	}
	if endpoint != "" {
		args = append(args, "--endpoint-url="+endpoint)
	}
	return ctr, args, nil
}

// bind binds a service to the container under alias and returns its URL
// as the container sees it.
func bind(ctx context.Context, ctr *dagger.Container, alias string, svc *dagger.Service) (*dagger.Container, string, error) {
	ep, err := svc.Endpoint(ctx, dagger.ServiceEndpointOpts{Scheme: "http"})
	if err != nil {
		return nil, "", err
	}
	u, err := url.Parse(ep)
	if err != nil {
		return nil, "", err
	}
	return ctr.WithServiceBinding(alias, svc), "http://" + alias + ":" + u.Port(), nil
}

// ran is a finished engine command.
type ran struct {
	ctr    *dagger.Container
	Stdout string
}

// Result reads the command's --result file.
func (r *ran) Result(ctx context.Context) (string, error) {
	return r.ctr.File(engineOut + "/result.json").Contents(ctx)
}

// run runs the engine command with args and returns its output, or its
// error message as an error. A command that talks to AWS is never served
// from the cache: each run carries a fresh nonce.
func run(ctx context.Context, ctr *dagger.Container, args ...string) (*ran, error) {
	r, code, err := runCode(ctx, ctr, args...)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, r.failure(ctx, args[0], code)
	}
	return r, nil
}

// runCode runs the engine command and returns its output and exit code,
// whatever the code.
func runCode(ctx context.Context, ctr *dagger.Container, args ...string) (*ran, int, error) {
	var nonce [12]byte
	rand.Read(nonce[:])
	argv := append([]string{engineCLI, "--error-file=" + engineOut + "/error", "--result=" + engineOut + "/result.json"}, args...)
	ctr = ctr.
		WithDirectory(engineOut, dag.Directory()).
		WithEnvVariable("ECS_PIPELINE_RUN", hex.EncodeToString(nonce[:])).
		WithExec(argv, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := ctr.ExitCode(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("running ecs-pipeline %s: %w", args[0], err)
	}
	out, err := ctr.Stdout(ctx)
	if err != nil {
		return nil, 0, err
	}
	return &ran{ctr: ctr, Stdout: out}, code, nil
}

// failure is the error of a command that exited with code: the message it
// wrote to its error file, else the end of what it printed.
func (r *ran) failure(ctx context.Context, command string, code int) error {
	msg, err := r.ctr.File(engineOut + "/error").Contents(ctx)
	if err != nil || strings.TrimSpace(msg) == "" {
		stderr, _ := r.ctr.Stderr(ctx)
		return fmt.Errorf("ecs-pipeline %s exited with %d:\n%s", command, code, tail(stderr, 40))
	}
	return errors.New(strings.TrimRight(msg, "\n"))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
)

// Test the application: run its tests in a container and return their
// output. Failing tests fail the call, and their output is in the error.
//
// With no arguments it builds the Dockerfile stage named "test" (whose RUN
// steps run the tests). With --command it runs that shell command in
// --image with the source at /src, or, when --image is empty, in the stage
// named by --target.
func (m *EcsPipeline) Test(
	ctx context.Context,
	// Dockerfile path, relative to the source directory.
	// +default="Dockerfile"
	dockerfile string,
	// Build stage that runs the tests, or that --command runs in.
	// +default="test"
	target string,
	// Build arguments as NAME=VALUE; repeat for several.
	// +optional
	buildArg []string,
	// Shell command that runs the tests, such as "go test ./...".
	// +optional
	command string,
	// Image to run --command in, such as golang:1.25-alpine. The source is
	// mounted at /src, the working directory.
	// +optional
	image string,
) (string, error) {
	var ctr *dagger.Container
	switch {
	case image != "" && command == "":
		return "", errors.New("--image needs --command: the shell command that runs the tests")
	case image != "":
		ctr = dag.Container().From(image).
			WithMountedDirectory("/src", m.Source.WithoutDirectory(".git")).
			WithWorkdir("/src")
	default:
		var err error
		ctr, err = m.build(ctx, buildOptions{dockerfile, target, buildArg}, "")
		if err != nil {
			return "", err
		}
	}
	if command == "" {
		if _, err := ctr.Sync(ctx); err != nil {
			return "", fmt.Errorf("running tests (stage %q of %s): %w", target, dockerfile, err)
		}
		return fmt.Sprintf("tests passed: stage %q of %s built\n", target, dockerfile), nil
	}
	out, err := ctr.WithExec([]string{"sh", "-c", command}).CombinedOutput(ctx)
	var exec *dagger.ExecError
	if errors.As(err, &exec) {
		return "", fmt.Errorf("tests failed (%s exited with %d):\n%s%s", command, exec.ExitCode, exec.Stdout, exec.Stderr)
	}
	if err != nil {
		return "", fmt.Errorf("running tests: %w", err)
	}
	return out, nil
}

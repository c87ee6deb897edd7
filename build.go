package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
)

// Build the application's image from its Dockerfile and return the
// container. The source's .git directory is left out of the build context,
// so a new commit alone does not rebuild anything.
func (m *EcsPipeline) Build(
	ctx context.Context,
	// Dockerfile path, relative to the source directory.
	// +default="Dockerfile"
	dockerfile string,
	// Build stage to build; the last stage when empty.
	// +optional
	target string,
	// Build arguments as NAME=VALUE; repeat for several.
	// +optional
	buildArg []string,
	// Platform to build for, such as linux/arm64; the engine's own when empty.
	// +optional
	platform dagger.Platform,
) (*dagger.Container, error) {
	return m.build(ctx, buildOptions{dockerfile, target, buildArg}, platform)
}

// buildOptions are the Dockerfile arguments that build, test and publish share.
type buildOptions struct {
	dockerfile string
	target     string
	buildArgs  []string
}

// build checks the options, then builds one platform.
func (m *EcsPipeline) build(ctx context.Context, o buildOptions, platform dagger.Platform) (*dagger.Container, error) {
	args, err := parseBuildArgs(o.buildArgs)
	if err != nil {
		return nil, err
	}
	if o.dockerfile == "" {
		o.dockerfile = "Dockerfile"
	}
	ok, err := m.Source.Exists(ctx, o.dockerfile, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil {
		return nil, fmt.Errorf("looking for %s: %w", o.dockerfile, err)
	}
	if !ok {
		return nil, fmt.Errorf("no Dockerfile at %q in the source directory (pass --source with the application's directory, or --dockerfile)", o.dockerfile)
	}
	ctr := m.Source.WithoutDirectory(".git").DockerBuild(dagger.DirectoryDockerBuildOpts{
		Dockerfile: o.dockerfile,
		Target:     o.target,
		BuildArgs:  args,
		Platform:   platform,
	})
	return ctr, nil
}

// parseBuildArgs turns NAME=VALUE strings into build arguments.
func parseBuildArgs(kvs []string) ([]dagger.BuildArg, error) {
	args := make([]dagger.BuildArg, 0, len(kvs))
	for _, kv := range kvs {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("build argument %q: want NAME=VALUE", kv)
		}
		args = append(args, dagger.BuildArg{Name: name, Value: value})
	}
	return args, nil
}

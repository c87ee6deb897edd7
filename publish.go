package main

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// Publish the image to an ECR repository: build it, log in
// with a token from ECR's GetAuthorizationToken, push, and return the pushed
// image as repository:tag@sha256:digest, the reference to deploy.
// +cache="never"
func (m *EcsPipeline) Publish(
	ctx context.Context,
	// ECR repository to push to, without tag:
	// 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app.
	repository string,
	// Tags to push; repeat for several. Default: the source's git commit,
	// or "src-" and a content hash of the source when it has no .git.
	// +optional
	tag []string,
	// Platforms to build and push as one multi-platform image, such as
	// linux/amd64 and linux/arm64; the engine's own when empty.
	// +optional
	platform []dagger.Platform,
	// Create the repository when it does not exist.
	// +optional
	createRepository bool,
	// Dockerfile path, relative to the source directory.
	// +default="Dockerfile"
	dockerfile string,
	// Build stage to publish; the last stage when empty.
	// +optional
	target string,
	// Build arguments as NAME=VALUE; repeat for several.
	// +optional
	buildArg []string,
	// Push the same bytes, and so the same digest, wherever and whenever
	// this source is built: every timestamp in the image (config, history,
	// file times in layers) is set to the Unix epoch, and the image is
	// pushed by the engine image with go-containerregistry.
	// +optional
	reproducible bool,
) (string, error) {
	repo, err := ref.ParseRepository(repository)
	if err != nil {
		return "", err
	}
	tarball, tags, err := m.imageTarball(ctx, tag, platform, dockerfile, target, buildArg)
	if err != nil {
		return "", err
	}
	return m.push(ctx, repo, tags, tarball, createRepository, reproducible)
}

// imageTarball builds the image to publish, for every platform, and returns its
// OCI layout tarball and the tags to push it under: tag, checked, or the
// default tag when none.
func (m *EcsPipeline) imageTarball(ctx context.Context, tag []string, platform []dagger.Platform, dockerfile, target string, buildArg []string) (*dagger.File, []string, error) {
	if len(tag) == 0 {
		t, err := m.defaultTag(ctx)
		if err != nil {
			return nil, nil, err
		}
		tag = []string{t}
	}
	for _, t := range tag {
		if err := ref.ValidateTag(t); err != nil {
			return nil, nil, err
		}
	}
	if len(platform) == 0 {
		platform = []dagger.Platform{""}
	}
	variants := make([]*dagger.Container, len(platform))
	for i, p := range platform {
		var err error
		if variants[i], err = m.build(ctx, buildOptions{dockerfile, target, buildArg}, p); err != nil {
			return nil, nil, err
		}
	}
	// Build before logging in: a broken build never needs credentials.
	for i, v := range variants {
		var err error
		if variants[i], err = v.Sync(ctx); err != nil {
			return nil, nil, fmt.Errorf("building %s: %w", dockerfile, err)
		}
	}
	tarball := variants[0].AsTarball()
	if len(variants) > 1 {
		tarball = dag.Container().AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants})
	}
	return tarball, tag, nil
}

// push pushes an image tarball with the engine's publish: it logs in with
// ECR's token, which never leaves the engine's process, and pushes only
// the blobs the registry lacks.
func (m *EcsPipeline) push(ctx context.Context, repo ref.Repository, tags []string, tarball *dagger.File, createRepository, reproducible bool) (string, error) {
	ctr, args, err := m.awsEngine(ctx)
	if err != nil {
		return "", err
	}
	if repo.Region != "" {
		ctr = ctr.WithEnvVariable("AWS_REGION", repo.Region) // the repository's region wins
	}
	ctr, flags, err := m.withLayout(ctx, ctr, repo, tags, tarball, createRepository, reproducible)
	if err != nil {
		return "", err
	}
	r, err := run(ctx, ctr, append(append(args, "publish"), flags...)...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(r.Stdout), nil
}

// withLayout mounts the image tarball in ctr and binds the registry
// endpoint, and returns the flags of the engine's publish that push it.
func (m *EcsPipeline) withLayout(ctx context.Context, ctr *dagger.Container, repo ref.Repository, tags []string, tarball *dagger.File, createRepository, reproducible bool) (*dagger.Container, []string, error) {
	const layout = "/run/ecs-pipeline-image.tar"
	ctr, through, err := m.withRegistry(ctx, ctr)
	if err != nil {
		return nil, nil, err
	}
	return ctr.WithMountedFile(layout, tarball), publishFlags(layout, repo, tags, createRepository, reproducible, through), nil
}

// withRegistry binds the registry endpoint service to ctr, when there is
// one, and returns the URL every registry request goes to: --registry-url,
// the bound service, or "" for the repository's own registry.
func (m *EcsPipeline) withRegistry(ctx context.Context, ctr *dagger.Container) (*dagger.Container, string, error) {
	if m.RegistryEndpoint == nil {
		return ctr, m.RegistryURL, nil
	}
	ctr, through, err := bind(ctx, ctr, "registry-endpoint", m.RegistryEndpoint)
	if err != nil {
		return nil, "", fmt.Errorf("the registry endpoint service: %w", err)
	}
	return ctr, through, nil
}

// publishFlags are the flags of the engine's publish (and ship) that push
// the layout tarball at path: --layout, --repository, --tag...,
// --through.
func publishFlags(layout string, repo ref.Repository, tags []string, createRepository, reproducible bool, through string) []string {
	flags := []string{"--layout=" + layout, "--repository=" + repo.String()}
	for _, t := range tags {
		flags = append(flags, "--tag="+t)
	}
	if createRepository {
		flags = append(flags, "--create-repository")
	}
	if reproducible {
		flags = append(flags, "--reproducible")
	}
	if through != "" {
		flags = append(flags, "--through="+through)
	}
	return flags
}

// defaultTag is the source's git commit when it has a .git directory,
// otherwise a hash of its content.
func (m *EcsPipeline) defaultTag(ctx context.Context) (string, error) {
	commit, _ := ref.GitCommit(func(path string) ([]byte, error) {
		path = ".git/" + path
		if ok, err := m.Source.Exists(ctx, path, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType}); err != nil || !ok {
			return nil, fs.ErrNotExist
		}
		s, err := m.Source.File(path).Contents(ctx)
		return []byte(s), err
	})
	var digest string
	if commit == "" {
		var err error
		if digest, err = m.Source.WithoutDirectory(".git").Digest(ctx); err != nil {
			return "", fmt.Errorf("hashing the source: %w", err)
		}
	}
	return ref.DefaultTag(commit, digest), nil
}

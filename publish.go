package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
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
	// pushed from the module with go-containerregistry.
	// +optional
	reproducible bool,
) (string, error) {
	repo, err := pipeline.ParseRepository(repository)
	if err != nil {
		return "", err
	}
	if len(tag) == 0 {
		t, err := m.defaultTag(ctx)
		if err != nil {
			return "", err
		}
		tag = []string{t}
	}
	for _, t := range tag {
		if err := ref.ValidateTag(t); err != nil {
			return "", err
		}
	}
	if len(platform) == 0 {
		platform = []dagger.Platform{""}
	}
	variants := make([]*dagger.Container, len(platform))
	for i, p := range platform {
		if variants[i], err = m.build(ctx, buildOptions{dockerfile, target, buildArg}, p); err != nil {
			return "", err
		}
	}
	// Build before logging in: a broken build never needs credentials.
	for i, v := range variants {
		if variants[i], err = v.Sync(ctx); err != nil {
			return "", fmt.Errorf("building %s: %w", dockerfile, err)
		}
	}

	clients, err := m.aws(ctx, repo.Region)
	if err != nil {
		return "", err
	}
	api := clients.ECR
	if createRepository {
		if _, err := pipeline.EnsureRepository(ctx, api, repo); err != nil {
			return "", err
		}
	}
	creds, err := pipeline.ECRLogin(ctx, api)
	if err != nil {
		return "", err
	}
	through := m.RegistryURL
	if m.RegistryEndpoint != nil {
		if _, err := m.RegistryEndpoint.Start(ctx); err != nil {
			return "", fmt.Errorf("starting the registry endpoint service: %w", err)
		}
		if through, err = m.RegistryEndpoint.Endpoint(ctx, dagger.ServiceEndpointOpts{Scheme: "http"}); err != nil {
			return "", fmt.Errorf("resolving the registry endpoint service: %w", err)
		}
	}
	if through != "" || reproducible {
		return m.pushLayout(ctx, repo, tag, variants, creds, pipeline.PushOptions{Through: through, Canonical: reproducible})
	}
	password := dag.SetSecret("ecr-password-"+repo.Registry, creds.Password)

	var pinned string
	for _, t := range tag {
		addr := repo.String() + ":" + t
		ref, err := dag.Container().
			WithRegistryAuth(repo.Registry, creds.Username, password).
			Publish(ctx, addr, dagger.ContainerPublishOpts{PlatformVariants: variants})
		if err != nil {
			return "", pipeline.PushError(addr, err)
		}
		if pinned == "" {
			pinned = ref
		} else if digestOf(ref) != digestOf(pinned) {
			return "", fmt.Errorf("pushing %s: the registry reports %s, but the same image was pushed as %s", addr, ref, pinned)
		}
	}
	return pinned, nil
}

// digestOf returns the digest of a reference such as repo:tag@sha256:....
func digestOf(ref string) string {
	_, digest, _ := strings.Cut(ref, "@")
	return digest
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

// pushLayout pushes the image from the module's own code rather than the
// engine's: as an OCI layout tarball, with go-containerregistry. The
// engine cannot reach a registry that runs as a Dagger service, nor push
// plain http to one away from localhost.
func (m *EcsPipeline) pushLayout(ctx context.Context, repo pipeline.Repository, tags []string, variants []*dagger.Container, creds pipeline.RegistryCredentials, opts pipeline.PushOptions) (string, error) {
	tarball := variants[0].AsTarball()
	if len(variants) > 1 {
		tarball = dag.Container().AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants})
	}
	dir, err := os.MkdirTemp("", "publish-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "image.tar")
	if _, err := tarball.Export(ctx, path); err != nil {
		return "", fmt.Errorf("exporting the image: %w", err)
	}
	var pinned string
	for _, t := range tags {
		ref, err := pipeline.PushLayout(ctx, path, repo.String()+":"+t, creds, opts)
		if err != nil {
			return "", err
		}
		if pinned == "" {
			pinned = ref
		}
	}
	return pinned, nil
}

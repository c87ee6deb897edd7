package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// PublishCmd pushes an OCI layout tarball (as Dagger's asTarball writes
// it) to an ECR repository under each tag, as the module's pushLayout
// did: ECR login with GetAuthorizationToken (the password is never
// printed), the repository created when asked, and every tag must give
// the same digest. Prints repository:tag@sha256:digest for the first tag.
type PublishCmd struct {
	Layout           string   `required:"" help:"The OCI layout tarball to push." placeholder:"TARBALL"`
	Repository       string   `required:"" help:"The ECR repository, without tag: 123456789012.dkr.ecr.REGION.amazonaws.com/app." placeholder:"REPO"`
	Tag              []string `required:"" help:"A tag to push; repeat for several." placeholder:"TAG"`
	CreateRepository bool     `help:"Create the repository when it does not exist."`
	Through          string   `help:"Send every registry request to this base URL (a stand-in registry)." placeholder:"URL"`
	Reproducible     bool     `help:"Set every timestamp in the image to the Unix epoch, for the same digest anywhere."`
}

// publishResult is publish's --result.
type publishResult struct {
	Image string `json:"image"`
}

func (p *PublishCmd) Run(a *app) error {
	repo, err := p.check()
	if err != nil {
		return err
	}
	pinned, err := p.publish(a, repo)
	if err != nil {
		return err
	}
	if err := a.writeResult(publishResult{Image: pinned}); err != nil {
		return err
	}
	a.print(pinned + "\n")
	return nil
}

// check checks what needs no network, the repository and the tags, and
// returns the repository.
func (p *PublishCmd) check() (pipeline.Repository, error) {
	repo, err := pipeline.ParseRepository(p.Repository)
	if err != nil {
		return repo, err
	}
	for _, t := range p.Tag {
		if err := ref.ValidateTag(t); err != nil {
			return repo, err
		}
	}
	return repo, nil
}

// publish logs in to ECR (creating the repository when asked), pushes the
// layout under every tag, printing "pushed REF" for each on stderr, and
// returns the first tag's repo:tag@sha256:digest.
func (p *PublishCmd) publish(a *app, repo pipeline.Repository) (string, error) {
	opts := a.awsOptions()
	if opts.Region = repo.Region; opts.Region == "" {
		opts.Region = a.cli.Region
	}
	if opts.Region == "" {
		return "", errors.New("no AWS region: the repository names none; pass --region or set AWS_REGION")
	}
	clients, err := pipeline.NewAWS(a.ctx, opts)
	if err != nil {
		return "", err
	}
	if p.CreateRepository {
		if _, err := pipeline.EnsureRepository(a.ctx, clients.ECR, repo); err != nil {
			return "", err
		}
	}
	creds, err := pipeline.ECRLogin(a.ctx, clients.ECR)
	if err != nil {
		return "", err
	}
	push := pipeline.PushOptions{Through: p.Through, Canonical: p.Reproducible}
	var pinned string
	for _, t := range p.Tag {
		addr := repo.String() + ":" + t
		got, err := pipeline.PushLayout(a.ctx, p.Layout, addr, creds, push)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(a.stderr, "pushed %s\n", got)
		if pinned == "" {
			pinned = got
		} else if digestOf(got) != digestOf(pinned) {
			return "", fmt.Errorf("pushing %s: the registry reports %s, but the same image was pushed as %s", addr, got, pinned)
		}
	}
	return pinned, nil
}

// digestOf returns the digest of a reference such as repo:tag@sha256:....
func digestOf(ref string) string {
	_, digest, _ := strings.Cut(ref, "@")
	return digest
}

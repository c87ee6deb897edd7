package main

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ShipCmd is publish then deploy in one run, for the module's ship: it
// checks the deploy first (deploy's dry run, printing nothing: every
// config loaded, rendered and validated and every service read and
// checked, with a stand-in for the image in the repository), then pushes
// the OCI layout tarball as publish does (same flags), then deploys the pushed repo:tag@sha256:digest as deploy
// does (same flags): as the IMAGE variable, what --image sets, or with
// --publish-container NAME as that container's image, what
// --container-image NAME=REF sets. A bad config fails before anything is
// pushed; a failed push fails before anything changes in ECS.
//
// It prints what deploy prints, after "pushed REF" for each tag (as
// publish) and "published REF" on stderr. Its --result is deploy's with
// the published image as "image"; from the push until the deploy writes
// its own, --result holds publish's ({"image": REF}), so that a deploy
// that fails early still names what was pushed.
type ShipCmd struct {
	Publish          PublishCmd `embed:""`
	Deploy           DeployCmd  `embed:""`
	PublishContainer string     `help:"Set this container's image to the pushed one, as --container-image NAME=REF (and IMAGE too, unless --image sets it); without it the pushed image is the IMAGE variable, as --image." placeholder:"NAME"`
}

func (s *ShipCmd) Run(a *app) error {
	d := &s.Deploy
	switch {
	case d.DryRun:
		return errors.New("ship --dry-run: ship pushes the image; check first with deploy --dry-run and a stand-in --image")
	case d.SkipTaskDefinition || d.LatestTaskDefinition || d.Revision != 0:
		return errors.New("ship registers a task definition with the image it pushes: --skip-task-definition, --latest-task-definition and --revision deploy none")
	case s.PublishContainer == "" && a.cli.Image != "":
		return errors.New("ship: --image is the image ship pushes; to push one container's image and keep --image for the others, pass --publish-container NAME")
	}
	if s.PublishContainer != "" {
		overrides, err := keyValues("--container-image", a.cli.ContainerImage)
		if err != nil {
			return err
		}
		if _, set := overrides[s.PublishContainer]; set {
			return fmt.Errorf("ship: --container-image sets container %q, which --publish-container gives the pushed image", s.PublishContainer)
		}
	}
	repo, err := s.Publish.check()
	if err != nil {
		return err
	}
	base, given := a.cli.ContainerImage, a.cli.Image
	use := func(image string) {
		a.cli.Image = cmp.Or(given, image)
		if s.PublishContainer != "" {
			a.cli.ContainerImage = append(slices.Clone(base), s.PublishContainer+"="+image)
		}
	}

	// The deploy's dry run, with a digest-pinned stand-in for the image.
	use(repo.String() + "@sha256:" + strings.Repeat("0", 64))
	if err := d.preflight(a); err != nil {
		return err
	}

	pinned, err := s.Publish.publish(a, repo)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "published %s\n", pinned)
	if err := a.writeResult(publishResult{Image: pinned}); err != nil {
		return err
	}

	use(pinned)
	return d.run(a, pinned)
}

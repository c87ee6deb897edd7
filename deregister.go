package main

import (
	"context"
	"slices"
	"strconv"
)

// Deregister revisions of the task definition family that nothing uses:
// one (--revision), or all but the newest few (--keeps), as ecspresso's
// deregister. A revision in use is never deregistered. It changes ECS
// only with --force (there is no terminal to confirm at).
// +cache="never"
func (s *EcsService) Deregister(
	ctx context.Context,
	// Keep this many of the newest revisions not in use; deregister the
	// older ones.
	// +optional
	keeps int,
	// The revision to deregister: a number or latest.
	// +optional
	revision string,
	// Delete the deregistered revisions too.
	// +optional
	delete bool,
	// Say what would be deregistered, changing nothing.
	// +optional
	dryRun bool,
	// Deregister: without it only a dry run is allowed.
	// +optional
	force bool,
) (string, error) {
	command := []string{"deregister"}
	if keeps > 0 {
		command = append(command, "--keeps="+strconv.Itoa(keeps))
	}
	if revision != "" {
		command = append(command, "--revision="+revision)
	}
	return s.output(ctx, slices.Concat(command, flagIf(delete, "--delete"), flagIf(dryRun, "--dry-run"), flagIf(force, "--force"))...)
}

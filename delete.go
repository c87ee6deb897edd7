package main

import (
	"context"
	"slices"
)

// Delete the service, as ecspresso's delete. A service still running
// tasks is refused unless --terminate stops them with it; it changes ECS
// only with --force (there is no terminal to confirm at).
// +cache="never"
func (s *EcsService) Delete(
	ctx context.Context,
	// Read the service and say what would be deleted, changing nothing.
	// +optional
	dryRun bool,
	// Delete: without it only a dry run is allowed.
	// +optional
	force bool,
	// Stop the service's tasks with it.
	// +optional
	terminate bool,
) (string, error) {
	return s.output(ctx, slices.Concat([]string{"delete"}, flagIf(dryRun, "--dry-run"), flagIf(force, "--force"), flagIf(terminate, "--terminate"))...)
}

package main

import "context"

// Refresh replaces every task of the service: a new deployment of the
// revision it runs, registering nothing, as ecspresso's refresh.
// +cache="never"
func (s *EcsService) Refresh(
	ctx context.Context,
	// Show what would be updated, changing nothing.
	// +optional
	dryRun bool,
	// Return once the new deployment started.
	// +optional
	noWait bool,
	// How long to wait, such as 15m; the config's timeout when empty.
	// +optional
	timeout string,
) (string, error) {
	if err := checkTimeout(timeout); err != nil {
		return "", err
	}
	return s.output(ctx, append([]string{"refresh"}, changeFlags(dryRun, noWait, timeout)...)...)
}

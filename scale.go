package main

import (
	"context"
	"strconv"
)

// Scale sets the service's desired count and waits until it runs that
// many tasks: a deploy that registers nothing and leaves the service
// definition alone, as ecspresso's scale.
// +cache="never"
func (s *EcsService) Scale(
	ctx context.Context,
	// The desired count of tasks.
	tasks int,
	// Show what would be updated, changing nothing.
	// +optional
	dryRun bool,
	// Return once the service is updated.
	// +optional
	noWait bool,
	// How long to wait, such as 15m; the config's timeout when empty.
	// +optional
	timeout string,
) (string, error) {
	if err := checkTimeout(timeout); err != nil {
		return "", err
	}
	command := []string{"scale", "--tasks=" + strconv.Itoa(tasks)}
	return s.output(ctx, append(command, changeFlags(dryRun, noWait, timeout)...)...)
}

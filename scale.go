package main

import (
	"context"
	"slices"
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

// changeFlags are the CLI flags of a change the caller may dry-run, not
// wait for, or bound.
func changeFlags(dryRun, noWait bool, timeout string) []string {
	return slices.Concat(flagIf(dryRun, "--dry-run"), flagIf(noWait, "--no-wait"), flagIf(timeout != "", "--timeout="+timeout))
}

// flagIf is flag when set, else nothing.
func flagIf(set bool, flag string) []string {
	if set {
		return []string{flag}
	}
	return nil
}

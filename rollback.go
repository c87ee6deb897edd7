package main

import "context"

// Rollback the service: stop a deployment in progress with ECS's own
// rollback, or return the service to the revision before the one it runs;
// then wait for the rollback to complete and deregister the revision
// rolled back from, as ecspresso v2 does.
// +cache="never"
func (s *EcsService) Rollback(
	ctx context.Context,
	// Deregister the revision rolled back from once the rollback succeeded,
	// as ecspresso v2 does by default; --deregister=false keeps it (and is
	// needed with --no-wait).
	// +default=true
	deregister bool,
	// Show what would be done, changing nothing.
	// +optional
	dryRun bool,
	// Return once the rollback is started.
	// +optional
	noWait bool,
	// How long to wait, such as 15m; the config's timeout when empty.
	// +optional
	timeout string,
) (string, error) {
	if err := checkTimeout(timeout); err != nil {
		return "", err
	}
	command := []string{"rollback"}
	if !deregister {
		command = append(command, "--no-deregister-task-definition")
	}
	return s.output(ctx, append(command, changeFlags(dryRun, noWait, timeout)...)...)
}

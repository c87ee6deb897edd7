package main

import "context"

// Wait for the service's current deployment to end, as ecspresso's wait:
// after a deploy --no-wait, or one started elsewhere. It shows the
// service's events while it waits, and fails, saying why, when the
// deployment failed or was rolled back.
// +cache="never"
func (s *EcsService) Wait(
	ctx context.Context,
	// When to stop waiting: stable (the deployment ended and the service
	// runs its desired count), deployed (the deployment ended), or paused
	// (a PAUSE lifecycle hook of a blue/green, linear or canary deployment
	// awaits action).
	// +default="stable"
	waitUntil string,
	// How long to wait, such as 15m; the config's timeout when empty.
	// +optional
	timeout string,
) (string, error) {
	if err := checkTimeout(timeout); err != nil {
		return "", err
	}
	return s.output(ctx, append([]string{"wait", "--wait-until=" + waitUntil}, flagIf(timeout != "", "--timeout="+timeout)...)...)
}

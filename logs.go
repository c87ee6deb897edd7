package main

import (
	"context"
	"fmt"
	"time"
)

// Logs of the service's containers (those logging with awslogs and a
// stream prefix) over a recent window, oldest first, one line each:
// time, container/task and message. With --follow, new lines are also
// printed as they come, until --timeout.
// +cache="never"
func (s *EcsService) Logs(
	ctx context.Context,
	// How far back to start, such as 10m or 2h.
	// +default="10m"
	since string,
	// Keep reading new lines until --timeout.
	// +optional
	follow bool,
	// How long to follow, such as 5m; 10m when empty.
	// +optional
	timeout string,
) (string, error) {
	if window, err := time.ParseDuration(since); err != nil || window <= 0 {
		return "", fmt.Errorf("--since %q: want a duration such as 10m", since)
	}
	if err := checkTimeout(timeout); err != nil {
		return "", err
	}
	command := []string{"logs", "--since=" + since}
	if follow {
		command = append(command, "--follow")
	}
	if timeout != "" {
		command = append(command, "--timeout="+timeout)
	}
	return s.output(ctx, command...)
}

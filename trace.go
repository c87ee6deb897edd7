package main

import (
	"context"
	"strconv"
)

// Trace one task: its lifecycle in time order (created, image pulled,
// started, stopping, stopped), the service events that name it, its
// containers' exit codes and reasons, and their last log lines from
// CloudWatch Logs (awslogs), as `ecspresso tasks --trace` does.
// +cache="never"
func (s *EcsService) Trace(
	ctx context.Context,
	// The task id or ARN; the service's most recently stopped task when
	// empty.
	// +optional
	task string,
	// How many of each container's last log lines to show; 0 shows none.
	// +default=100
	logLines int,
	// Output format: text, or markdown for a CI job summary.
	// +default="text"
	format string,
) (string, error) {
	if err := checkFormat(format); err != nil {
		return "", err
	}
	command := []string{"tasks", "--trace", "--log-lines=" + strconv.Itoa(max(logLines, 0)), "--format=" + format}
	if task != "" {
		command = append(command, "--id="+task)
	}
	return s.output(ctx, command...)
}

package main

import (
	"context"
	"fmt"
)

// Tasks of the service and the one-off tasks of its family (run's,
// migrations), newest first: the running ones and those stopped
// within about the last hour (ECS forgets older ones), with their
// revision, status, start and stop times, stop code and reason, and their
// containers' exit codes and reasons.
// +cache="never"
func (s *EcsService) Tasks(
	ctx context.Context,
	// List only stopped tasks.
	// +optional
	stopped bool,
	// List only the tasks this deployment started, such as
	// ecs-svc/1234567890123456789 (see status, or a failed deploy's error).
	// +optional
	deployment string,
	// Output format: text, or markdown for a CI job summary.
	// +default="text"
	format string,
) (string, error) {
	if err := checkFormat(format); err != nil {
		return "", err
	}
	command := []string{"tasks", "--format=" + format}
	if stopped {
		command = append(command, "--stopped")
	}
	if deployment != "" {
		command = append(command, "--deployment="+deployment)
	}
	return s.output(ctx, command...)
}

// checkFormat accepts the output formats of the reading functions.
func checkFormat(format string) error {
	if format != "text" && format != "markdown" {
		return fmt.Errorf("--format %q: want text or markdown", format)
	}
	return nil
}

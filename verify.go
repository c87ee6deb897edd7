package main

import "context"

// Verify that what the definitions refer to exists, changing nothing:
// images in ECR (by digest), the task and execution roles and their trust
// of ecs-tasks.amazonaws.com, log groups, secrets and SSM parameters, the
// cluster, the service and its target groups. Prints one line per check;
// fails when a check fails.
// +cache="never"
func (s *EcsService) Verify(
	ctx context.Context,
	// Output format: text, or markdown for a CI job summary.
	// +default="text"
	format string,
	// Print the report without failing when a check fails.
	// +optional
	allowFailures bool,
) (string, error) {
	if err := checkFormat(format); err != nil {
		return "", err
	}
	command := []string{"verify", "--format=" + format}
	if allowFailures {
		command = append(command, "--allow-failures")
	}
	return s.output(ctx, command...)
}

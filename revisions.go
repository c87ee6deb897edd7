package main

import "context"

// Revisions of the task definition family and what uses each (a task
// not stopped, a deployment), as ecspresso's revisions; with --revision,
// that one revision as the ECS API's JSON.
// +cache="never"
func (s *EcsService) Revisions(
	ctx context.Context,
	// The revision to print: a number, current (the service's) or latest.
	// +optional
	revision string,
	// How to list them: table, tsv or json (ecspresso's --output; the
	// dagger command line has its own --output).
	// +default="table"
	format string,
) (string, error) {
	command := []string{"revisions", "--output=" + format}
	if revision != "" {
		command = append(command, "--revision="+revision)
	}
	return s.output(ctx, command...)
}

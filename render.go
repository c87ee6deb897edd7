package main

import (
	"context"
	"fmt"
)

// Render the task definition as a deploy would register it (keys sorted,
// nulls and empty lists dropped), or the service definition with
// serviceName set to the config's service, as ecspresso renders it.
// Nothing in AWS changes; lookups (ssm, secretsmanager_arn, s3:// tfstate)
// read it.
// +cache="never"
func (s *EcsService) Render(
	ctx context.Context,
	// What to render: task-definition or service-definition.
	// +default="task-definition"
	what string,
) (string, error) {
	var target string
	switch what {
	case "task-definition":
		target = "taskdef"
	case "service-definition":
		target = "servicedef"
	default:
		return "", fmt.Errorf("--what %q: want task-definition or service-definition", what)
	}
	return s.output(ctx, "render", target)
}

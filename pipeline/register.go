package pipeline

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// RegisterOptions configures Register.
type RegisterOptions struct {
	// ImageOverrides are set in the rendered task definition, as in Deploy.
	ImageOverrides map[string]string
	// DryRun registers nothing and returns the input it would register.
	DryRun bool
}

// RegisterResult is what Register registered.
type RegisterResult struct {
	// TaskDefinitionArn is the new revision's ARN, empty in a dry run.
	TaskDefinitionArn string
	// TaskDefinition is the new revision as family:revision.
	TaskDefinition string
	// Plan is, in a dry run, the RegisterTaskDefinition input as JSON.
	Plan string
	// JSON is the registered revision as the ECS API's JSON, as
	// ecspresso's register --output prints it.
	JSON string
}

// Register renders, checks and registers the config's task definition as
// a new revision, as `ecspresso register` does, changing no service.
func Register(ctx context.Context, api RegisterAPI, cfg *Config, opts RegisterOptions) (*RegisterResult, error) {
	defs, err := cfg.definitions(ctx, renderTask, RenderOptions{ImageOverrides: opts.ImageOverrides})
	if err != nil {
		return nil, fmt.Errorf("registering: %w", err)
	}
	td := defs.task
	if opts.DryRun {
		plan, err := indentedJSON(td)
		if err != nil {
			return nil, err
		}
		return &RegisterResult{Plan: plan + "\n"}, nil
	}
	out, err := api.RegisterTaskDefinition(ctx, td)
	if err != nil {
		return nil, fmt.Errorf("registering task definition %q: %w", aws.ToString(td.Family), err)
	}
	arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	js, err := indentedJSON(out.TaskDefinition)
	if err != nil {
		return nil, err
	}
	return &RegisterResult{TaskDefinitionArn: arn, TaskDefinition: shortTaskDefinition(arn), JSON: js + "\n"}, nil
}

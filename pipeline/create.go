package pipeline

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// CreateAPI is what Create calls.
type CreateAPI interface {
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	CreateService(ctx context.Context, in *ecs.CreateServiceInput, optFns ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error)
}

// CreateOptions configures Create.
type CreateOptions struct {
	// ImageOverrides maps container names to images set in the rendered
	// task definition, as in DeployOptions.
	ImageOverrides map[string]string
	// DesiredCount, when set, overrides the service definition's desired
	// count; with neither, the service starts with 1 task.
	DesiredCount *int32
}

// CreateResult names what Create made.
type CreateResult struct {
	TaskDefinitionArn string
	// TaskDefinition is the registered revision as family:revision.
	TaskDefinition string
	ServiceArn     string
}

// Create makes the config's service, as ecspresso create does: it renders
// and validates both definitions, registers the task definition, and
// creates the service in the config's cluster (which must exist) with it.
// It does not wait for the service's tasks.
func Create(ctx context.Context, api CreateAPI, cfg *Config, opts CreateOptions) (*CreateResult, error) {
	if cfg.Service == "" {
		return nil, fmt.Errorf("creating: %s sets no service", cfg.Path)
	}
	if cfg.ServiceDefinition == "" {
		return nil, fmt.Errorf("creating: %s sets no service_definition", cfg.Path)
	}
	td, _, err := cfg.taskDefinitionInput(ctx, opts.ImageOverrides)
	if err != nil {
		return nil, fmt.Errorf("creating: %w", err)
	}
	sd, _, err := cfg.serviceDefinitionInput(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating: %w", err)
	}

	reg, err := api.RegisterTaskDefinition(ctx, td)
	if err != nil {
		return nil, fmt.Errorf("registering task definition %q: %w", aws.ToString(td.Family), err)
	}
	arn := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	res := &CreateResult{TaskDefinitionArn: arn, TaskDefinition: shortTaskDefinition(arn)}
	sd.Cluster = aws.String(cfg.Cluster)
	sd.ServiceName = aws.String(cfg.Service)
	sd.TaskDefinition = aws.String(res.TaskDefinitionArn)
	if opts.DesiredCount != nil {
		sd.DesiredCount = opts.DesiredCount
	}
	if sd.DesiredCount == nil {
		sd.DesiredCount = aws.Int32(1)
	}
	out, err := api.CreateService(ctx, sd)
	if err != nil {
		return nil, fmt.Errorf("creating service %s in cluster %s: %w", cfg.Service, cfg.Cluster, err)
	}
	res.ServiceArn = aws.ToString(out.Service.ServiceArn)
	return res, nil
}

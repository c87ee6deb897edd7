package pipeline

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// CreateOptions configures Create.
type CreateOptions struct {
	// ImageOverrides maps container names to images set in the rendered
	// task definition, as in DeployOptions.
	ImageOverrides map[string]string
	// DesiredCount, when set, overrides the service definition's desired
	// count; with neither, a REPLICA service starts with 1 task. A DAEMON
	// service takes none.
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
// It does not wait for the service's tasks. Deploy creates a missing
// service the same way.
func Create(ctx context.Context, api CreateAPI, cfg *Config, opts CreateOptions) (*CreateResult, error) {
	if cfg.Service == "" {
		return nil, fmt.Errorf("creating: %s sets no service", cfg.Path)
	}
	if cfg.ServiceDefinition == "" {
		return nil, fmt.Errorf("creating: %s sets no service_definition", cfg.Path)
	}
	defs, err := cfg.definitions(ctx, renderTask|renderService, RenderOptions{ImageOverrides: opts.ImageOverrides})
	if err != nil {
		return nil, fmt.Errorf("creating: %w", err)
	}
	in, err := createServiceInput(cfg, defs.service, opts.DesiredCount)
	if err != nil {
		return nil, fmt.Errorf("creating: %w", err)
	}
	res, _, err := create(ctx, api, defs.task, in)
	return res, err
}

// createServiceInput completes the rendered service definition for
// CreateService: the config's cluster and service, and the desired count
// by desiredCount's rules, 1 for a REPLICA service when neither asked nor
// written (ECS requires one).
func createServiceInput(cfg *Config, sd *ecs.CreateServiceInput, asked *int32) (*ecs.CreateServiceInput, error) {
	in := *sd
	in.Cluster = aws.String(cfg.Cluster)
	in.ServiceName = aws.String(cfg.Service)
	count, err := desiredCount(in.SchedulingStrategy, &in, asked)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", cfg.Service, err)
	}
	if count == nil && in.SchedulingStrategy != types.SchedulingStrategyDaemon {
		count = aws.Int32(1)
	}
	in.DesiredCount = count
	return &in, nil
}

// create registers td and creates the service in with it, returning the
// created service as CreateService answered.
func create(ctx context.Context, api CreateAPI, td *ecs.RegisterTaskDefinitionInput, in *ecs.CreateServiceInput) (*CreateResult, *types.Service, error) {
	reg, err := api.RegisterTaskDefinition(ctx, td)
	if err != nil {
		return nil, nil, fmt.Errorf("registering task definition %q: %w", aws.ToString(td.Family), err)
	}
	arn := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	res := &CreateResult{TaskDefinitionArn: arn, TaskDefinition: shortTaskDefinition(arn)}
	in.TaskDefinition = aws.String(arn)
	out, err := api.CreateService(ctx, in)
	if err != nil {
		return nil, nil, fmt.Errorf("creating service %s in cluster %s: %w", aws.ToString(in.ServiceName), aws.ToString(in.Cluster), err)
	}
	res.ServiceArn = aws.ToString(out.Service.ServiceArn)
	return res, out.Service, nil
}

package pipeline

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// DeleteOptions configures DeleteService, ecspresso's delete
// (kayac/ecspresso delete.go: --dry-run, --force, --terminate).
type DeleteOptions struct {
	// Terminate deletes a service still scaled above 0, stopping its tasks
	// (DeleteService's force, ecspresso's --terminate). Without it ECS
	// refuses such a service: scale it to 0 first.
	Terminate bool
	// DryRun reads the service and changes nothing.
	DryRun bool
	// Confirm, when set, is asked before the service is deleted; false
	// aborts (ErrAborted). ecspresso asks for the service's name unless
	// --force.
	Confirm func(service string) bool
}

// DeleteResult is what DeleteService did.
type DeleteResult struct {
	Cluster, Service string
	// DesiredCount and RunningCount are the service's before the delete.
	DesiredCount, RunningCount int32
	// Status is the service's status after the delete (DRAINING), empty
	// for a dry run.
	Status string
	// Refusal, for a dry run, is why the delete would be refused as asked
	// (a service above 0 without Terminate); empty when it would go ahead.
	Refusal string
}

// DeleteService deletes the config's service.
func DeleteService(ctx context.Context, api DeleteAPI, cfg *Config, opts DeleteOptions) (*DeleteResult, error) {
	if cfg.Service == "" {
		return nil, fmt.Errorf("delete: %s names no service", cfg.relative(cfg.Path))
	}
	svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
	if err != nil {
		return nil, err
	}
	res := &DeleteResult{Cluster: cfg.Cluster, Service: cfg.Service, DesiredCount: svc.DesiredCount, RunningCount: svc.RunningCount}
	if svc.DesiredCount > 0 && !opts.Terminate {
		res.Refusal = fmt.Sprintf("service %q in cluster %q runs %d tasks (desired %d): scale it to 0 first (scale --tasks 0), or delete with --terminate to stop them",
			cfg.Service, cfg.Cluster, svc.RunningCount, svc.DesiredCount)
		if !opts.DryRun {
			return nil, fmt.Errorf("%s", res.Refusal)
		}
	}
	if opts.DryRun {
		return res, nil
	}
	if opts.Confirm != nil && !opts.Confirm(cfg.Service) {
		return nil, ErrAborted
	}
	out, err := api.DeleteService(ctx, &ecs.DeleteServiceInput{
		Cluster: aws.String(cfg.Cluster), Service: aws.String(cfg.Service), Force: aws.Bool(opts.Terminate),
	})
	if err != nil {
		return nil, fmt.Errorf("deleting service %q: %w", cfg.Service, err)
	}
	res.Status = aws.ToString(out.Service.Status)
	return res, nil
}

// String says what DeleteService did, or with dry what it would do.
func (r *DeleteResult) String(dry bool) string {
	if dry && r.Refusal != "" {
		return "would not delete: " + r.Refusal + "\n"
	}
	if dry {
		return fmt.Sprintf("would delete service %q in cluster %q (desired %d, running %d)\n", r.Service, r.Cluster, r.DesiredCount, r.RunningCount)
	}
	return fmt.Sprintf("deleted service %q in cluster %q (now %s)\n", r.Service, r.Cluster, r.Status)
}

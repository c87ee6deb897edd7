package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RollbackOptions configures Rollback. The zero value rolls back, waits,
// and deregisters the revision rolled back from, as ecspresso v2 does
// (rollback.go: --deregister-task-definition defaults to true; see its
// docs/v1-v2.md).
type RollbackOptions struct {
	// NoDeregisterTaskDefinition keeps the revision rolled back from
	// registered (ecspresso's --no-deregister-task-definition). Without it,
	// that revision is deregistered once the rollback succeeded, and
	// NoWait is refused: a revision may not be deregistered before the
	// rollback away from it is known to have worked.
	NoDeregisterTaskDefinition bool
	// DryRun says what would be done (RollbackResult.Plan) without doing it.
	DryRun bool
	// NoWait returns once the rollback is started.
	NoWait bool
	// Wait configures waiting for the rollback deployment.
	Wait WaitOptions
}

// RollbackMethod says how a rollback was made.
type RollbackMethod string

const (
	// RollbackStopDeployment: a deployment was in progress and was stopped
	// with StopServiceDeployment (stop type ROLLBACK); ECS rolls back.
	RollbackStopDeployment RollbackMethod = "StopServiceDeployment"
	// RollbackUpdateService: the service was updated to the ACTIVE revision
	// of the family before the one it ran.
	RollbackUpdateService RollbackMethod = "UpdateService"
)

// RollbackResult is what Rollback did.
type RollbackResult struct {
	Cluster string
	Service string
	// Method is how the rollback was made.
	Method RollbackMethod
	// From is the task definition ARN rolled back from, To the one rolled
	// back to.
	From string
	To   string
	// StoppedServiceDeploymentArn is the service deployment stopped, for
	// RollbackStopDeployment.
	StoppedServiceDeploymentArn string
	// DeploymentID is the deployment that rolls back, when known.
	DeploymentID string
	// Deregistered is true when From was deregistered.
	Deregistered bool
	// Outcome is how the rollback ended.
	Outcome Outcome
	// Plan describes, in a dry run, what would be done.
	Plan string
	// Wait is the waiting result, nil when not waited.
	Wait *WaitResult
}

// Rollback rolls the config's service back. While a deployment is in
// progress it stops that deployment with StopServiceDeployment (stop type
// ROLLBACK), so ECS returns to the last completed revision; otherwise it
// updates the service to the ACTIVE revision of its family before the one
// it runs. Then it waits for the rollback deployment and, unless
// opts.NoDeregisterTaskDefinition, deregisters the revision rolled back
// from.
//
// Transient errors (throttling, 5xx, broken connections) are handled as
// Deploy handles them: reads are retried with backoff on opts.Wait.Clock;
// a mutating call is repeated only when throttled or when reads show it
// was not applied, and an UpdateService whose answer was lost is never
// repeated.
func Rollback(ctx context.Context, api RollbackAPI, cfg *Config, opts RollbackOptions) (*RollbackResult, error) {
	if opts.NoWait && !opts.NoDeregisterTaskDefinition {
		// As ecspresso's rollback.go refuses --no-wait with deregistering.
		return nil, fmt.Errorf("rolling back: deregistering the rolled-back revision needs waiting for the rollback; with NoWait set NoDeregisterTaskDefinition too")
	}
	if t, err := parseUntil(opts.Wait.Until); err != nil || t.lifecycle() {
		return nil, fmt.Errorf("rolling back: a rollback is followed to its end; wait until (--wait-until) %q is for deploys", opts.Wait.Until)
	}
	clock := opts.Wait.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	readable := transientIn(ctx)
	svc, err := retrying(ctx, clock, readable, func() (*types.Service, error) {
		return describeService(ctx, api, cfg.Cluster, cfg.Service)
	})
	if err != nil {
		return nil, fmt.Errorf("rolling back: %w", err)
	}
	res := &RollbackResult{Cluster: cfg.Cluster, Service: cfg.Service, From: aws.ToString(svc.TaskDefinition)}
	primary := primaryDeployment(svc)
	var sdArn string
	if primary != nil && primary.RolloutState == types.DeploymentRolloutStateInProgress {
		// Unreadable is not "none": that would pick the other method.
		if sdArn, err = retrying(ctx, clock, readable, func() (string, error) {
			return inProgressServiceDeployment(ctx, api, cfg, svc)
		}); err != nil {
			return nil, fmt.Errorf("rolling back: %w", err)
		}
	}
	if sdArn != "" {
		res.Method = RollbackStopDeployment
		res.StoppedServiceDeploymentArn = sdArn
		res.From = aws.ToString(primary.TaskDefinition)
		for _, d := range svc.Deployments {
			if aws.ToString(d.Status) == "ACTIVE" {
				res.To = aws.ToString(d.TaskDefinition) // ECS picks the last completed one; this is our best guess
			}
		}
	} else {
		res.Method = RollbackUpdateService
		if res.To, err = previousRevision(ctx, patientRegistrar{api, clock}, res.From); err != nil {
			return nil, fmt.Errorf("rolling back: %w", err)
		}
	}

	if opts.DryRun {
		res.Outcome = OutcomeDryRun
		res.Plan = rollbackPlan(res, opts)
		return res, nil
	}

	var dep *types.Deployment
	var newSD string
	if res.Method == RollbackStopDeployment {
		if err := stopServiceDeployment(ctx, api, clock, sdArn); err != nil {
			return res, fmt.Errorf("stopping service deployment %s: %w", sdArn, err)
		}
		if nativeStrategy(serviceStrategy(svc)) {
			// ECS shifts traffic back to the source revision, which still
			// runs; the stopped service deployment's ROLLBACK_SUCCESSFUL
			// is the outcome, and its deployment's tasks the reasons.
			dep = primary
		} else if dep, err = rollbackDeployment(ctx, api, cfg, opts.Wait.Clock, aws.ToString(primary.Id)); err != nil {
			return res, fmt.Errorf("rolling back: %w", err)
		}
		if dep != nil && dep != primary {
			res.To = aws.ToString(dep.TaskDefinition)
		}
		newSD = sdArn // the rollback's outcome is the stopped one's ROLLBACK_SUCCESSFUL
	} else {
		out, err := retrying(ctx, clock, isThrottle, func() (*ecs.UpdateServiceOutput, error) {
			return api.UpdateService(ctx, &ecs.UpdateServiceInput{
				Cluster:        aws.String(cfg.Cluster),
				Service:        aws.String(cfg.Service),
				TaskDefinition: aws.String(res.To),
			}, retryOnlyThrottling)
		})
		var updated *types.Service
		if err == nil {
			updated = out.Service
		} else if updated, err = updateApplied(ctx, api, clock, cfg, svc, res.To, err); err != nil {
			return res, fmt.Errorf("updating service %q to %s: %w", cfg.Service, shortTaskDefinition(res.To), err)
		}
		dep = primaryDeployment(updated)
		newSD = aws.ToString(updated.CurrentServiceDeployment)
	}
	if dep != nil {
		res.DeploymentID = aws.ToString(dep.Id)
	}

	res.Outcome = OutcomeStarted
	if !opts.NoWait {
		if dep == nil {
			return res, fmt.Errorf("rolling back: service %q shows no rollback deployment after stopping %s", cfg.Service, sdArn)
		}
		wr, err := followServiceDeployment(ctx, api, cfg, opts.Wait, serviceStrategy(svc), *dep, newSD, res.Method == RollbackStopDeployment)
		if wr != nil {
			res.Wait, res.Outcome = wr, wr.Outcome
		}
		if err != nil {
			return res, fmt.Errorf("rolling back to %s: %w", shortTaskDefinition(res.To), err)
		}
	}
	if !opts.NoDeregisterTaskDefinition {
		if err := deregisterTaskDefinition(ctx, api, clock, res.From); err != nil {
			return res, fmt.Errorf("deregistering task definition %s: %w", shortTaskDefinition(res.From), err)
		}
		res.Deregistered = true
	}
	return res, nil
}

// rollbackDeployment returns the PRIMARY deployment that replaced the
// stopped one, polling for a few seconds while ECS starts it; nil if none
// appeared.
func rollbackDeployment(ctx context.Context, api ServiceDescriber, cfg *Config, clock Clock, stopped string) (*types.Deployment, error) {
	if clock == nil {
		clock = SystemClock{}
	}
	for range 10 {
		svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
		if err != nil && !transient(ctx, err) {
			return nil, err
		}
		if err == nil {
			if dep := primaryDeployment(svc); dep != nil && aws.ToString(dep.Id) != stopped {
				return dep, nil
			}
		}
		if err := clock.Sleep(ctx, pollFast); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// inProgressServiceDeployment returns the ARN of the service's service
// deployment in progress, or "" when there is none.
func inProgressServiceDeployment(ctx context.Context, api ServiceDeploymentReader, cfg *Config, svc *types.Service) (string, error) {
	out, err := api.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(cfg.Cluster),
		Service: aws.String(cfg.Service),
		Status:  []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress},
	})
	if err != nil {
		return "", fmt.Errorf("listing service deployments in progress: %w", err)
	}
	if len(out.ServiceDeployments) == 0 {
		return "", nil
	}
	return aws.ToString(out.ServiceDeployments[0].ServiceDeploymentArn), nil // newest first
}

// maxStopAttempts bounds how often a StopServiceDeployment shown not to
// have been applied is made again.
const maxStopAttempts = 3

// stopServiceDeployment stops sdArn with stop type ROLLBACK. A throttled
// call is retried; one whose answer was lost (5xx, broken connection) is
// made again only when the service deployment, read for updateSettle, is
// still in progress: then it was not applied.
func stopServiceDeployment(ctx context.Context, api RollbackAPI, clock Clock, sdArn string) error {
	for n := 1; ; n++ {
		_, err := retrying(ctx, clock, isThrottle, func() (*ecs.StopServiceDeploymentOutput, error) {
			return api.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
				ServiceDeploymentArn: aws.String(sdArn),
				StopType:             types.StopServiceDeploymentStopTypeRollback,
			}, retryOnlyThrottling)
		})
		if err == nil || isThrottle(err) || !transient(ctx, err) {
			return err
		}
		stopped, verr := stopApplied(ctx, api, clock, sdArn)
		switch {
		case verr != nil:
			return fmt.Errorf("%w; whether it was applied is unknown (%w), so it was not retried", err, verr)
		case stopped:
			return nil
		case n == maxStopAttempts:
			return fmt.Errorf("%w; the service deployment is still in progress, so it was not applied", err)
		}
	}
}

// stopApplied reads the service deployment for up to updateSettle (reads
// are eventually consistent) and reports whether it has left PENDING and
// IN_PROGRESS, which a stop makes it do.
func stopApplied(ctx context.Context, api ServiceDeploymentReader, clock Clock, sdArn string) (bool, error) {
	giveUp := clock.Now().Add(updateSettle)
	for {
		out, err := retrying(ctx, clock, transientIn(ctx), func() (*ecs.DescribeServiceDeploymentsOutput, error) {
			return api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{sdArn}})
		})
		if err != nil {
			return false, fmt.Errorf("describing service deployment: %w", err)
		}
		if len(out.ServiceDeployments) == 1 {
			switch out.ServiceDeployments[0].Status {
			case types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress:
			default:
				return true, nil
			}
		}
		if !clock.Now().Before(giveUp) {
			return false, nil
		}
		if err := clock.Sleep(ctx, pollFast); err != nil {
			return false, err
		}
	}
}

// taskDefinitionDeregisterer is what deregisterTaskDefinition calls.
type taskDefinitionDeregisterer interface {
	TaskDefinitionDescriber
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
}

// deregisterTaskDefinition deregisters arn. Deregistering is idempotent,
// so transient errors are retried; a revision already INACTIVE (an earlier
// attempt applied, its answer lost) counts as done. Rollback and
// Deregister use it.
func deregisterTaskDefinition(ctx context.Context, api taskDefinitionDeregisterer, clock Clock, arn string) error {
	_, err := retrying(ctx, clock, transientIn(ctx), func() (*ecs.DeregisterTaskDefinitionOutput, error) {
		out, err := api.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}, retryOnlyThrottling)
		if err != nil && !transient(ctx, err) {
			if d, derr := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)}); derr == nil && d.TaskDefinition.Status == types.TaskDefinitionStatusInactive {
				return out, nil
			}
		}
		return out, err
	})
	return err
}

// previousRevision returns the ARN of the newest ACTIVE revision of
// current's family older than current.
func previousRevision(ctx context.Context, api TaskDefinitionRegistrar, current string) (string, error) {
	family, rev, ok := strings.Cut(shortTaskDefinition(current), ":")
	n, err := strconv.Atoi(rev)
	if !ok || err != nil {
		return "", fmt.Errorf("reading the revision of task definition %q", current)
	}
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family),
		Status:       types.TaskDefinitionStatusActive,
		Sort:         types.SortOrderDesc,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("listing task definitions of %q: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			f, r, _ := strings.Cut(shortTaskDefinition(arn), ":")
			if m, err := strconv.Atoi(r); err == nil && f == family && m < n {
				return arn, nil
			}
		}
	}
	return "", fmt.Errorf("no ACTIVE revision of task definition family %q before %s", family, shortTaskDefinition(current))
}

func rollbackPlan(r *RollbackResult, opts RollbackOptions) string {
	var b strings.Builder
	switch r.Method {
	case RollbackStopDeployment:
		fmt.Fprintf(&b, "Would stop service deployment %s (stop type ROLLBACK): %s back to the last completed revision", r.StoppedServiceDeploymentArn, shortTaskDefinition(r.From))
		if r.To != "" {
			fmt.Fprintf(&b, " (%s)", shortTaskDefinition(r.To))
		}
		b.WriteString(".\n")
	default:
		fmt.Fprintf(&b, "Would update service %q in cluster %q from %s to %s.\n", r.Service, r.Cluster, shortTaskDefinition(r.From), shortTaskDefinition(r.To))
	}
	if !opts.NoDeregisterTaskDefinition {
		fmt.Fprintf(&b, "Would deregister %s.\n", shortTaskDefinition(r.From))
	}
	return b.String()
}

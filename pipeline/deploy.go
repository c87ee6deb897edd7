package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// DeployOptions configures Deploy. The zero value registers the rendered
// task definition, updates the service with it and the service definition,
// and waits for the deployment; a missing service is created.
type DeployOptions struct {
	// ImageOverrides maps container names to images (typically
	// digest-pinned) set in the rendered task definition. Naming a
	// container the definition lacks is an error.
	ImageOverrides map[string]string
	// DesiredCount, when set, is the desired count (ecspresso's --tasks);
	// it wins over the service definition's desiredCount. With neither,
	// UpdateService leaves the count alone (auto scaling owns it). A
	// DAEMON service has no desired count: setting one is an error.
	DesiredCount *int32
	// ForceNewDeployment starts a deployment even when nothing changed.
	ForceNewDeployment bool
	// SkipTaskDefinition registers nothing and deploys the task definition
	// the service runs.
	SkipTaskDefinition bool
	// LatestTaskDefinition registers nothing and deploys the latest ACTIVE
	// revision of the family the service runs (ecspresso's
	// --latest-task-definition).
	LatestTaskDefinition bool
	// Revision, when above 0, registers nothing and deploys that revision
	// of the family the service runs (ecspresso's --revision). It excludes
	// LatestTaskDefinition.
	Revision int64
	// NoUpdateService leaves the service's attributes, tags and the
	// service definition's desiredCount alone: the one UpdateService call
	// sets only the task definition (and DesiredCount or
	// ForceNewDeployment when given), as ecspresso's --no-update-service.
	NoUpdateService bool
	// DryRun renders and validates everything and describes what would be
	// registered and updated (DeployResult.Plan) without changing anything.
	DryRun bool
	// NoWait returns once the service is updated.
	NoWait bool
	// RequireDigest refuses, before any call to AWS, a task definition
	// whose images are not pinned by digest (repo@sha256:... or
	// repo:tag@sha256:...).
	RequireDigest bool
	// RunBefore, when set, is a shell command (a database migration) run
	// as `sh -c RunBefore` in a one-off task of the revision being
	// deployed, placed as the service's tasks, after the registration and
	// before the service is touched. Deploy waits for it as Run does, even
	// with NoWait, and updates the service only if it exited 0; otherwise
	// the service is left as it was and the error (ErrTaskFailed when it
	// ran and failed) carries its trace. Wait.Timeout (else the config's)
	// bounds it, and a migration still running then is stopped. A service
	// Deploy would create refuses it: create the service first.
	RunBefore string
	// RunBeforeContainer is the container RunBefore runs in; empty is the
	// task definition's first, as in ecspresso's run.
	RunBeforeContainer string
	// Wait configures waiting for the deployment.
	Wait WaitOptions
	// NoTimeline skips reading the deployment's timeline (Timeline) once
	// it ended; DeployResult.Timeline stays nil.
	NoTimeline bool
}

// DeployResult is what Deploy did.
type DeployResult struct {
	// Cluster and Service name the deployed service.
	Cluster string
	Service string
	// TaskDefinitionArn is the registered (or reused) task definition; in a
	// dry run, the one that would be reused, or empty.
	TaskDefinitionArn string
	// Images maps container names to their images.
	Images map[string]string
	// Created is true when the service did not exist and Deploy created it.
	Created bool
	// DeploymentID is the ECS deployment UpdateService (or CreateService)
	// started.
	DeploymentID string
	// ServiceDeploymentArn is its service deployment, when found.
	ServiceDeploymentArn string
	// Outcome is how the deploy ended.
	Outcome Outcome
	// Reason is the error message when the deployment did not succeed.
	Reason string
	// Plan describes, in a dry run, what would be registered and updated.
	Plan string
	// Migration is the RunBefore task's run, nil when none ran.
	Migration *RunResult
	// Wait is the waiting result, nil when not waited.
	Wait *WaitResult
	// Timeline is what ECS recorded of the deployment, read once it ended
	// (succeeded or not); nil when not waited or with NoTimeline. Markdown
	// draws it.
	Timeline *DeployTimeline
}

// Deploy deploys the config's service the ecspresso way: render the task
// definition (with opts.ImageOverrides) and the service definition,
// validate both, read the service, register the task definition, bring
// the service's tags in line with the service definition, make exactly one
// UpdateService call, then follow the deployment it started (see Wait).
// A service that does not exist is created instead, with Create's rules
// (ecspresso v2's deploy creates it too). Nothing is changed until
// everything is validated. When the deployment fails the result is
// returned with the *DeploymentError.
//
// Throttled calls are retried with backoff on opts.Wait.Clock (a throttled
// call was not applied). An UpdateService answered by a 5xx or a broken
// connection is never repeated: Deploy follows the deployment it started
// if the service shows one, and otherwise fails with ErrUpdateNotApplied.
func Deploy(ctx context.Context, api DeployAPI, cfg *Config, opts DeployOptions) (*DeployResult, error) {
	res := &DeployResult{Cluster: cfg.Cluster, Service: cfg.Service}
	in, err := checkDeploy(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	td, sd, sdBody := in.task, in.service, in.serviceBody
	res.Images = in.images

	clock := opts.Wait.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	svc, err := retrying(ctx, clock, transientIn(ctx), func() (*types.Service, error) {
		return describeService(ctx, api, cfg.Cluster, cfg.Service, types.ServiceFieldTags)
	})
	if errors.Is(err, ErrServiceNotFound) && !errors.Is(err, ErrClusterNotFound) {
		return deployCreate(ctx, api, cfg, opts, td, res)
	}
	if err != nil {
		return nil, fmt.Errorf("deploying: %w", err)
	}
	if c := svc.DeploymentController; c != nil && c.Type != "" && c.Type != types.DeploymentControllerTypeEcs {
		// CODE_DEPLOY and EXTERNAL deployments are driven outside ECS: no
		// service deployment reports how they end.
		return nil, fmt.Errorf("deploying: service %q uses the %s deployment controller; only the ECS deployment controller is supported (its ROLLING, BLUE_GREEN, LINEAR and CANARY strategies)", cfg.Service, c.Type)
	}
	count, err := desiredCount(svc.SchedulingStrategy, sd, opts.DesiredCount)
	if err != nil {
		return nil, fmt.Errorf("deploying: service %q: %w", cfg.Service, err)
	}
	update := &ecs.UpdateServiceInput{
		Cluster:            aws.String(cfg.Cluster),
		Service:            aws.String(cfg.Service),
		DesiredCount:       count,
		ForceNewDeployment: opts.ForceNewDeployment,
	}
	var tags tagChanges
	if sd != nil {
		applyServiceDefinition(update, sd, sdBody)
		tags = compareTags(svc.Tags, sd.Tags, cfg.Ignore.Tags)
	}
	strategy := deploymentStrategy(svc, update)
	if _, err := checkUntil(opts.Wait.Until, strategy); err != nil && !opts.NoWait {
		return nil, fmt.Errorf("deploying: service %q: %w", cfg.Service, err)
	}
	if td == nil {
		ref := aws.ToString(svc.TaskDefinition)
		family, _, _ := strings.Cut(shortTaskDefinition(ref), ":")
		switch {
		case opts.Revision > 0:
			ref = fmt.Sprintf("%s:%d", family, opts.Revision)
		case opts.LatestTaskDefinition:
			ref = family // the family alone names its latest ACTIVE revision
		}
		out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil {
			return nil, fmt.Errorf("deploying: describing task definition %q: %w", ref, err)
		}
		res.TaskDefinitionArn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		res.Images = images(out.TaskDefinition.ContainerDefinitions)
	}

	if opts.DryRun {
		res.Outcome = OutcomeDryRun
		if res.Plan, err = deployPlan(ctx, api, svc, td, update, res.TaskDefinitionArn, opts); err != nil {
			return nil, fmt.Errorf("deploying (dry run): %w", err)
		}
		res.Plan += tags.plan(aws.ToString(svc.ServiceArn))
		return res, nil
	}

	if td != nil {
		// Only throttling is retried: it proves the call was not applied,
		// and a second registration would be a stray revision.
		out, err := retrying(ctx, clock, isThrottle, func() (*ecs.RegisterTaskDefinitionOutput, error) {
			return api.RegisterTaskDefinition(ctx, td, retryOnlyThrottling)
		})
		if err != nil {
			return nil, fmt.Errorf("registering task definition %q: %w", aws.ToString(td.Family), err)
		}
		res.TaskDefinitionArn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	if opts.RunBefore != "" {
		if res.Migration, err = migrate(ctx, api, cfg, opts, svc, update, res.TaskDefinitionArn); err != nil {
			res.Outcome, res.Reason = OutcomeFailed, err.Error()
			return res, err
		}
	}
	if err := tags.apply(ctx, api, clock, aws.ToString(svc.ServiceArn)); err != nil {
		return res, fmt.Errorf("deploying: %w", err)
	}
	update.TaskDefinition = aws.String(res.TaskDefinitionArn)
	out, err := retrying(ctx, clock, isThrottle, func() (*ecs.UpdateServiceOutput, error) {
		return api.UpdateService(ctx, update, retryOnlyThrottling)
	})
	var updated *types.Service
	if err == nil {
		updated = out.Service
	} else if updated, err = updateApplied(ctx, api, clock, cfg, svc, res.TaskDefinitionArn, err); err != nil {
		return res, fmt.Errorf("updating service %q to %s: %w", cfg.Service, shortTaskDefinition(res.TaskDefinitionArn), err)
	}
	return followDeploy(ctx, api, cfg, opts, res, updated, strategy)
}

// deployInputs are a deploy's rendered and validated definitions.
type deployInputs struct {
	// task is nil when nothing is registered (SkipTaskDefinition,
	// LatestTaskDefinition, Revision); images are its containers' images.
	task   *ecs.RegisterTaskDefinitionInput
	images map[string]string
	// service is nil without a service definition or with NoUpdateService.
	service     *ecs.CreateServiceInput
	serviceBody map[string]any
}

// checkDeploy is Deploy up to its first ECS call: render the definitions
// and check them and the options.
func checkDeploy(ctx context.Context, cfg *Config, opts DeployOptions) (*deployInputs, error) {
	var in deployInputs
	if cfg.Service == "" {
		return nil, fmt.Errorf("deploying: %s sets no service", cfg.Path)
	}
	if opts.Revision < 0 {
		return nil, fmt.Errorf("deploying: revision %d: want a revision number above 0", opts.Revision)
	}
	if opts.Revision > 0 && opts.LatestTaskDefinition {
		// ecspresso deploy.go (taskDefinitionArnForDeploy) refuses the pair too.
		return nil, fmt.Errorf("deploying: Revision and LatestTaskDefinition exclude each other")
	}
	if _, err := parseUntil(opts.Wait.Until); err != nil {
		return nil, fmt.Errorf("deploying: %w", err)
	}
	register := !opts.SkipTaskDefinition && !opts.LatestTaskDefinition && opts.Revision == 0
	if !register {
		if len(opts.ImageOverrides) > 0 {
			return nil, fmt.Errorf("deploying: image overrides need a task definition to register, not SkipTaskDefinition, LatestTaskDefinition or Revision")
		}
	} else {
		defs, err := cfg.definitions(ctx, renderTask, RenderOptions{ImageOverrides: opts.ImageOverrides})
		if err != nil {
			return nil, fmt.Errorf("deploying: %w", err)
		}
		in.task = defs.task
		in.images = images(defs.task.ContainerDefinitions)
		if opts.RequireDigest {
			if err := requireDigest(defs.taskPath, in.images); err != nil {
				return nil, fmt.Errorf("deploying: %w", err)
			}
		}
	}
	if err := checkMigration(opts, in.task); err != nil {
		return nil, fmt.Errorf("deploying: %w", err)
	}
	if cfg.ServiceDefinition != "" && !opts.NoUpdateService {
		defs, err := cfg.definitions(ctx, renderService, RenderOptions{})
		if err != nil {
			return nil, fmt.Errorf("deploying: %w", err)
		}
		in.service, in.serviceBody = defs.service, defs.serviceBody
	}
	return &in, nil
}

// followDeploy follows the PRIMARY deployment of svc, as UpdateService or
// CreateService returned it, deployed with strategy, unless opts.NoWait.
func followDeploy(ctx context.Context, api DeployAPI, cfg *Config, opts DeployOptions, res *DeployResult, updated *types.Service, strategy types.DeploymentStrategy) (*DeployResult, error) {
	dep := primaryDeployment(updated)
	if dep == nil {
		return res, fmt.Errorf("updating service %q: the response has no PRIMARY deployment", cfg.Service)
	}
	res.DeploymentID = aws.ToString(dep.Id)
	res.ServiceDeploymentArn = aws.ToString(updated.CurrentServiceDeployment)
	if opts.NoWait {
		res.Outcome = OutcomeStarted
		return res, nil
	}

	wr, err := follow(ctx, api, cfg, opts.Wait, strategy, *dep, res.ServiceDeploymentArn)
	if wr != nil {
		res.Wait = wr
		res.Outcome = wr.Outcome
		res.ServiceDeploymentArn = wr.ServiceDeploymentArn
	}
	if err != nil {
		res.Reason = err.Error()
		res.readTimeline(ctx, api, opts)
		return res, fmt.Errorf("deploying %s: %w", shortTaskDefinition(res.TaskDefinitionArn), err)
	}
	res.readTimeline(ctx, api, opts)
	return res, nil
}

// readTimeline sets r.Timeline, spending at most timelineBudget on it and
// timelineRetryBudget on pauses before retries: the picture is worth a few
// reads, never a long wait. A timeline that cannot be read carries the
// reason in its notes.
func (r *DeployResult) readTimeline(ctx context.Context, api TimelineAPI, opts DeployOptions) {
	if opts.NoTimeline || r.DeploymentID == "" || ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timelineBudget)
	defer cancel()
	tl, err := Timeline(ctx, api, r, TimelineOptions{Clock: opts.Wait.Clock, RetryBudget: timelineRetryBudget})
	if err != nil {
		tl.Notes = append(tl.Notes, err.Error())
	}
	r.Timeline = tl
}

// deploymentStrategy is the strategy the update deploys with: the one the
// service definition sets, else the service's own.
func deploymentStrategy(svc *types.Service, update *ecs.UpdateServiceInput) types.DeploymentStrategy {
	if c := update.DeploymentConfiguration; c != nil && c.Strategy != "" {
		return c.Strategy
	}
	if c := svc.DeploymentConfiguration; c != nil {
		return c.Strategy
	}
	return ""
}

// updateApplied decides, after UpdateService failed with err, whether the
// update was applied anyway: a 5xx or a reset connection may come after
// ECS started the deployment. It reads the service (retrying transient
// errors, which is safe) and returns it when its PRIMARY deployment is new
// since before (not among before's deployments) and deploys taskDef: that
// deployment is the update's and Deploy follows it. DescribeServices is
// eventually consistent, so a read that still shows the old deployments
// proves nothing: it reads again every pollFast for updateSettle before
// concluding, and then returns an error naming what the service still
// runs. Client errors (4xx) are definite answers and returned as they are.
func updateApplied(ctx context.Context, api ServiceDescriber, clock Clock, cfg *Config, before *types.Service, taskDef string, err error) (*types.Service, error) {
	var ae smithy.APIError
	if ctx.Err() != nil || isThrottle(err) || (errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient) {
		return nil, err
	}
	giveUp := clock.Now().Add(updateSettle)
	var svc *types.Service
	for {
		var derr error
		svc, derr = retrying(ctx, clock, transientIn(ctx), func() (*types.Service, error) {
			return describeService(ctx, api, cfg.Cluster, cfg.Service)
		})
		if derr != nil {
			return nil, fmt.Errorf("%w; whether it was applied is unknown (%w), so it was not retried: check the service before deploying again", err, derr)
		}
		if p := primaryDeployment(svc); p != nil && aws.ToString(p.TaskDefinition) == taskDef && findDeployment(before, aws.ToString(p.Id)) == nil {
			return svc, nil
		}
		if !clock.Now().Before(giveUp) {
			break
		}
		if serr := clock.Sleep(ctx, pollFast); serr != nil {
			return nil, fmt.Errorf("%w; whether it was applied is unknown (%w), so it was not retried: check the service before deploying again", err, serr)
		}
	}
	running := "no PRIMARY deployment"
	if p := primaryDeployment(svc); p != nil {
		running = fmt.Sprintf("PRIMARY deployment %s of %s", aws.ToString(p.Id), shortTaskDefinition(aws.ToString(p.TaskDefinition)))
	}
	return nil, fmt.Errorf("%w: %w; for %s the service showed %s and no new deployment of %s, so it was not retried (a second UpdateService could start a second deployment)", ErrUpdateNotApplied, err, updateSettle, running, shortTaskDefinition(taskDef))
}

// updateSettle is how long updateApplied keeps reading the service for a
// deployment that an unanswered UpdateService may have started: ECS reads
// are eventually consistent, usually within seconds.
const updateSettle = 15 * time.Second

// deployCreate creates the missing service as Create does, with the task
// definition td already rendered, then follows its first deployment
// (ecspresso v2 deploy.go and create.go: deploy creates a missing service).
func deployCreate(ctx context.Context, api DeployAPI, cfg *Config, opts DeployOptions, td *ecs.RegisterTaskDefinitionInput, res *DeployResult) (*DeployResult, error) {
	if td == nil {
		// ecspresso would create it from the family's latest revision; a
		// first deploy that registers nothing is more likely a mistake.
		return nil, fmt.Errorf("deploying: %w: service %q not found in cluster %q, and a deploy that registers no task definition (SkipTaskDefinition, LatestTaskDefinition, Revision) does not create it", ErrServiceNotFound, cfg.Service, cfg.Cluster)
	}
	if opts.NoUpdateService {
		return nil, fmt.Errorf("deploying: %w: service %q not found in cluster %q; NoUpdateService updates an existing service only", ErrServiceNotFound, cfg.Service, cfg.Cluster)
	}
	if opts.RunBefore != "" {
		// A migration runs placed as the service's tasks; creating the
		// service would start them before it ran.
		return nil, fmt.Errorf("deploying: %w: service %q not found in cluster %q; RunBefore needs an existing service: create it first", ErrServiceNotFound, cfg.Service, cfg.Cluster)
	}
	if cfg.ServiceDefinition == "" {
		return nil, fmt.Errorf("deploying: %w: service %q not found in cluster %q, and %s sets no service_definition to create it from", ErrServiceNotFound, cfg.Service, cfg.Cluster, cfg.Path)
	}
	defs, err := cfg.definitions(ctx, renderService, RenderOptions{})
	if err != nil {
		return nil, fmt.Errorf("deploying: %w", err)
	}
	in, err := createServiceInput(cfg, defs.service, opts.DesiredCount)
	if err != nil {
		return nil, fmt.Errorf("deploying: %w", err)
	}
	var strategy types.DeploymentStrategy
	if c := in.DeploymentConfiguration; c != nil {
		strategy = c.Strategy
	}
	if _, err := checkUntil(opts.Wait.Until, strategy); err != nil && !opts.NoWait {
		return nil, fmt.Errorf("deploying: service %q: %w", cfg.Service, err)
	}
	res.Created = true
	if opts.DryRun {
		res.Outcome = OutcomeDryRun
		res.Plan, err = createPlan(td, in)
		if err != nil {
			return nil, fmt.Errorf("deploying (dry run): %w", err)
		}
		return res, nil
	}
	cr, svc, err := create(ctx, api, td, in)
	if err != nil {
		return nil, err
	}
	res.TaskDefinitionArn = cr.TaskDefinitionArn
	return followDeploy(ctx, api, cfg, opts, res, svc, strategy)
}

// createPlan describes what creating the service would register and create.
func createPlan(td *ecs.RegisterTaskDefinitionInput, in *ecs.CreateServiceInput) (string, error) {
	tdJSON, err := indentedJSON(td)
	if err != nil {
		return "", err
	}
	c := *in
	c.TaskDefinition = aws.String("<registered revision>")
	svcJSON, err := indentedJSON(&c)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Would register task definition family %q:\n%s\nWould create service %q in cluster %q:\n%s\n",
		aws.ToString(td.Family), tdJSON, aws.ToString(in.ServiceName), aws.ToString(in.Cluster), svcJSON), nil
}

// desiredCount is the desired count a deploy sends, following ecspresso
// deploy.go (calcDesiredCount): none for a DAEMON service (strategy is the
// running service's, which UpdateService cannot change, or the one being
// created); else asked (--tasks) wins over the service definition's
// desiredCount (sd, nil when the service definition is not applied); else
// none, and ECS keeps the count auto scaling set.
func desiredCount(strategy types.SchedulingStrategy, sd *ecs.CreateServiceInput, asked *int32) (*int32, error) {
	if strategy == types.SchedulingStrategyDaemon {
		if asked != nil {
			// ecspresso ignores --tasks here; asking is a mistake worth saying.
			return nil, fmt.Errorf("a DAEMON service runs one task per container instance and takes no desired count (asked for %d)", *asked)
		}
		return nil, nil
	}
	if asked != nil {
		return asked, nil
	}
	if sd != nil {
		return sd.DesiredCount, nil
	}
	return nil, nil
}

// tagChanges are the service tags a deploy sets and removes.
type tagChanges struct {
	set    []types.Tag
	remove []string
}

// compareTags brings the running tags in line with the service
// definition's, as ecspresso deploy.go (UpdateServiceTags) does: tags new or
// changed in the file are set, tags the file lacks are removed. Keys in
// ignore (ignore.tags) and the reserved aws: keys are left alone.
func compareTags(running, local []types.Tag, ignore []string) tagChanges {
	skip := func(k string) bool {
		return slices.Contains(ignore, k) || strings.HasPrefix(strings.ToLower(k), "aws:")
	}
	have := map[string]string{}
	for _, t := range running {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	want := map[string]bool{}
	var c tagChanges
	for _, t := range local {
		k := aws.ToString(t.Key)
		want[k] = true
		if v, ok := have[k]; !skip(k) && (!ok || v != aws.ToString(t.Value)) {
			c.set = append(c.set, t)
		}
	}
	for _, t := range running {
		if k := aws.ToString(t.Key); !want[k] && !skip(k) {
			c.remove = append(c.remove, k)
		}
	}
	return c
}

// apply tags and untags the service, retrying only throttling.
func (c tagChanges) apply(ctx context.Context, api ResourceTagger, clock Clock, arn string) error {
	if len(c.set) > 0 {
		if _, err := retrying(ctx, clock, isThrottle, func() (*ecs.TagResourceOutput, error) {
			return api.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: c.set}, retryOnlyThrottling)
		}); err != nil {
			return fmt.Errorf("tagging service %s: %w", arn, err)
		}
	}
	if len(c.remove) > 0 {
		if _, err := retrying(ctx, clock, isThrottle, func() (*ecs.UntagResourceOutput, error) {
			return api.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: c.remove}, retryOnlyThrottling)
		}); err != nil {
			return fmt.Errorf("untagging service %s: %w", arn, err)
		}
	}
	return nil
}

// plan describes the tag changes for a dry run.
func (c tagChanges) plan(arn string) string {
	var b strings.Builder
	for _, t := range c.set {
		fmt.Fprintf(&b, "Would tag service %s: %s=%s\n", arn, aws.ToString(t.Key), aws.ToString(t.Value))
	}
	if len(c.remove) > 0 {
		fmt.Fprintf(&b, "Would untag service %s: %s\n", arn, strings.Join(c.remove, ", "))
	}
	return b.String()
}

// applyServiceDefinition copies into u every field of the rendered service
// definition that UpdateService takes. Not sent here: the desired count
// (see desiredCount), tags (TagResource, see compareTags), and what
// UpdateService cannot change or changes only with care (launch type,
// scheduling strategy, role, deployment controller).
func applyServiceDefinition(u *ecs.UpdateServiceInput, sd *ecs.CreateServiceInput, body map[string]any) {
	u.AvailabilityZoneRebalancing = sd.AvailabilityZoneRebalancing
	u.CapacityProviderStrategy = sd.CapacityProviderStrategy
	u.DeploymentConfiguration = sd.DeploymentConfiguration
	u.GatewayConnectors = sd.GatewayConnectors
	u.HealthCheckGracePeriodSeconds = sd.HealthCheckGracePeriodSeconds
	u.LoadBalancers = sd.LoadBalancers
	u.Monitoring = sd.Monitoring
	u.NetworkConfiguration = sd.NetworkConfiguration
	u.PlacementConstraints = sd.PlacementConstraints
	u.PlacementStrategy = sd.PlacementStrategy
	u.PlatformVersion = sd.PlatformVersion
	u.PropagateTags = sd.PropagateTags
	u.ServiceConnectConfiguration = sd.ServiceConnectConfiguration
	u.ServiceRegistries = sd.ServiceRegistries
	u.VolumeConfigurations = sd.VolumeConfigurations
	u.VpcLatticeConfigurations = sd.VpcLatticeConfigurations
	// Plain booleans in CreateServiceInput: send them only when written,
	// so an absent key does not switch the feature off.
	if lookupKey(body, "enableExecuteCommand") != nil {
		u.EnableExecuteCommand = aws.Bool(sd.EnableExecuteCommand)
	}
	if lookupKey(body, "enableECSManagedTags") != nil {
		u.EnableECSManagedTags = aws.Bool(sd.EnableECSManagedTags)
	}
}

// deployPlan describes what a deploy would register and update, with a
// diff against the running task definition.
func deployPlan(ctx context.Context, api TaskDefinitionDescriber, svc *types.Service, td *ecs.RegisterTaskDefinitionInput, update *ecs.UpdateServiceInput, reuse string, opts DeployOptions) (string, error) {
	var b strings.Builder
	running := aws.ToString(svc.TaskDefinition)
	u := *update
	u.TaskDefinition = aws.String(reuse)
	if td != nil {
		js, err := indentedJSON(td)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "Would register task definition family %q:\n%s\n", aws.ToString(td.Family), js)
		cur, err := DescribeTaskDefinition(ctx, api, running)
		if err != nil {
			return "", err
		}
		diff, err := DiffTaskDefinitions(cur, td, DiffOptions{FromFile: shortTaskDefinition(running), ToFile: "local"})
		if err != nil {
			return "", err
		}
		if diff == "" {
			diff = "(no changes)\n"
		}
		fmt.Fprintf(&b, "Changes from the running %s:\n%s", shortTaskDefinition(running), diff)
		u.TaskDefinition = aws.String("<registered revision>")
	}
	b.WriteString(migrationPlan(opts, shortTaskDefinition(aws.ToString(u.TaskDefinition))))
	js, err := indentedJSON(&u)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "Would update service %q in cluster %q once:\n%s\n", aws.ToString(svc.ServiceName), aws.ToString(update.Cluster), js)
	return b.String(), nil
}

func indentedJSON(v any) (string, error) {
	js, err := CanonicalJSON(v)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, js, "", "  "); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// images maps container names to images.
func images(cds []types.ContainerDefinition) map[string]string {
	m := map[string]string{}
	for _, c := range cds {
		m[aws.ToString(c.Name)] = aws.ToString(c.Image)
	}
	return m
}

// Markdown returns a short summary for a CI job summary or a pull request.
func (r *DeployResult) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Deploy of `%s` to `%s`: %s\n\n", r.Service, r.Cluster, r.Outcome)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	if r.TaskDefinitionArn != "" {
		row("Task definition", "`"+shortTaskDefinition(r.TaskDefinitionArn)+"`")
	}
	for _, name := range slices.Sorted(maps.Keys(r.Images)) {
		row("Image `"+name+"`", "`"+r.Images[name]+"`")
	}
	if r.DeploymentID != "" {
		row("Deployment", "`"+r.DeploymentID+"`")
	}
	row("Service deployment", r.ServiceDeploymentArn)
	if w := r.Wait; w != nil {
		row("Waited", w.Elapsed.Round(time.Second).String())
		if w.Strategy != "" {
			row("Strategy", w.Strategy)
		}
		var stages []string
		for _, st := range w.Stages {
			stages = append(stages, fmt.Sprintf("`%s` %s", st.Stage, st.At.UTC().Format(time.TimeOnly)))
		}
		row("Stages passed (UTC)", strings.Join(stages, " → "))
		if w.ServiceDeploymentStatus == "IN_PROGRESS" || w.ServiceDeploymentStatus == "PENDING" {
			// The wait stopped early (Until): the deployment goes on.
			at := "lifecycle stage `" + w.Stage + "`"
			if w.HookID != "" {
				at += ", hook `" + w.HookID + "` awaiting action"
			}
			row("Waited until", at+"; the deployment goes on")
		}
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "\n%s\n", r.Reason)
	}
	if tl := r.Timeline; tl != nil {
		if !tl.StartedAt.IsZero() {
			fmt.Fprintf(&b, "\n```mermaid\n%s```\n", tl.Mermaid())
		}
		for _, n := range tl.Notes {
			fmt.Fprintf(&b, "\n_Timeline: %s_\n", n)
		}
	}
	return b.String()
}

// requireDigest reports the first container whose image is not pinned by
// digest.
func requireDigest(path string, images map[string]string) error {
	names := slices.Sorted(maps.Keys(images))
	for _, name := range names {
		if _, digest, ok := strings.Cut(images[name], "@"); !ok || !strings.HasPrefix(digest, "sha256:") {
			return fmt.Errorf("%s: container %q: image %q is not pinned by digest (want repository@sha256:... as publish prints it)", path, name, images[name])
		}
	}
	return nil
}

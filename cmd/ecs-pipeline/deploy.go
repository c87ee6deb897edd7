package main

import (
	"fmt"
	"sort"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// DeployCmd is ecspresso's deploy (kayac/ecspresso deploy.go, DeployOption:
// --dry-run, --tasks (default -1), --skip-task-definition, --revision,
// --force-new-deployment, --wait/--no-wait, --update-service (default
// true, negatable), --latest-task-definition), with the module's
// --require-digest, --run-before, --run-before-container and --diff, and
// --wait-until as ecspresso v2.8's (deployed, stable, ecs:STAGE, and
// continue's paused; codedeploy:* is refused with the CODE_DEPLOY
// controller).
// ecspresso's CodeDeploy and auto scaling flags are accepted and warned
// about.
type DeployCmd struct {
	DryRun               bool   `help:"Render, check and show what would be registered and updated, changing nothing."`
	Tasks                int32  `default:"-1" help:"Set the service's desired count; -1 takes the service definition's, or leaves it alone."`
	SkipTaskDefinition   bool   `help:"Register nothing: deploy the task definition the service runs."`
	Revision             int64  `help:"Register nothing: deploy this revision of the family."`
	ForceNewDeployment   bool   `help:"Start a new deployment even when nothing changed."`
	Wait                 bool   `default:"true" negatable:"" help:"Wait for the deployment to complete (--no-wait returns once the service is updated)."`
	UpdateService        bool   `default:"true" negatable:"" help:"Apply the service definition (--no-update-service: only the new revision and --tasks)."`
	LatestTaskDefinition bool   `help:"Register nothing: deploy the family's latest ACTIVE revision."`
	RequireDigest        bool   `help:"Refuse images not pinned by digest."`
	RunBefore            string `help:"Shell command to run first in a one-off task of the new revision (a migration); the service is updated only if it exits 0." placeholder:"CMD"`
	RunBeforeContainer   string `help:"Container that runs --run-before; the first when empty." placeholder:"NAME"`
	Diff                 bool   `help:"Print the service diff to stderr first."`
	FailFast             bool   `help:"With several --config: once a service failed, start no other (they are SKIPPED)."`
	WaitUntil            string `default:"deployed" help:"When to stop waiting: deployed (the deployment has ended), stable (the same here), paused (a PAUSE lifecycle hook awaits action), or ecs:STAGE (a blue/green, linear or canary deployment, still in progress, has reached lifecycle stage STAGE, such as ecs:BAKE_TIME, or a later one)." placeholder:"WHEN"`
	Concurrency          int    `help:"With several --config: how many services deploy at once, in order; 0 is all."`

	SuspendAutoScaling bool   `hidden:"" unsupported:"warn"`
	ResumeAutoScaling  bool   `hidden:"" unsupported:"warn"`
	AutoScalingMin     int32  `hidden:"" unsupported:"warn"`
	AutoScalingMax     int32  `hidden:"" unsupported:"warn"`
	RollbackEvents     string `hidden:"" unsupported:"warn"`
}

// deployResult is deploy's --result, the module's Deployment.
type deployResult struct {
	Cluster        string   `json:"cluster"`
	Service        string   `json:"service"`
	TaskDefinition string   `json:"taskDefinition"`
	Images         []string `json:"images"`
	DeploymentID   string   `json:"deploymentId"`
	Outcome        string   `json:"outcome"`
	Plan           string   `json:"plan"`
	Migration      string   `json:"migration"`
	Summary        string   `json:"summary"`
	// Image is, for ship, the image it published (repo:tag@sha256:...).
	Image string `json:"image,omitempty"`
}

func (d *DeployCmd) Run(a *app) error { return d.run(a, "") }

// run deploys one config or several; published, the image ship pushed,
// goes in --result as "image".
func (d *DeployCmd) run(a *app, published string) error {
	if len(a.cli.Config) > 1 {
		return d.runMany(a, published)
	}
	c, wait, err := a.prepare("")
	if err != nil {
		return err
	}
	if d.Diff {
		diff, err := pipeline.DiffService(a.ctx, c.clients.ECS, c.cfg, pipeline.DiffServiceOptions{ImageOverrides: c.overrides})
		if err != nil {
			return err
		}
		if diff == "" {
			diff = "no changes\n"
		}
		fmt.Fprint(a.stderr, a.rel(diff))
	}
	opts := d.options(c.overrides, wait)
	res, err := pipeline.Deploy(a.ctx, c.clients.ECS, c.cfg, opts)
	if res != nil {
		// A failed deployment's result says how it ended (ROLLED_BACK...).
		r := newDeployResult(res)
		r.Image = published
		if werr := a.writeResult(r); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return err
	}
	if d.DryRun {
		a.print(res.Plan)
	}
	a.print(fmt.Sprintf("%s: service %s in cluster %s, task definition %s\n", res.Outcome, res.Service, res.Cluster, res.TaskDefinitionArn))
	return nil
}

// preflight is run as a dry run that prints nothing: the flags, every
// config loaded, rendered and validated, and each service read and
// checked as deploy checks it before it changes anything (its deployment
// controller, desired count, --wait-until against its strategy). ship
// runs it before it pushes.
func (d *DeployCmd) preflight(a *app) error {
	if _, err := a.waitOptions(); err != nil {
		return err
	}
	dry := func(c *pipeline.Config, ecs pipeline.DeployAPI, overrides map[string]string) error {
		opts := d.options(overrides, pipeline.WaitOptions{})
		opts.DryRun = true
		_, err := pipeline.Deploy(a.ctx, ecs, c, opts)
		return err
	}
	if len(a.cli.Config) > 1 {
		cfgs, overrides, err := d.loadMany(a)
		if err != nil {
			return err
		}
		clients, err := cfgs[0].Clients(a.ctx)
		if err != nil {
			return err
		}
		for _, cfg := range cfgs {
			if err := dry(cfg, clients.ECS, overrides); err != nil {
				return fmt.Errorf("--config %s: %w", a.rel(cfg.Path), err)
			}
		}
		return nil
	}
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	return dry(c.cfg, c.clients.ECS, c.overrides)
}

// options are the deploy's options for one service, as its flags say.
func (d *DeployCmd) options(overrides map[string]string, wait pipeline.WaitOptions) pipeline.DeployOptions {
	opts := pipeline.DeployOptions{
		ImageOverrides:       overrides,
		ForceNewDeployment:   d.ForceNewDeployment,
		SkipTaskDefinition:   d.SkipTaskDefinition,
		DryRun:               d.DryRun,
		NoWait:               !d.Wait,
		RequireDigest:        d.RequireDigest,
		Revision:             d.Revision,
		LatestTaskDefinition: d.LatestTaskDefinition,
		NoUpdateService:      !d.UpdateService,
		RunBefore:            d.RunBefore,
		RunBeforeContainer:   d.RunBeforeContainer,
		Wait:                 wait,
	}
	opts.Wait.Until = d.WaitUntil
	if d.Tasks >= 0 {
		n := d.Tasks
		opts.DesiredCount = &n
	}
	return opts
}

func newDeployResult(res *pipeline.DeployResult) deployResult {
	d := deployResult{
		Cluster: res.Cluster, Service: res.Service, TaskDefinition: res.TaskDefinitionArn,
		DeploymentID: res.DeploymentID, Outcome: string(res.Outcome), Plan: res.Plan, Summary: res.Markdown(),
		Images: []string{},
	}
	if res.Migration != nil {
		d.Migration = res.Migration.String()
	}
	for name, image := range res.Images {
		d.Images = append(d.Images, name+"="+image)
	}
	sort.Strings(d.Images)
	return d
}

// RollbackCmd is ecspresso's rollback (RollbackOption: --dry-run,
// --deregister-task-definition (default true, negatable), --wait/--no-wait,
// --rollback-events for CodeDeploy, warned about).
type RollbackCmd struct {
	DeregisterTaskDefinition bool   `default:"true" negatable:"" help:"Deregister the revision rolled back from once the rollback succeeded."`
	DryRun                   bool   `help:"Show what would be done, changing nothing."`
	Wait                     bool   `default:"true" negatable:"" help:"Wait for the rollback to complete."`
	RollbackEvents           string `hidden:"" unsupported:"warn"`
}

func (r *RollbackCmd) Run(a *app) error {
	c, wait, err := a.prepare("")
	if err != nil {
		return err
	}
	res, err := pipeline.Rollback(a.ctx, c.clients.ECS, c.cfg, pipeline.RollbackOptions{
		NoDeregisterTaskDefinition: !r.DeregisterTaskDefinition, DryRun: r.DryRun, NoWait: !r.Wait, Wait: wait,
	})
	if err != nil {
		return err
	}
	if r.DryRun {
		a.print(res.Plan)
		return nil
	}
	out := fmt.Sprintf("rolled back service %q in cluster %q from %s to %s (%s): %s\n",
		res.Service, res.Cluster, res.From, res.To, res.Method, res.Outcome)
	if res.Deregistered {
		out += fmt.Sprintf("deregistered %s\n", res.From)
	}
	a.print(out)
	return nil
}

// WaitCmd is ecspresso's wait (WaitOption, wait.go): follow the service's
// current PRIMARY deployment until it ends (deployed: its service
// deployment ended, as deploy's wait does; stable, the default: that, and
// it runs its desired count, as ECS's services-stable waiter), or until a
// PAUSE lifecycle hook of an ECS-native blue/green, linear or canary
// deployment awaits action (paused). A deployment that failed or was
// rolled back fails the command with its reasons, as deploy does.
type WaitCmd struct {
	WaitUntil string `aliases:"until" default:"stable" enum:"stable,deployed,paused" help:"Wait until the deployment ends (stable, deployed) or a PAUSE lifecycle hook awaits action (paused)."`
}

func (w *WaitCmd) Run(a *app) error {
	c, wait, err := a.prepare("")
	if err != nil {
		return err
	}
	wait.Until = w.WaitUntil
	res, err := pipeline.Wait(a.ctx, c.clients.ECS, c.cfg, wait)
	if err != nil {
		return err
	}
	if err := a.writeResult(res); err != nil {
		return err
	}
	switch {
	case res.HookID != "":
		a.print(fmt.Sprintf("deployment %s of service %q paused at %s: lifecycle hook %s awaits action\n", res.DeploymentID, c.cfg.Service, res.Stage, res.HookID))
	default:
		a.print(fmt.Sprintf("%s: service %q in cluster %q, deployment %s, task definition %s\n", res.Outcome, c.cfg.Service, c.cfg.Cluster, res.DeploymentID, res.RunningTaskDefinition))
	}
	return nil
}

// StatusCmd is ecspresso's status (StatusOption: --events, 10 by default
// in ecspresso v2 as here).
type StatusCmd struct {
	Events int `default:"10" help:"How many of the latest events to show."`
}

func (s *StatusCmd) Run(a *app) error {
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	st, err := pipeline.Status(a.ctx, c.clients.ECS, c.cfg, pipeline.StatusOptions{Events: s.Events})
	if err != nil {
		return err
	}
	a.print(st.String())
	return nil
}

// CreateCmd is ecspresso's create (deprecated there in favour of deploy,
// which creates a missing service too): register the task definition and
// create the service (pipeline.Create), then wait for it unless
// --no-wait. --dry-run shows deploy's plan.
type CreateCmd struct {
	DryRun bool  `help:"Show what would be created, changing nothing."`
	Tasks  int32 `default:"-1" help:"The desired count; -1 takes the service definition's (1 when unset)."`
	Wait   bool  `default:"true" negatable:"" help:"Wait for the service's first deployment."`
}

func (cr *CreateCmd) Run(a *app) error {
	c, wait, err := a.prepare("")
	if err != nil {
		return err
	}
	var count *int32
	if cr.Tasks >= 0 {
		n := cr.Tasks
		count = &n
	}
	if cr.DryRun {
		res, err := pipeline.Deploy(a.ctx, c.clients.ECS, c.cfg, pipeline.DeployOptions{
			ImageOverrides: c.overrides, DesiredCount: count, DryRun: true, Wait: wait,
		})
		if err != nil {
			return err
		}
		a.print(res.Plan)
		return nil
	}
	created, err := pipeline.Create(a.ctx, c.clients.ECS, c.cfg, pipeline.CreateOptions{ImageOverrides: c.overrides, DesiredCount: count})
	if err != nil {
		return err
	}
	a.print(fmt.Sprintf("created service %q in cluster %q with %s\n", c.cfg.Service, c.cfg.Cluster, created.TaskDefinition))
	if !cr.Wait {
		return nil
	}
	_, err = pipeline.Wait(a.ctx, c.clients.ECS, c.cfg, wait)
	return err
}

// RegisterCmd is ecspresso's register (RegisterOption: --dry-run,
// --output): register the task definition as a new revision.
type RegisterCmd struct {
	DryRun bool `help:"Print what would be registered, registering nothing."`
	Output bool `help:"Print the registered revision as the ECS API's JSON."`
}

func (r *RegisterCmd) Run(a *app) error {
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	res, err := pipeline.Register(a.ctx, c.clients.ECS, c.cfg, pipeline.RegisterOptions{ImageOverrides: c.overrides, DryRun: r.DryRun})
	if err != nil {
		return err
	}
	if r.DryRun {
		a.print(res.Plan)
		return nil
	}
	if r.Output {
		a.print(res.JSON)
		return nil
	}
	a.print(fmt.Sprintf("registered %s\n", res.TaskDefinitionArn))
	return nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// Deployment is how a deploy ended.
type Deployment struct {
	// Cluster and service deployed.
	Cluster string
	Service string
	// Task definition ARN registered (or reused) and deployed.
	TaskDefinition string
	// Container images, as NAME=IMAGE.
	Images []string
	// ECS deployment that UpdateService started.
	DeploymentID string
	// SUCCEEDED, STARTED (not waited for) or DRY_RUN; a failed deploy is an
	// error instead.
	Outcome string
	// In a dry run: what would be registered and updated.
	Plan string
	// The --run-before migration's trace: its task, exit codes and last
	// log lines; empty when none ran.
	Migration string
	// A Markdown summary, for a CI job summary or a pull request.
	Summary string
}

// Deploy the service the ecspresso way: render and check the definitions,
// register the task definition, run the --run-before migration if any,
// update the service once, then follow that deployment, printing service
// events, until ECS completes it. A failed, rolled-back, stopped or
// timed-out deployment fails the call, quoting the stopped tasks' reasons
// and naming the revision the service runs now; a failed migration fails
// it with the service untouched.
// Cached for the session only: a caller that reads several fields of the
// result (outcome, then task-definition) deploys once; every new call
// deploys again.
// +cache="session"
func (s *EcsService) Deploy(
	ctx context.Context,
	// Set the service's desired count (ecspresso's --tasks); -1 takes the
	// service definition's desiredCount, or leaves the count alone (auto
	// scaling owns it) when the file sets none.
	// +default=-1
	desiredCount int,
	// Start a new deployment even when nothing changed.
	// +optional
	forceNewDeployment bool,
	// Register nothing: deploy the task definition the service runs.
	// +optional
	skipTaskDefinition bool,
	// Render, check and show what would be registered and updated, changing
	// nothing.
	// +optional
	dryRun bool,
	// Return once the service is updated, without waiting.
	// +optional
	noWait bool,
	// How long to wait, such as 15m; the config's timeout (10m) when empty.
	// +optional
	timeout string,
	// Refuse images that are not pinned by digest.
	// +optional
	requireDigest bool,
	// Register nothing: deploy this revision of the service's task
	// definition family (ecspresso's --revision).
	// +optional
	revision int,
	// Register nothing: deploy the latest ACTIVE revision of the family
	// (ecspresso's --latest-task-definition).
	// +optional
	latestTaskDefinition bool,
	// Register the task definition and apply nothing of the service
	// definition: only the new revision (and --desired-count) reach the
	// service (ecspresso's --no-update-service).
	// +optional
	noUpdateService bool,
	// Shell command to run first, such as a database migration: it runs as
	// "sh -c COMMAND" in a one-off task of the new revision, placed as the
	// service's tasks, and the service is updated only if it exits 0. A
	// migration still running at --timeout is stopped.
	// +optional
	runBefore string,
	// Container that runs --run-before; the task definition's first when
	// empty.
	// +optional
	runBeforeContainer string,
) (*Deployment, error) {
	c, wait, err := s.prepare(ctx, timeout)
	if err != nil {
		return nil, err
	}
	opts := pipeline.DeployOptions{
		ImageOverrides:       c.overrides,
		ForceNewDeployment:   forceNewDeployment,
		SkipTaskDefinition:   skipTaskDefinition,
		DryRun:               dryRun,
		NoWait:               noWait,
		RequireDigest:        requireDigest,
		Revision:             int64(revision),
		LatestTaskDefinition: latestTaskDefinition,
		NoUpdateService:      noUpdateService,
		RunBefore:            runBefore,
		RunBeforeContainer:   runBeforeContainer,
		Wait:                 wait,
	}
	if desiredCount >= 0 {
		n := int32(desiredCount)
		opts.DesiredCount = &n
	}
	res, err := pipeline.Deploy(ctx, c.clients.ECS, c.cfg, opts)
	if err != nil {
		return nil, inSource(err)
	}
	d := &Deployment{
		Cluster: res.Cluster, Service: res.Service, TaskDefinition: res.TaskDefinitionArn,
		DeploymentID: res.DeploymentID, Outcome: string(res.Outcome), Plan: res.Plan, Summary: res.Markdown(),
	}
	if res.Migration != nil {
		d.Migration = res.Migration.String()
	}
	for name, image := range res.Images {
		d.Images = append(d.Images, name+"="+image)
	}
	sort.Strings(d.Images)
	return d, nil
}

// Rollback the service: stop a deployment in progress with ECS's own
// rollback, or return the service to the revision before the one it runs;
// then wait for the rollback to complete and deregister the revision
// rolled back from, as ecspresso v2 does.
// +cache="never"
func (s *EcsService) Rollback(
	ctx context.Context,
	// Deregister the revision rolled back from once the rollback succeeded,
	// as ecspresso v2 does by default; --deregister=false keeps it (and is
	// needed with --no-wait).
	// +default=true
	deregister bool,
	// Show what would be done, changing nothing.
	// +optional
	dryRun bool,
	// Return once the rollback is started.
	// +optional
	noWait bool,
	// How long to wait, such as 15m; the config's timeout when empty.
	// +optional
	timeout string,
) (string, error) {
	c, wait, err := s.prepare(ctx, timeout)
	if err != nil {
		return "", err
	}
	res, err := pipeline.Rollback(ctx, c.clients.ECS, c.cfg, pipeline.RollbackOptions{
		NoDeregisterTaskDefinition: !deregister, DryRun: dryRun, NoWait: noWait, Wait: wait,
	})
	if err != nil {
		return "", inSource(err)
	}
	if dryRun {
		return res.Plan, nil
	}
	out := fmt.Sprintf("rolled back service %q in cluster %q from %s to %s (%s): %s\n",
		res.Service, res.Cluster, res.From, res.To, res.Method, res.Outcome)
	if res.Deregistered {
		out += fmt.Sprintf("deregistered %s\n", res.From)
	}
	return out, nil
}

// Status of the service: its task definition and counts, its deployments
// and its latest events.
// +cache="never"
func (s *EcsService) Status(
	ctx context.Context,
	// How many of the latest events to show.
	// +default=10
	events int,
) (string, error) {
	c, _, err := s.prepare(ctx, "")
	if err != nil {
		return "", err
	}
	st, err := pipeline.Status(ctx, c.clients.ECS, c.cfg, pipeline.StatusOptions{Events: events})
	if err != nil {
		return "", inSource(err)
	}
	return st.String(), nil
}

// Diff shows what a deploy would change: unified diffs from the running
// task definition and service to the local files, after normalising both
// sides. Changes nothing.
// +cache="never"
func (s *EcsService) Diff(ctx context.Context) (string, error) {
	c, _, err := s.prepare(ctx, "")
	if err != nil {
		return "", err
	}
	diff, err := pipeline.DiffService(ctx, c.clients.ECS, c.cfg, pipeline.DiffServiceOptions{ImageOverrides: c.overrides})
	if err != nil {
		return "", inSource(err)
	}
	if diff == "" {
		return "no changes\n", nil
	}
	return diff, nil
}

// prepared is a loaded service with its AWS clients.
type prepared struct {
	*loaded
	clients *pipeline.AWS
}

// prepare loads the config and its AWS clients, and the wait options:
// events go to the call's output as they happen.
func (s *EcsService) prepare(ctx context.Context, timeout string) (*prepared, pipeline.WaitOptions, error) {
	wait := pipeline.WaitOptions{Events: os.Stderr}
	if timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return nil, wait, fmt.Errorf("--timeout %q: want a duration such as 15m", timeout)
		}
		wait.Timeout = d
	}
	l, err := s.load(ctx)
	if err != nil {
		return nil, wait, err
	}
	clients, err := l.cfg.Clients(ctx)
	if err != nil {
		return nil, wait, err
	}
	wait.Logs = clients.CloudWatchLogs // a failed deploy quotes its stopped task's log lines
	return &prepared{loaded: l, clients: clients}, wait, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Deployment is how a deploy ended.
type Deployment struct {
	// Cluster and service deployed.
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	// Task definition ARN registered (or reused) and deployed.
	TaskDefinition string `json:"taskDefinition"`
	// Container images, as NAME=IMAGE.
	Images []string `json:"images"`
	// ECS deployment that UpdateService started.
	DeploymentID string `json:"deploymentId"`
	// SUCCEEDED, STARTED (not waited for) or DRY_RUN; a failed deploy is an
	// error instead.
	Outcome string `json:"outcome"`
	// In a dry run: what would be registered and updated.
	Plan string `json:"plan"`
	// The --run-before migration's trace: its task, exit codes and last
	// log lines; empty when none ran.
	Migration string `json:"migration"`
	// A Markdown summary, for a CI job summary or a pull request: a row per
	// service, then each deploy's own summary with a Mermaid picture of
	// its timeline.
	Summary string `json:"summary"`
	// With several configs: how each service's deploy ended, in config
	// order (the fields above then describe the first that failed, else
	// the first).
	Services []*ServiceDeployment `json:"services"`
}

// ServiceDeployment is how one service's deploy ended, when several were
// deployed together.
type ServiceDeployment struct {
	// The config it was read from.
	Config  string `json:"config"`
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	// Task definition deployed, as family:revision.
	Revision string `json:"revision"`
	// SUCCEEDED, ROLLED_BACK, FAILED, STOPPED, TIMED_OUT, SKIPPED...
	Outcome string `json:"outcome"`
	// How long the deploy took, in seconds.
	DurationSeconds float64 `json:"durationSeconds"`
	// Why it did not succeed.
	Reason string `json:"reason"`
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
	// When to stop waiting (ecspresso's --wait-until): deployed, when the
	// deployment has ended (the default); stable, the same; paused, when a
	// PAUSE lifecycle hook of a blue/green, linear or canary deployment
	// awaits action; ecs:STAGE, when such a deployment, still in progress,
	// has reached lifecycle stage STAGE (such as ecs:BAKE_TIME) or a later
	// one. The last two are refused on a ROLLING service before anything
	// changes.
	// +optional
	waitUntil string,
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
	// With several configs: start no more services after one fails (those
	// started are followed to their end).
	// +optional
	failFast bool,
) (*Deployment, error) {
	return s.deploy(ctx, deployFlags{
		desiredCount: desiredCount, forceNewDeployment: forceNewDeployment, skipTaskDefinition: skipTaskDefinition,
		dryRun: dryRun, noWait: noWait, timeout: timeout, waitUntil: waitUntil, requireDigest: requireDigest, revision: revision,
		latestTaskDefinition: latestTaskDefinition, noUpdateService: noUpdateService,
		runBefore: runBefore, runBeforeContainer: runBeforeContainer, failFast: failFast,
	})
}

// deployFlags are deploy's arguments, which ship passes too.
type deployFlags struct {
	desiredCount                                   int
	forceNewDeployment, skipTaskDefinition, dryRun bool
	noWait, requireDigest, latestTaskDefinition    bool
	noUpdateService                                bool
	timeout, runBefore, runBeforeContainer         string
	waitUntil                                      string
	revision                                       int
	// diff shows the service diff before deploying, in the same run.
	diff bool
	// failFast starts no more services after one failed.
	failFast bool
}

// args are the engine's deploy arguments (ecspresso's names: --tasks is
// the desired count).
func (f deployFlags) args() []string {
	return append([]string{"deploy"}, f.flags()...)
}

// flags are args without the verb: deploy's flags, which ship takes too.
func (f deployFlags) flags() []string {
	args := []string{"--tasks=" + strconv.Itoa(f.desiredCount)}
	for _, b := range []struct {
		on   bool
		flag string
	}{
		{f.forceNewDeployment, "--force-new-deployment"}, {f.skipTaskDefinition, "--skip-task-definition"},
		{f.dryRun, "--dry-run"}, {f.noWait, "--no-wait"}, {f.requireDigest, "--require-digest"},
		{f.latestTaskDefinition, "--latest-task-definition"}, {f.noUpdateService, "--no-update-service"},
		{f.diff, "--diff"}, {f.failFast, "--fail-fast"},
	} {
		if b.on {
			args = append(args, b.flag)
		}
	}
	for _, v := range []struct{ flag, value string }{
		{"--timeout", f.timeout}, {"--wait-until", f.waitUntil}, {"--run-before", f.runBefore}, {"--run-before-container", f.runBeforeContainer},
	} {
		if v.value != "" {
			args = append(args, v.flag+"="+v.value)
		}
	}
	if f.revision != 0 {
		args = append(args, "--revision="+strconv.Itoa(f.revision))
	}
	return args
}

// deploy runs the engine's deploy and reads how it ended.
func (s *EcsService) deploy(ctx context.Context, f deployFlags) (*Deployment, error) {
	if err := checkTimeout(f.timeout); err != nil {
		return nil, err
	}
	r, err := s.run(ctx, f.args()...)
	if err != nil {
		return nil, err
	}
	result, err := r.Result(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the deploy's result: %w", err)
	}
	var d Deployment
	if err := json.Unmarshal([]byte(result), &d); err != nil {
		return nil, fmt.Errorf("reading the deploy's result: %w", err)
	}
	return &d, nil
}

// checkTimeout accepts an empty --timeout or a positive duration.
func checkTimeout(timeout string) error {
	if timeout == "" {
		return nil
	}
	if d, err := time.ParseDuration(timeout); err != nil || d <= 0 {
		return fmt.Errorf("--timeout %q: want a duration such as 15m", timeout)
	}
	return nil
}

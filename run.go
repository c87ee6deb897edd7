package main

import (
	"context"
	"fmt"
	"strconv"
)

// Run a one-off task as `ecspresso run` does: of the rendered task
// definition by default, registered only when it differs from the
// family's latest revision, with the service's launch type or capacity
// providers and network configuration; then wait until it stops and
// print its trace with its log lines. Fails when an essential container
// exits non-zero or never runs.
// +cache="never"
func (s *EcsService) Run(
	ctx context.Context,
	// The revision to run, family:revision or an ARN, registering nothing;
	// the rendered task definition when empty.
	// +optional
	taskDefinition string,
	// The command to run instead of the container's, one argument per
	// item.
	// +optional
	command []string,
	// The container that --command and --env override; the task
	// definition's first container when empty.
	// +optional
	container string,
	// How many tasks to run, 1 to 10.
	// +default=1
	count int,
	// Return once the tasks are started.
	// +optional
	noWait bool,
	// How long to wait for the tasks to stop, such as 15m; the config's
	// timeout (10m) when empty.
	// +optional
	timeout string,
	// How many of each container's last log lines to show; 0 shows none.
	// +default=100
	logLines int,
	// Register nothing and run the revision the service runs.
	// +optional
	skipTaskDefinition bool,
	// Register nothing and run the latest revision of the service's family.
	// +optional
	latestTaskDefinition bool,
	// An environment variable for the container, NAME=VALUE; repeat for
	// several. Dagger reads each value as CSV: quote one holding a comma.
	// +optional
	env []string,
	// A task override as RunTask takes it, in JSON, as ecspresso's
	// --overrides ({"containerOverrides":[...],"taskRoleArn":...}); an
	// unknown key is an error. --command and --env are merged into it.
	// +optional
	overrides string,
	// The tasks' startedBy; ecs-pipeline when empty.
	// +optional
	startedBy string,
	// A tag for the tasks, KEY=VALUE; repeat for several.
	// +optional
	tag []string,
	// Copy tags onto the tasks from SERVICE (its tags but aws: ones) or
	// TASK_DEFINITION, as ecspresso's --propagate-tags; none when empty.
	// +optional
	propagateTags string,
) (string, error) {
	if count < 1 || count > 10 {
		return "", fmt.Errorf("--count %d: want 1 to 10", count)
	}
	if err := checkTimeout(timeout); err != nil {
		return "", err
	}
	for flag, kvs := range map[string][]string{"--env": env, "--tag": tag} {
		if _, err := keyValues(flag, kvs); err != nil {
			return "", err
		}
	}
	cmd := []string{"run", "--count=" + strconv.Itoa(count), "--log-lines=" + strconv.Itoa(max(logLines, 0))}
	for _, v := range []struct{ flag, value string }{
		{"--task-definition", taskDefinition}, {"--container", container}, {"--timeout", timeout},
		{"--overrides", overrides}, {"--started-by", startedBy}, {"--propagate-tags", propagateTags},
	} {
		if v.value != "" {
			cmd = append(cmd, v.flag+"="+v.value)
		}
	}
	for _, b := range []struct {
		on   bool
		flag string
	}{{noWait, "--no-wait"}, {skipTaskDefinition, "--skip-task-definition"}, {latestTaskDefinition, "--latest-task-definition"}} {
		if b.on {
			cmd = append(cmd, b.flag)
		}
	}
	for _, c := range command {
		cmd = append(cmd, "--command="+c)
	}
	for _, e := range env {
		cmd = append(cmd, "--env="+e)
	}
	for _, t := range tag {
		cmd = append(cmd, "--tags="+t)
	}
	return s.output(ctx, cmd...)
}

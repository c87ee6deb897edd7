package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TasksCmd lists the service's tasks as the module's Tasks did, or with
// --trace traces one task as its Trace did (ecspresso's `tasks --trace
// --id`; TasksOption: --id, --output, --find, --stop, --force, --trace).
// --output lists as ecspresso does (table, tsv, json); --stop [--force]
// stops the task --id names; --find is warned about.
type TasksCmd struct {
	Stopped    bool   `help:"List only stopped tasks."`
	Deployment string `help:"List only the tasks this deployment started (ecs-svc/...)." placeholder:"ID"`
	Format     string `default:"text" help:"Output format: text, or markdown for a CI job summary."`
	Trace      bool   `help:"Trace one task: its lifecycle, events, exit codes and last log lines."`
	ID         string `name:"id" help:"With --trace, the task id or ARN; the most recently stopped task when empty."`
	LogLines   int    `default:"100" help:"With --trace, how many of each container's last log lines to show; 0 shows none."`

	Output string `enum:"table,tsv,json," default:"" help:"List as ecspresso does: table, tsv, or json (each task as the ECS API's JSON)."`

	Stop  bool `help:"Stop the task --id names (of the service or its family); asks at a terminal unless --force."`
	Force bool `help:"With --stop, stop without asking."`

	Find bool `hidden:"" unsupported:"warn"`
}

func (t *TasksCmd) Run(a *app) error {
	if err := checkFormat(t.Format); err != nil {
		return err
	}
	if !t.Trace && !t.Stop && t.ID != "" {
		return fmt.Errorf("--id %q: only with --trace or --stop", t.ID)
	}
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	if t.Stop {
		opts := pipeline.StopTaskOptions{TaskID: t.ID}
		confirm := &confirmation{a: a}
		if !t.Force {
			opts.Confirm = func(ti pipeline.TaskInfo) bool {
				return confirm.yes(fmt.Sprintf("Stop task %s (%s, %s)?", ti.ID, ti.TaskDefinition, ti.LastStatus))
			}
		}
		stopped, err := pipeline.StopTask(a.ctx, c.clients.ECS, c.cfg, opts)
		if err != nil {
			return confirm.err(err, "tasks --stop")
		}
		a.print(fmt.Sprintf("stopping task %s (%s): desired status %s\n", stopped.ID, stopped.TaskDefinition, stopped.DesiredStatus))
		return nil
	}
	if t.Trace {
		logLines := t.LogLines
		if logLines <= 0 {
			logLines = -1
		}
		tr, err := pipeline.Trace(a.ctx, c.clients.ECS, c.clients.CloudWatchLogs, c.cfg, pipeline.TraceOptions{TaskID: t.ID, LogLines: logLines})
		if err != nil {
			return err
		}
		if t.Format == "markdown" {
			a.print(tr.Markdown())
		} else {
			a.print(tr.String())
		}
		return nil
	}
	list, err := pipeline.Tasks(a.ctx, c.clients.ECS, c.cfg, pipeline.TasksOptions{Stopped: t.Stopped, DeploymentID: t.Deployment})
	if err != nil {
		return err
	}
	switch {
	case t.Output != "":
		out, err := list.Output(t.Output)
		if err != nil {
			return err
		}
		a.print(out)
	case t.Format == "markdown":
		a.print(list.Markdown())
	default:
		a.print(list.String())
	}
	return nil
}

// LogsCmd is the module's Logs: the service's log lines over a recent
// window; with --follow, new lines as they come until --timeout (10m).
type LogsCmd struct {
	Since  string `default:"10m" help:"How far back to start, such as 10m or 2h."`
	Follow bool   `help:"Keep printing new lines until --timeout."`
}

func (l *LogsCmd) Run(a *app) error {
	window, err := time.ParseDuration(l.Since)
	if err != nil || window <= 0 {
		return fmt.Errorf("--since %q: want a duration such as 10m", l.Since)
	}
	c, wait, err := a.prepare("")
	if err != nil {
		return err
	}
	timeout := wait.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	// Lines go to stdout as they come.
	_, err = pipeline.Logs(a.ctx, c.clients.ECS, c.clients.CloudWatchLogs, c.cfg, pipeline.LogsOptions{
		Since: window, Follow: l.Follow, Timeout: timeout, Out: a.stdout,
	})
	return err
}

// RunCmd is ecspresso's run (kayac/ecspresso run.go, RunOption:
// --overrides, --overrides-file, --skip-task-definition, --count,
// --latest-task-definition, --propagate-tags, --tags K=V,K=V, --wait /
// --no-wait, --dry-run, --wait-until running|stopped, --client-token)
// with the module's Run: --task-definition FAMILY:REV|ARN
// (ecspresso's --task-def takes a file instead, and is refused),
// --command, --container, --env, --log-lines, --started-by.
type RunCmd struct {
	TaskDefinition       string   `help:"The revision to run, family:revision or an ARN, registering nothing." placeholder:"FAMILY:REV"`
	Command              []string `sep:"none" help:"The command instead of the container's, one argument per flag."`
	Container            string   `help:"The container --command and --env override; the first when empty."`
	Count                int32    `default:"1" help:"How many tasks to run, 1 to 10."`
	Wait                 bool     `default:"true" negatable:"" help:"Wait for the tasks to stop (--no-wait returns once started)."`
	LogLines             int      `default:"100" help:"How many of each container's last log lines to show; 0 shows none."`
	SkipTaskDefinition   bool     `help:"Register nothing and run the revision the service runs."`
	LatestTaskDefinition bool     `help:"Register nothing and run the family's latest revision."`
	Env                  []string `sep:"none" help:"An environment variable for the container, NAME=VALUE; repeatable." placeholder:"NAME=VALUE"`
	Overrides            string   `help:"A task override as RunTask takes it, in JSON." placeholder:"JSON"`
	OverridesFile        string   `help:"A file holding --overrides." placeholder:"FILE"`
	StartedBy            string   `help:"The tasks' startedBy; ecs-pipeline when empty."`
	Tags                 []string `sep:"none" help:"Tags for the tasks, KEY=VALUE[,KEY=VALUE]; repeatable." placeholder:"K=V,..."`
	PropagateTags        string   `enum:"SERVICE,TASK_DEFINITION," default:"" help:"Copy tags onto the tasks from SERVICE or TASK_DEFINITION."`

	DryRun      bool   `help:"Say what would be registered and run (the RunTask request), starting nothing."`
	WaitUntil   string `enum:"stopped,running" default:"stopped" help:"Wait until the tasks have stopped, or only until they run." placeholder:"WHEN"`
	ClientToken string `help:"RunTask's idempotency token: a repeat with the same token starts no more tasks." placeholder:"TOKEN"`

	TaskDef        string `hidden:"" unsupported:"fail" why:"use --task-definition FAMILY:REVISION, or render the file into the config's task definition."`
	WatchContainer string `hidden:"" unsupported:"warn"`
	Revision       int64  `help:"With --skip-task-definition or --latest-task-definition, run this revision of the family (ecspresso's; the same as --task-definition FAMILY:N)."`
}

func (r *RunCmd) Run(a *app) error {
	if r.Count < 1 || r.Count > 10 {
		return fmt.Errorf("--count %d: want 1 to 10", r.Count)
	}
	envs, err := keyValues("--env", r.Env)
	if err != nil {
		return err
	}
	var pairs []string
	for _, t := range r.Tags {
		// ecspresso's --tags is KeyFoo=ValueFoo,KeyBar=ValueBar (options.go parseTags).
		for p := range strings.SplitSeq(t, ",") {
			if p != "" {
				pairs = append(pairs, p)
			}
		}
	}
	tags, err := keyValues("--tags", pairs)
	if err != nil {
		return err
	}
	overrides := r.Overrides
	if r.OverridesFile != "" {
		if overrides != "" {
			return fmt.Errorf("--overrides and --overrides-file: give one")
		}
		b, err := os.ReadFile(r.OverridesFile)
		if err != nil {
			return fmt.Errorf("--overrides-file: %w", err)
		}
		overrides = string(b)
	}
	var ov *types.TaskOverride
	if overrides != "" {
		if ov, err = pipeline.ParseTaskOverride(overrides); err != nil {
			return fmt.Errorf("--overrides: %w", err)
		}
	}
	c, wait, err := a.prepare("")
	if err != nil {
		return err
	}
	if r.Revision > 0 {
		// ecspresso's run --revision N (taskDefinitionArnForRun).
		if !r.SkipTaskDefinition && !r.LatestTaskDefinition || r.TaskDefinition != "" {
			return fmt.Errorf("--revision %d: only with --skip-task-definition or --latest-task-definition, without --task-definition", r.Revision)
		}
		family, err := c.cfg.Family(a.ctx)
		if err != nil {
			return err
		}
		r.TaskDefinition, r.SkipTaskDefinition, r.LatestTaskDefinition = fmt.Sprintf("%s:%d", family, r.Revision), false, false
	}
	logLines := r.LogLines
	if logLines <= 0 {
		logLines = -1
	}
	res, err := pipeline.Run(a.ctx, c.clients.ECS, c.clients.CloudWatchLogs, c.cfg, pipeline.RunOptions{
		TaskDefinition: r.TaskDefinition, SkipTaskDefinition: r.SkipTaskDefinition, LatestTaskDefinition: r.LatestTaskDefinition,
		ImageOverrides: c.overrides, Container: r.Container, Command: r.Command, Env: envs, Overrides: ov,
		StartedBy: r.StartedBy, Tags: tags, PropagateTags: r.PropagateTags,
		Count: r.Count, NoWait: !r.Wait, Timeout: wait.Timeout, LogLines: logLines,
		UntilRunning: r.WaitUntil == "running", ClientToken: r.ClientToken, DryRun: r.DryRun, Clock: wait.Clock,
	})
	if err != nil {
		return err
	}
	a.print(res.String())
	return nil
}

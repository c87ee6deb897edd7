package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// LogStreamReader is the part of the CloudWatch Logs client that reads one
// log stream, a task's container's.
type LogStreamReader interface {
	GetLogEvents(ctx context.Context, in *cloudwatchlogs.GetLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

// TraceOptions configures Trace and TraceTask.
type TraceOptions struct {
	// TaskID is the task to trace (id or ARN); empty traces the service's
	// most recently stopped task.
	TaskID string
	// LogLines is how many of each container's last log lines to show;
	// zero means 100, negative none.
	LogLines int
	// Clock paces the retries of throttled calls; nil is SystemClock.
	Clock Clock
}

// defaultTraceLogLines is TraceOptions.LogLines when zero.
const defaultTraceLogLines = 100

// TaskTrace is what happened to one task, in time order.
type TaskTrace struct {
	Cluster string
	// Service is empty for a task no service started.
	Service string
	Task    TaskInfo
	// Entries are the timeline: lifecycle steps, the service events that
	// name the task, container exits and log lines, oldest first.
	Entries []TraceEntry
	// Notes say what the trace could not show and why (no log
	// configuration, no log stream, an unreadable source).
	Notes []string
}

// TraceEntry is one moment of a task's timeline.
type TraceEntry struct {
	Time time.Time
	// Source is "task", "event", "container" or "log NAME" (a container's
	// log line).
	Source  string
	Message string
}

// Trace explains one task of the config's service, as `ecspresso tasks
// --trace` does: TraceTask of opts.TaskID, or of the service's most
// recently stopped task.
func Trace(ctx context.Context, api TraceAPI, logs LogStreamReader, cfg *Config, opts TraceOptions) (*TaskTrace, error) {
	clock := cmp.Or[Clock](opts.Clock, SystemClock{})
	tasks := patientTasks(api, clock, maxTaskReadRetry)
	var task *types.Task
	if opts.TaskID != "" {
		out, err := tasks.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cfg.Cluster), Tasks: []string{opts.TaskID}})
		if err != nil {
			return nil, fmt.Errorf("tracing task %s: %w", opts.TaskID, err)
		}
		if len(out.Tasks) == 0 {
			return nil, fmt.Errorf("tracing task %s: no such task in cluster %q", opts.TaskID, cfg.Cluster)
		}
		task = &out.Tasks[0]
	} else {
		arns, err := listTasks(ctx, tasks, &ecs.ListTasksInput{
			Cluster: aws.String(cfg.Cluster), ServiceName: aws.String(cfg.Service), DesiredStatus: types.DesiredStatusStopped,
		})
		if err != nil {
			return nil, fmt.Errorf("tracing: listing stopped tasks of service %q: %w", cfg.Service, err)
		}
		if task, err = newestStopped(ctx, tasks, cfg.Cluster, arns); err != nil {
			return nil, fmt.Errorf("tracing: %w", err)
		}
		if task == nil {
			return nil, fmt.Errorf("tracing: service %q has no stopped task (ECS keeps them about an hour); name one with its id", cfg.Service)
		}
	}
	return TraceTask(ctx, api, logs, cfg.Cluster, *task, opts)
}

// newestStopped describes arns and returns the task that stopped last,
// preferring tasks that failed over tasks the scheduler scaled in; nil
// when arns is empty.
func newestStopped(ctx context.Context, api TaskReader, cluster string, arns []string) (*types.Task, error) {
	if len(arns) == 0 {
		return nil, nil
	}
	ts, err := describeTasks(ctx, api, cluster, arns)
	if err != nil {
		return nil, err
	}
	scaledIn := func(t types.Task) bool {
		return strings.HasPrefix(aws.ToString(t.StoppedReason), "Scaling activity initiated by")
	}
	var best *types.Task
	for i := range ts {
		t := &ts[i]
		switch {
		case best == nil,
			scaledIn(*best) && !scaledIn(*t),
			scaledIn(*best) == scaledIn(*t) && aws.ToTime(t.StoppedAt).After(aws.ToTime(best.StoppedAt)):
			best = t
		}
	}
	return best, nil
}

// TraceTask explains task: its lifecycle timestamps, the events of its
// service that name it, its containers' exit codes and reasons, and the
// last log lines of each container that logs with awslogs (stream
// PREFIX/CONTAINER/TASK_ID in the awslogs-group of awslogs-region). It
// makes one DescribeServices, one DescribeTaskDefinition and one
// GetLogEvents per such container; throttled calls are retried. What it
// cannot read becomes a note, not an error: a trace is for explaining a
// failure and must show whatever it can.
func TraceTask(ctx context.Context, api TraceAPI, logs LogStreamReader, cluster string, task types.Task, opts TraceOptions) (*TaskTrace, error) {
	clock := cmp.Or[Clock](opts.Clock, SystemClock{})
	tr := &TaskTrace{Cluster: cluster, Task: taskInfo(task)}
	tr.Service, _ = strings.CutPrefix(aws.ToString(task.Group), "service:")
	if tr.Service == aws.ToString(task.Group) {
		tr.Service = ""
	}
	add := func(at *time.Time, source, msg string) {
		if at != nil && !at.IsZero() {
			tr.Entries = append(tr.Entries, TraceEntry{Time: *at, Source: source, Message: msg})
		}
	}
	add(task.CreatedAt, "task", "created ("+tr.Task.TaskDefinition+")")
	add(task.PullStartedAt, "task", "image pull started")
	add(task.PullStoppedAt, "task", "image pull stopped")
	add(task.StartedAt, "task", "started")
	add(task.StoppingAt, "task", "stopping: "+cmp.Or(tr.Task.stop(), "desired status "+tr.Task.DesiredStatus))
	add(task.ExecutionStoppedAt, "task", "execution stopped")
	add(task.StoppedAt, "task", "stopped: "+cmp.Or(tr.Task.stop(), "STOPPED"))
	exited := cmp.Or(task.ExecutionStoppedAt, task.StoppedAt)
	for _, c := range tr.Task.Containers {
		if c.ExitCode != nil || c.Reason != "" {
			add(exited, "container", c.String())
		}
	}

	if tr.Service != "" {
		out, err := retrying(ctx, clock, transientIn(ctx), func() (*ecs.DescribeServicesOutput, error) {
			return api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{tr.Service}})
		})
		if err != nil {
			tr.Notes = append(tr.Notes, fmt.Sprintf("service events: %v", err))
		} else {
			seen := map[string]bool{}
			for _, s := range out.Services {
				for _, e := range s.Events {
					if id := aws.ToString(e.Id); !seen[id] && strings.Contains(aws.ToString(e.Message), tr.Task.ID) {
						seen[id] = true
						add(e.CreatedAt, "event", aws.ToString(e.Message))
					}
				}
			}
		}
	}

	if opts.LogLines >= 0 {
		tr.readLogs(ctx, api, logs, clock, task, cmp.Or(opts.LogLines, defaultTraceLogLines))
	}
	order := map[string]int{"task": 0, "event": 1, "container": 3}
	slices.SortStableFunc(tr.Entries, func(a, b TraceEntry) int {
		oa, ok := order[a.Source]
		if !ok {
			oa = 2 // log lines before the exit they led to
		}
		ob, ok := order[b.Source]
		if !ok {
			ob = 2
		}
		return cmp.Or(a.Time.Compare(b.Time), oa-ob)
	})
	return tr, nil
}

// readLogs adds the last n log lines of each awslogs container of task.
func (tr *TaskTrace) readLogs(ctx context.Context, api TaskDefinitionDescriber, logs LogStreamReader, clock Clock, task types.Task, n int) {
	retry := transientIn(ctx)
	td, err := retrying(ctx, clock, retry, func() (*ecs.DescribeTaskDefinitionOutput, error) {
		return api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: task.TaskDefinitionArn})
	})
	if err != nil {
		tr.Notes = append(tr.Notes, fmt.Sprintf("logs: reading task definition %s: %v", tr.Task.TaskDefinition, err))
		return
	}
	if logs == nil {
		tr.Notes = append(tr.Notes, "logs: no CloudWatch Logs client")
		return
	}
	for _, src := range logSources(td.TaskDefinition) {
		stream := src.prefix + src.container + "/" + tr.Task.ID
		if src.noPrefix {
			tr.Notes = append(tr.Notes, fmt.Sprintf("logs of %s: awslogs without awslogs-stream-prefix, so its stream is not named after the task", src.container))
			continue
		}
		out, err := retrying(ctx, clock, retry, func() (*cloudwatchlogs.GetLogEventsOutput, error) {
			return logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
				LogGroupName:  aws.String(src.group),
				LogStreamName: aws.String(stream),
				Limit:         aws.Int32(int32(min(n, 10000))),
				StartFromHead: aws.Bool(false),
			}, src.inRegion)
		})
		var nf *logtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			tr.Notes = append(tr.Notes, fmt.Sprintf("logs of %s: no log stream %s in %s (the container never started, or its logs expired)", src.container, stream, src.group))
			continue
		case err != nil:
			tr.Notes = append(tr.Notes, fmt.Sprintf("logs of %s: reading %s in %s: %v", src.container, stream, src.group, err))
			continue
		}
		for _, e := range out.Events {
			at := time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC()
			tr.Entries = append(tr.Entries, TraceEntry{Time: at, Source: "log " + src.container, Message: strings.TrimRight(aws.ToString(e.Message), "\n")})
		}
		if len(out.Events) == 0 {
			tr.Notes = append(tr.Notes, fmt.Sprintf("logs of %s: stream %s is empty", src.container, stream))
		}
	}
}

// logSource is where one container of a task definition logs.
type logSource struct {
	container string
	group     string
	region    string
	// prefix is "awslogs-stream-prefix/", empty with noPrefix.
	prefix   string
	noPrefix bool
}

// inRegion sends a Logs call to the source's awslogs-region, when set.
func (s logSource) inRegion(o *cloudwatchlogs.Options) {
	if s.region != "" {
		o.Region = s.region
	}
}

// logSources returns the containers of td that log with awslogs.
func logSources(td *types.TaskDefinition) []logSource {
	if td == nil {
		return nil
	}
	var out []logSource
	for _, c := range td.ContainerDefinitions {
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs || lc.Options["awslogs-group"] == "" {
			continue
		}
		s := logSource{container: aws.ToString(c.Name), group: lc.Options["awslogs-group"], region: lc.Options["awslogs-region"]}
		if p := lc.Options["awslogs-stream-prefix"]; p != "" {
			s.prefix = p + "/"
		} else {
			s.noPrefix = true
		}
		out = append(out, s)
	}
	return out
}

// String is the trace as text: a summary, the timeline, then the notes.
func (tr *TaskTrace) String() string {
	var b strings.Builder
	t := tr.Task
	fmt.Fprintf(&b, "task %s (%s) of ", t.ID, t.TaskDefinition)
	if tr.Service != "" {
		fmt.Fprintf(&b, "service %q in ", tr.Service)
	}
	fmt.Fprintf(&b, "cluster %q: %s", tr.Cluster, t.LastStatus)
	if s := t.stop(); s != "" {
		fmt.Fprintf(&b, " (%s)", s)
	}
	b.WriteString("\n")
	for _, c := range t.Containers {
		fmt.Fprintf(&b, "  %s\n", c)
	}
	for _, e := range tr.Entries {
		fmt.Fprintf(&b, "%s  %-13s  %s\n", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), e.Source, e.Message)
	}
	for _, n := range tr.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

// Markdown is the trace for a CI job summary: a heading, the containers,
// the timeline as a table, the notes.
func (tr *TaskTrace) Markdown() string {
	var b strings.Builder
	t := tr.Task
	fmt.Fprintf(&b, "### Task `%s` (`%s`)\n\n", t.ID, t.TaskDefinition)
	if tr.Service != "" {
		fmt.Fprintf(&b, "Service `%s` in cluster `%s`: **%s**", tr.Service, tr.Cluster, t.LastStatus)
	} else {
		fmt.Fprintf(&b, "Cluster `%s`: **%s**", tr.Cluster, t.LastStatus)
	}
	if s := t.stop(); s != "" {
		fmt.Fprintf(&b, " (%s)", mdCell(s))
	}
	b.WriteString("\n\n")
	for _, c := range t.Containers {
		fmt.Fprintf(&b, "- %s\n", mdCell(c.String()))
	}
	b.WriteString("\n| Time | Source | What |\n|---|---|---|\n")
	for _, e := range tr.Entries {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", e.Time.UTC().Format("15:04:05.000"), e.Source, mdCell(e.Message))
	}
	if len(tr.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range tr.Notes {
			fmt.Fprintf(&b, "> %s\n", mdCell(n))
		}
	}
	return b.String()
}

// deploymentTraceLines is how many log lines per container a failed
// deploy's error quotes.
const deploymentTraceLines = 20

// maxDeploymentTrace bounds the trace a failed deploy adds to its error.
const maxDeploymentTrace = 30 * time.Second

// traceDeployment returns the trace of the most recently stopped task of a
// deployment, with its last log lines, for a failed deploy's error; empty
// when there is none or it cannot be read, so that it never hides the
// deployment's own error. It takes at most budget, on clock and in wall
// time, within ctx.
func traceDeployment(ctx context.Context, api WaitAPI, logs LogStreamReader, clock Clock, budget time.Duration, cluster, deploymentID string) string {
	tapi, ok := api.(TraceAPI)
	if !ok || ctx.Err() != nil || budget <= 0 {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	tasks := patientTasks(api, clock, budget)
	list, err := tasks.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster: aws.String(cluster), StartedBy: aws.String(deploymentID), DesiredStatus: types.DesiredStatusStopped, MaxResults: aws.Int32(100),
	})
	if err != nil {
		return ""
	}
	task, err := newestStopped(ctx, tasks, cluster, list.TaskArns)
	if err != nil || task == nil {
		return ""
	}
	opts := TraceOptions{LogLines: deploymentTraceLines, Clock: clock}
	if logs == nil {
		opts.LogLines = -1 // the caller reads no logs: no note saying so
	}
	tr, err := TraceTask(ctx, tapi, logs, cluster, *task, opts)
	if err != nil {
		return ""
	}
	return tr.String()
}

package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TasksOptions configures Tasks.
type TasksOptions struct {
	// Stopped lists only stopped tasks; by default running (and pending)
	// tasks come first, then the stopped ones ECS still keeps (about an
	// hour).
	Stopped bool
	// DeploymentID lists only the tasks that deployment started (their
	// startedBy), e.g. "ecs-svc/1234567890123456789".
	DeploymentID string
	// Clock paces the retries of throttled calls; nil is SystemClock.
	Clock Clock
}

// TaskList is the tasks of a service, newest first.
type TaskList struct {
	Cluster string
	Service string
	Tasks   []TaskInfo
}

// TaskInfo is one task as DescribeTasks reports it.
type TaskInfo struct {
	// ID is the task id, the last part of its ARN.
	ID  string
	ARN string
	// TaskDefinition is "family:revision".
	TaskDefinition string
	// LastStatus and DesiredStatus are PROVISIONING, PENDING, RUNNING,
	// DEACTIVATING, STOPPED and so on.
	LastStatus    string
	DesiredStatus string
	HealthStatus  string
	// StartedBy is the deployment that started the task.
	StartedBy string
	CreatedAt time.Time
	// StartedAt and StoppedAt are zero until the task started or stopped.
	StartedAt time.Time
	StoppedAt time.Time
	// StopCode and StoppedReason say why the task stopped.
	StopCode      string
	StoppedReason string
	Containers    []ContainerInfo
	// Group, LaunchType and ContainerInstance are as ECS reports them
	// ("service:web", FARGATE, the container instance's ARN on EC2).
	Group, LaunchType, ContainerInstance string

	api types.Task // the task as DescribeTasks returned it
}

// ContainerInfo is one container of a task.
type ContainerInfo struct {
	Name       string
	LastStatus string
	// ExitCode is nil until the container exited.
	ExitCode *int32
	// Reason is ECS's reason for the container's stop, such as
	// "OutOfMemoryError: Container killed due to memory usage".
	Reason string
}

// maxTaskReadRetry bounds how long tasks and trace retry one throttled
// or failing read before they give up.
const maxTaskReadRetry = time.Minute

// TasksAPI is what Tasks calls.
type TasksAPI interface {
	TaskReader
	ServiceDescriber
}

// Tasks lists the running and recently stopped tasks of the config's
// service and the one-off tasks of its task definition family (run's,
// migrations), newest first, as ecspresso's tasks lists "tasks that are
// in a service or having the same family": ListTasks for each desired
// status, by service and by family, then DescribeTasks in batches of 100.
// Another service's tasks of the family are left out. Throttled calls
// are retried.
func Tasks(ctx context.Context, api TasksAPI, cfg *Config, opts TasksOptions) (*TaskList, error) {
	clock := opts.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	reader := patientTasks(api, clock, maxTaskReadRetry)
	var family string
	if opts.DeploymentID == "" {
		svc, err := retrying(ctx, clock, transientIn(ctx), func() (*types.Service, error) {
			return describeService(ctx, api, cfg.Cluster, cfg.Service)
		})
		if err != nil {
			return nil, fmt.Errorf("listing tasks: %w", err)
		}
		family, _, _ = strings.Cut(shortTaskDefinition(aws.ToString(svc.TaskDefinition)), ":")
	}
	statuses := []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped}
	if opts.Stopped {
		statuses = statuses[1:]
	}
	var arns []string
	for _, st := range statuses {
		var inputs []*ecs.ListTasksInput
		if opts.DeploymentID != "" {
			// A deployment id names one service's tasks; ListTasks takes
			// startedBy or serviceName, not both.
			inputs = append(inputs, &ecs.ListTasksInput{Cluster: aws.String(cfg.Cluster), DesiredStatus: st, StartedBy: aws.String(opts.DeploymentID)})
		} else {
			// ListTasks takes serviceName or family, not both.
			inputs = append(inputs,
				&ecs.ListTasksInput{Cluster: aws.String(cfg.Cluster), DesiredStatus: st, ServiceName: aws.String(cfg.Service)},
				&ecs.ListTasksInput{Cluster: aws.String(cfg.Cluster), DesiredStatus: st, Family: aws.String(family)})
		}
		for _, in := range inputs {
			more, err := listTasks(ctx, reader, in)
			if err != nil {
				return nil, fmt.Errorf("listing tasks of service %q: %w", cfg.Service, err)
			}
			for _, arn := range more {
				if !slices.Contains(arns, arn) {
					arns = append(arns, arn)
				}
			}
		}
	}
	tasks, err := describeTasks(ctx, reader, cfg.Cluster, arns)
	if err != nil {
		return nil, err
	}
	list := &TaskList{Cluster: cfg.Cluster, Service: cfg.Service}
	for _, t := range tasks {
		group := aws.ToString(t.Group)
		if group != "service:"+cfg.Service && (opts.DeploymentID != "" || strings.HasPrefix(group, "service:")) {
			continue
		}
		list.Tasks = append(list.Tasks, taskInfo(t))
	}
	slices.SortStableFunc(list.Tasks, func(a, b TaskInfo) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return list, nil
}

// listTasks returns the ARNs of every page of ListTasks.
func listTasks(ctx context.Context, api TaskReader, in *ecs.ListTasksInput) ([]string, error) {
	page := *in // the caller's input keeps its token
	in = &page
	var arns []string
	for {
		out, err := api.ListTasks(ctx, in)
		if err != nil {
			return nil, err
		}
		arns = append(arns, out.TaskArns...)
		if aws.ToString(out.NextToken) == "" {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// describeTasks describes tasks in batches of 100, the most DescribeTasks
// takes.
func describeTasks(ctx context.Context, api TaskReader, cluster string, arns []string) ([]types.Task, error) {
	var tasks []types.Task
	for batch := range slices.Chunk(arns, 100) {
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch})
		if err != nil {
			return nil, fmt.Errorf("describing tasks: %w", err)
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

func taskInfo(t types.Task) TaskInfo {
	arn := aws.ToString(t.TaskArn)
	ti := TaskInfo{
		ID:             arn[strings.LastIndexByte(arn, '/')+1:],
		ARN:            arn,
		TaskDefinition: shortTaskDefinition(aws.ToString(t.TaskDefinitionArn)),
		LastStatus:     aws.ToString(t.LastStatus),
		DesiredStatus:  aws.ToString(t.DesiredStatus),
		HealthStatus:   string(t.HealthStatus),
		StartedBy:      aws.ToString(t.StartedBy),
		CreatedAt:      aws.ToTime(t.CreatedAt),
		StartedAt:      aws.ToTime(t.StartedAt),
		StoppedAt:      aws.ToTime(t.StoppedAt),
		StopCode:       string(t.StopCode),
		StoppedReason:  aws.ToString(t.StoppedReason),

		Group:             aws.ToString(t.Group),
		LaunchType:        string(t.LaunchType),
		ContainerInstance: aws.ToString(t.ContainerInstanceArn),
		api:               t,
	}
	for _, c := range t.Containers {
		ti.Containers = append(ti.Containers, ContainerInfo{
			Name: aws.ToString(c.Name), LastStatus: aws.ToString(c.LastStatus), ExitCode: c.ExitCode, Reason: aws.ToString(c.Reason),
		})
	}
	return ti
}

// stamp formats a time for listings; zero is "-".
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// stop says why a task stopped: "CODE: reason", empty while it runs.
func (t TaskInfo) stop() string {
	switch {
	case t.StopCode != "" && t.StoppedReason != "":
		return t.StopCode + ": " + t.StoppedReason
	default:
		return t.StopCode + t.StoppedReason
	}
}

// String describes a container's end: "app: exit code 137
// (OutOfMemoryError: ...)", or its status while it has not exited.
func (c ContainerInfo) String() string {
	s := c.Name + ": " + strings.ToLower(c.LastStatus)
	if c.ExitCode != nil {
		s = fmt.Sprintf("%s: exit code %d", c.Name, *c.ExitCode)
	}
	if c.Reason != "" {
		s += " (" + c.Reason + ")"
	}
	return s
}

// String is a table, one task a line, with its containers below it.
func (l *TaskList) String() string {
	var b strings.Builder
	if len(l.Tasks) == 0 {
		fmt.Fprintf(&b, "no tasks of service %q in cluster %q\n", l.Service, l.Cluster)
		return b.String()
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tREVISION\tSTATUS\tSTARTED\tSTOPPED\tSTOP")
	for _, t := range l.Tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.TaskDefinition, t.LastStatus, stamp(t.StartedAt), stamp(t.StoppedAt), t.stop())
		for _, c := range t.Containers {
			if c.ExitCode != nil || c.Reason != "" {
				fmt.Fprintf(tw, "  %s\t\t\t\t\t\n", c)
			}
		}
	}
	tw.Flush()
	return b.String()
}

// Output formats the list as ecspresso's tasks --output does (its
// listing is ecsta's, fujiwara/ecsta format.go): table or tsv with the
// columns ID, TaskDefinition, Instance, LastStatus, DesiredStatus,
// CreatedAt, Group and Type, or json, each task as the ECS API's JSON.
func (l *TaskList) Output(format string) (string, error) {
	var b strings.Builder
	columns := []string{"ID", "TaskDefinition", "Instance", "LastStatus", "DesiredStatus", "CreatedAt", "Group", "Type"}
	row := func(t TaskInfo) []string {
		return []string{t.ID, t.TaskDefinition, lastSegment(t.ContainerInstance), t.LastStatus, t.DesiredStatus, stamp(t.CreatedAt), t.Group, t.LaunchType}
	}
	switch format {
	case "json":
		for _, t := range l.Tasks {
			js, err := indentedJSON(t.api)
			if err != nil {
				return "", err
			}
			b.WriteString(js + "\n")
		}
	case "tsv":
		b.WriteString(strings.Join(columns, "\t") + "\n")
		for _, t := range l.Tasks {
			b.WriteString(strings.Join(row(t), "\t") + "\n")
		}
	case "table":
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(columns, "\t"))
		for _, t := range l.Tasks {
			fmt.Fprintln(tw, strings.Join(row(t), "\t"))
		}
		tw.Flush()
	default:
		return "", fmt.Errorf("--output %q: want table, tsv or json", format)
	}
	return b.String(), nil
}

// Markdown is a table for a CI job summary.
func (l *TaskList) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Tasks of `%s` in `%s`\n\n", l.Service, l.Cluster)
	if len(l.Tasks) == 0 {
		b.WriteString("No tasks.\n")
		return b.String()
	}
	b.WriteString("| Task | Revision | Status | Started | Stopped | Stop | Containers |\n|---|---|---|---|---|---|---|\n")
	for _, t := range l.Tasks {
		var cs []string
		for _, c := range t.Containers {
			cs = append(cs, mdCell(c.String()))
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s | %s |\n", t.ID, t.TaskDefinition, t.LastStatus,
			stamp(t.StartedAt), stamp(t.StoppedAt), mdCell(t.stop()), strings.Join(cs, "<br>"))
	}
	return b.String()
}

// StopTaskAPI is what StopTask calls.
type StopTaskAPI interface {
	TaskReader
	TaskStopper
}

// StopTaskOptions configures StopTask, ecspresso's tasks --stop.
type StopTaskOptions struct {
	// TaskID is the task's id or ARN.
	TaskID string
	// Confirm, when set, is asked before the task is stopped; false
	// aborts (ErrAborted). ecspresso asks unless --force.
	Confirm func(TaskInfo) bool
}

// StopTask stops one task of the config's service, or of its task
// definition family, as ecspresso's tasks --stop does (through ecsta's
// stop). A task of another service or family, or one already stopped, is
// refused.
func StopTask(ctx context.Context, api StopTaskAPI, cfg *Config, opts StopTaskOptions) (*TaskInfo, error) {
	if opts.TaskID == "" {
		return nil, fmt.Errorf("stopping a task: give its id (--id)")
	}
	tasks, err := describeTasks(ctx, api, cfg.Cluster, []string{opts.TaskID})
	if err != nil {
		return nil, err
	}
	if len(tasks) != 1 {
		return nil, fmt.Errorf("stopping a task: task %s not found in cluster %q", opts.TaskID, cfg.Cluster)
	}
	t := taskInfo(tasks[0])
	family, err := cfg.Family(ctx)
	if err != nil {
		return nil, err
	}
	ours := (cfg.Service != "" && t.Group == "service:"+cfg.Service) || strings.HasPrefix(t.TaskDefinition, family+":")
	switch {
	case !ours:
		return nil, fmt.Errorf("stopping a task: task %s (%s, %s) is neither of service %q nor of family %q", t.ID, t.TaskDefinition, t.Group, cfg.Service, family)
	case t.LastStatus == "STOPPED" || t.DesiredStatus == "STOPPED":
		return nil, fmt.Errorf("stopping a task: task %s is already %s", t.ID, strings.ToLower(cmp.Or(t.LastStatus, t.DesiredStatus)))
	}
	if opts.Confirm != nil && !opts.Confirm(t) {
		return nil, ErrAborted
	}
	out, err := api.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cfg.Cluster), Task: aws.String(t.ARN), Reason: aws.String("stopped with ecs-pipeline tasks --stop")})
	if err != nil {
		return nil, fmt.Errorf("stopping task %s: %w", t.ID, err)
	}
	stopped := taskInfo(*out.Task)
	return &stopped, nil
}

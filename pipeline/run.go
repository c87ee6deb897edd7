package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RunOptions configures Run. The zero value runs one task of the rendered
// task definition, registered only when it differs from its family's
// latest ACTIVE revision, and waits for it to stop.
type RunOptions struct {
	// TaskDefinition is the revision to run, "family:revision" or an ARN,
	// registering nothing. At most one of TaskDefinition,
	// SkipTaskDefinition and LatestTaskDefinition is set.
	TaskDefinition string
	// SkipTaskDefinition registers nothing and runs the revision the
	// service runs (ecspresso's --skip-task-definition).
	SkipTaskDefinition bool
	// LatestTaskDefinition registers nothing and runs the latest ACTIVE
	// revision of the service's family (ecspresso's
	// --latest-task-definition).
	LatestTaskDefinition bool
	// ImageOverrides maps container names to images set in the rendered
	// task definition, as in Deploy; they need it to be run.
	ImageOverrides map[string]string
	// Container is the container that Command and Env override; empty is
	// the task definition's first, as ecspresso's run does.
	Container string
	// Command replaces the container's command.
	Command []string
	// Env sets environment variables in the container, over any it has.
	Env map[string]string
	// Overrides is a TaskOverride sent as written (ecspresso's
	// --overrides; see ParseTaskOverride); Command and Env are merged into
	// its override of Container.
	Overrides *types.TaskOverride
	// StartedBy tags the tasks in ECS (RunTask's startedBy); empty is
	// "ecs-pipeline". ecspresso sets none.
	StartedBy string
	// Tags are set on the tasks.
	Tags map[string]string
	// PropagateTags is ecspresso's --propagate-tags: SERVICE copies the
	// service's tags (but aws: ones) onto the tasks, as ecspresso does,
	// since RunTask refuses SERVICE; TASK_DEFINITION has ECS copy the task
	// definition's; empty or NONE copies none.
	PropagateTags string
	// Count is how many tasks to run, 1 to 10; zero means 1.
	Count int32
	// NoWait returns once the tasks are started.
	NoWait bool
	// UntilRunning returns once every task is RUNNING (ecspresso's
	// --wait-until running) rather than stopped. A task that stops first
	// is waited for and judged as when waiting until stopped.
	UntilRunning bool
	// ClientToken makes RunTask idempotent (ecspresso's --client-token): a
	// repeat with the same token starts no more tasks.
	ClientToken string
	// DryRun resolves, renders and checks the revision to run and what
	// RunTask would be sent, starting and registering nothing
	// (RunResult.Plan).
	DryRun bool
	// Timeout bounds the wait for the tasks to stop; zero uses the
	// config's timeout. The tasks go on after it, unless StopOnTimeout.
	Timeout time.Duration
	// StopOnTimeout stops (StopTask) the tasks still running when the wait
	// ends without them: after Timeout, a cancelled ctx or failing reads.
	StopOnTimeout bool
	// LogLines is how many of each container's last log lines the traces
	// show; zero means 100, negative none.
	LogLines int
	// Clock paces polling and retries; nil is SystemClock.
	Clock Clock
}

// RunResult is what a one-off run did.
type RunResult struct {
	// TaskDefinitionArn is the revision run.
	TaskDefinitionArn string
	// Registered is true when Run registered it from the rendered file.
	Registered bool
	// Tasks are the tasks started, as last seen.
	Tasks []TaskInfo
	// Traces are the stopped tasks' traces, when waited for.
	Traces []*TaskTrace
	// Plan, for a dry run, says what would be registered and run.
	Plan string
}

// Polling of Run's wait: from runPollMin, growing by half each poll up to
// runPollMax.
const (
	runPollMin = 2 * time.Second
	runPollMax = 10 * time.Second
)

// Run starts one-off tasks as `ecspresso run` does, with the service's
// launch type or capacity providers and network configuration, and
// (unless NoWait) waits until they stop. It fails, with the traces, when
// an essential container exited non-zero or never ran. RunTask is retried
// only when throttled, so it never starts tasks twice.
//
// Unless told which revision to run, it runs the rendered task
// definition. ecspresso run (kayac/ecspresso run.go,
// taskDefinitionArnForRun) registers it on every run; Run registers it only
// when it differs, normalised as diff compares, from the family's latest
// ACTIVE revision, and otherwise runs that revision: repeated runs of an
// unchanged file leave no trail of identical revisions.
func Run(ctx context.Context, api RunAPI, logs LogStreamReader, cfg *Config, opts RunOptions) (*RunResult, error) {
	picked := 0
	for _, set := range []bool{opts.TaskDefinition != "", opts.SkipTaskDefinition, opts.LatestTaskDefinition} {
		if set {
			picked++
		}
	}
	if picked > 1 {
		// ecspresso only warns about --revision with --latest-task-definition;
		// a run of an unintended revision is worth refusing.
		return nil, fmt.Errorf("running task: TaskDefinition, SkipTaskDefinition and LatestTaskDefinition exclude each other")
	}
	if picked > 0 && len(opts.ImageOverrides) > 0 {
		return nil, fmt.Errorf("running task: image overrides need the rendered task definition, not TaskDefinition, SkipTaskDefinition or LatestTaskDefinition")
	}
	if p := opts.PropagateTags; p != "" && p != "NONE" && p != "SERVICE" && p != "TASK_DEFINITION" {
		// ecspresso takes any other value for TASK_DEFINITION; a typo should
		// not copy tags silently.
		return nil, fmt.Errorf("running task: propagating tags from %q: want SERVICE, TASK_DEFINITION or NONE", p)
	}
	clock := cmp.Or[Clock](opts.Clock, SystemClock{})
	var td *ecs.RegisterTaskDefinitionInput
	if picked == 0 {
		defs, err := cfg.definitions(ctx, renderTask, RenderOptions{ImageOverrides: opts.ImageOverrides})
		if err != nil {
			return nil, fmt.Errorf("running task: %w", err)
		}
		td = defs.task
	}
	var include []types.ServiceField
	if opts.PropagateTags == "SERVICE" {
		// The tags come with the service, not from ListTagsForResource as
		// in ecspresso: one call fewer.
		include = append(include, types.ServiceFieldTags)
	}
	svc, err := retrying(ctx, clock, transientIn(ctx), func() (*types.Service, error) {
		return describeService(ctx, api, cfg.Cluster, cfg.Service, include...)
	})
	if err != nil {
		return nil, fmt.Errorf("running task: %w", err)
	}
	registered := false
	switch {
	case opts.SkipTaskDefinition:
		opts.TaskDefinition = aws.ToString(svc.TaskDefinition)
	case opts.LatestTaskDefinition:
		// The family alone names its latest ACTIVE revision.
		opts.TaskDefinition, _, _ = strings.Cut(shortTaskDefinition(aws.ToString(svc.TaskDefinition)), ":")
	case td != nil && opts.DryRun:
		latest, changed, err := changedFromLatest(ctx, api, clock, cfg, td)
		if err != nil {
			return nil, err
		}
		if changed {
			js, err := indentedJSON(td)
			if err != nil {
				return nil, err
			}
			return &RunResult{Plan: fmt.Sprintf("Would register task definition family %q and run it:\n%s\n", aws.ToString(td.Family), js)}, nil
		}
		opts.TaskDefinition = latest
	case td != nil:
		if opts.TaskDefinition, registered, err = registerIfChanged(ctx, api, clock, cfg, td); err != nil {
			return nil, err
		}
	}
	res, err := runAs(ctx, api, logs, cfg, svc, opts)
	if res != nil {
		res.Registered = registered
	}
	return res, err
}

// registerIfChanged returns the latest ACTIVE revision of td's family when
// it equals td once both are normalised as DiffTaskDefinitions does
// (ignore.tags applied), and otherwise registers td, retrying only
// throttling so that it never registers twice.
func registerIfChanged(ctx context.Context, api RunAPI, clock Clock, cfg *Config, td *ecs.RegisterTaskDefinitionInput) (string, bool, error) {
	latest, changed, err := changedFromLatest(ctx, api, clock, cfg, td)
	if err != nil || !changed {
		return latest, false, err
	}
	family := aws.ToString(td.Family)
	out, err := retrying(ctx, clock, isThrottle, func() (*ecs.RegisterTaskDefinitionOutput, error) {
		return api.RegisterTaskDefinition(ctx, td, retryOnlyThrottling)
	})
	if err != nil {
		return "", false, fmt.Errorf("registering task definition %q: %w", family, err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), true, nil
}

// changedFromLatest returns the ARN of the latest ACTIVE revision of td's
// family, and whether td differs from it (true when the family has none).
func changedFromLatest(ctx context.Context, api RunAPI, clock Clock, cfg *Config, td *ecs.RegisterTaskDefinitionInput) (string, bool, error) {
	family := aws.ToString(td.Family)
	latest, err := retrying(ctx, clock, transientIn(ctx), func() (map[string]any, error) {
		return DescribeTaskDefinition(ctx, api, family)
	})
	var missing *types.ClientException
	switch {
	case err == nil:
		diff, err := DiffTaskDefinitions(latest, td, DiffOptions{IgnoreTags: cfg.Ignore.Tags})
		if err != nil {
			return "", false, fmt.Errorf("running task: comparing with family %q: %w", family, err)
		}
		arn, _ := latest["taskDefinitionArn"].(string)
		return arn, diff != "" || arn == "", nil
	case errors.As(err, &missing):
		// ECS answers ClientException for a family with no ACTIVE revision.
		return "", true, nil
	default:
		return "", false, fmt.Errorf("running task: %w", err)
	}
}

// runAs is Run where svc's tasks run: with its task definition (unless
// opts names one), network configuration, launch type or capacity
// providers. Deploy runs its RunBefore migration with it.
func runAs(ctx context.Context, api RunAPI, logs LogStreamReader, cfg *Config, svc *types.Service, opts RunOptions) (*RunResult, error) {
	clock := cmp.Or[Clock](opts.Clock, SystemClock{})
	tdName := cmp.Or(opts.TaskDefinition, aws.ToString(svc.TaskDefinition))
	td, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tdName)})
	if err != nil {
		return nil, fmt.Errorf("running task: describing task definition %s: %w", shortTaskDefinition(tdName), err)
	}
	in := &ecs.RunTaskInput{
		Cluster:              aws.String(cfg.Cluster),
		TaskDefinition:       td.TaskDefinition.TaskDefinitionArn,
		Count:                aws.Int32(cmp.Or(opts.Count, 1)),
		StartedBy:            aws.String(cmp.Or(opts.StartedBy, "ecs-pipeline")),
		NetworkConfiguration: svc.NetworkConfiguration,
		PlatformVersion:      svc.PlatformVersion,
		EnableExecuteCommand: svc.EnableExecuteCommand,
	}
	if len(svc.CapacityProviderStrategy) > 0 {
		in.CapacityProviderStrategy = svc.CapacityProviderStrategy
	} else {
		in.LaunchType = svc.LaunchType
	}
	in.Overrides = taskOverride(opts, td.TaskDefinition.ContainerDefinitions)
	if err := runTags(in, svc, opts); err != nil {
		return nil, fmt.Errorf("running task: %w", err)
	}
	if opts.ClientToken != "" {
		in.ClientToken = aws.String(opts.ClientToken)
	}
	if opts.DryRun {
		js, err := indentedJSON(in)
		if err != nil {
			return nil, err
		}
		return &RunResult{
			TaskDefinitionArn: aws.ToString(td.TaskDefinition.TaskDefinitionArn),
			Plan:              fmt.Sprintf("Would run %s:\n%s\n", shortTaskDefinition(aws.ToString(td.TaskDefinition.TaskDefinitionArn)), js),
		}, nil
	}
	out, err := retrying(ctx, clock, isThrottle, func() (*ecs.RunTaskOutput, error) {
		return api.RunTask(ctx, in, retryOnlyThrottling)
	})
	if err != nil {
		return nil, fmt.Errorf("running task of %s: %w", shortTaskDefinition(tdName), err)
	}
	if len(out.Failures) > 0 {
		f := out.Failures[0]
		return nil, fmt.Errorf("running task of %s: %s: %s", shortTaskDefinition(tdName), aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	res := &RunResult{TaskDefinitionArn: aws.ToString(td.TaskDefinition.TaskDefinitionArn)}
	var arns []string
	for _, t := range out.Tasks {
		res.Tasks = append(res.Tasks, taskInfo(t))
		arns = append(arns, aws.ToString(t.TaskArn))
	}
	if opts.NoWait || len(arns) == 0 {
		return res, nil
	}

	timeout := cmp.Or(opts.Timeout, cfg.Timeout, defaultTimeout)
	deadline := clock.Now().Add(timeout)
	interval := runPollMin
	// giveUp ends a wait that did not see the tasks stop.
	giveUp := func(err error, reason string) (*RunResult, error) {
		if !opts.StopOnTimeout {
			return res, err
		}
		return res, stopTasks(ctx, api, clock, cfg.Cluster, arns, reason, err)
	}
	var stopped []types.Task
	for {
		ts, err := retrying(ctx, clock, transientIn(ctx), func() ([]types.Task, error) {
			return describeTasks(ctx, api, cfg.Cluster, arns)
		})
		if err != nil {
			return giveUp(fmt.Errorf("waiting for tasks: %w", err), "its wait failed")
		}
		res.Tasks = res.Tasks[:0]
		done, running := true, opts.UntilRunning
		for _, t := range ts {
			res.Tasks = append(res.Tasks, taskInfo(t))
			done = done && aws.ToString(t.LastStatus) == "STOPPED"
			running = running && aws.ToString(t.LastStatus) == "RUNNING"
		}
		if running {
			return res, nil
		}
		if done {
			stopped = ts
			break
		}
		now := clock.Now()
		if !now.Before(deadline) {
			if opts.StopOnTimeout {
				return giveUp(fmt.Errorf("waiting for tasks: still running after %s: %s", timeout, taskIDs(res.Tasks)), "still running after "+timeout.String())
			}
			return res, fmt.Errorf("waiting for tasks: still running after %s (they go on in ECS): %s", timeout, taskIDs(res.Tasks))
		}
		if err := clock.Sleep(ctx, min(interval, deadline.Sub(now))); err != nil {
			return giveUp(fmt.Errorf("waiting for tasks: %w", err), "its wait was cancelled")
		}
		interval = min(interval*3/2, runPollMax)
	}

	essential := map[string]bool{}
	for _, c := range td.TaskDefinition.ContainerDefinitions {
		essential[aws.ToString(c.Name)] = c.Essential == nil || *c.Essential
	}
	var failed []string
	for _, t := range stopped {
		tr, err := TraceTask(ctx, api, logs, cfg.Cluster, t, TraceOptions{LogLines: opts.LogLines, Clock: clock})
		if err != nil {
			return res, err
		}
		res.Traces = append(res.Traces, tr)
		for _, c := range tr.Task.Containers {
			if essential[c.Name] && (c.ExitCode == nil || *c.ExitCode != 0) {
				failed = append(failed, tr.String())
				break
			}
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%w: %d of %d tasks of %s\n%s", ErrTaskFailed, len(failed), len(stopped),
			shortTaskDefinition(aws.ToString(td.TaskDefinition.TaskDefinitionArn)), strings.Join(failed, "\n"))
	}
	return res, nil
}

// taskOverride is opts.Overrides with opts.Command and opts.Env merged
// into the override of opts.Container (else the first of cds), or nil
// when there is nothing to override.
func taskOverride(opts RunOptions, cds []types.ContainerDefinition) *types.TaskOverride {
	var ov types.TaskOverride
	if opts.Overrides != nil {
		ov = *opts.Overrides
		ov.ContainerOverrides = slices.Clone(ov.ContainerOverrides)
	}
	if len(opts.Command) == 0 && len(opts.Env) == 0 {
		if opts.Overrides == nil {
			return nil
		}
		return &ov
	}
	name := opts.Container
	if name == "" && len(cds) > 0 {
		name = aws.ToString(cds[0].Name)
	}
	i := slices.IndexFunc(ov.ContainerOverrides, func(c types.ContainerOverride) bool { return aws.ToString(c.Name) == name })
	if i < 0 {
		ov.ContainerOverrides = append(ov.ContainerOverrides, types.ContainerOverride{Name: aws.String(name)})
		i = len(ov.ContainerOverrides) - 1
	}
	co := &ov.ContainerOverrides[i]
	if len(opts.Command) > 0 {
		co.Command = opts.Command
	}
	if len(opts.Env) > 0 {
		env := slices.DeleteFunc(slices.Clone(co.Environment), func(kv types.KeyValuePair) bool {
			_, set := opts.Env[aws.ToString(kv.Name)]
			return set
		})
		for _, k := range slices.Sorted(maps.Keys(opts.Env)) {
			env = append(env, types.KeyValuePair{Name: aws.String(k), Value: aws.String(opts.Env[k])})
		}
		co.Environment = env
	}
	return &ov
}

// runTags sets in's tags and propagateTags from opts, following ecspresso
// run.go (RunTask): SERVICE copies svc's tags, read with it.
func runTags(in *ecs.RunTaskInput, svc *types.Service, opts RunOptions) error {
	for _, k := range slices.Sorted(maps.Keys(opts.Tags)) {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(opts.Tags[k])})
	}
	switch opts.PropagateTags {
	case "", "NONE":
		// RunTask refuses NONE (as ecspresso notes); none is the default.
	case "SERVICE":
		for _, t := range svc.Tags {
			// aws: keys are ECS's own; a task cannot be given them. A tag
			// given in opts.Tags wins.
			k := aws.ToString(t.Key)
			if _, given := opts.Tags[k]; !given && !strings.HasPrefix(strings.ToLower(k), "aws:") {
				in.Tags = append(in.Tags, t)
			}
		}
	case "TASK_DEFINITION":
		in.PropagateTags = types.PropagateTagsTaskDefinition
	default:
		return fmt.Errorf("propagating tags from %q: want SERVICE, TASK_DEFINITION or NONE", opts.PropagateTags)
	}
	return nil
}

// ParseTaskOverride decodes ecspresso's --overrides, a TaskOverride as
// RunTask takes it ({"containerOverrides":[...],"cpu":...}). ecspresso
// decodes it leniently; here a key the SDK does not know is an error
// naming it, so a misspelt override is not silently dropped.
func ParseTaskOverride(s string) (*types.TaskOverride, error) {
	var ov types.TaskOverride
	if err := decodeStrict("overrides", []byte(s), &ov); err != nil {
		return nil, fmt.Errorf("reading task override: %w", err)
	}
	return &ov, nil
}

// stopTimeout bounds stopTasks, which goes on after its caller's ctx is
// cancelled: a task given up on should not run on unseen.
const stopTimeout = 30 * time.Second

// stopTasks stops the tasks arns, given up on for cause, with a stopped
// reason saying why; the error is cause, saying whether they were stopped.
func stopTasks(ctx context.Context, api TaskStopper, clock Clock, cluster string, arns []string, why string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	var ids []string
	for _, arn := range arns {
		id := arn[strings.LastIndexByte(arn, '/')+1:]
		_, err := retrying(ctx, clock, transientIn(ctx), func() (*ecs.StopTaskOutput, error) {
			return api.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String("ecs-pipeline gave up on it: " + why)})
		})
		if err != nil {
			return fmt.Errorf("%w; stopping task %s: %w (it may go on in ECS)", cause, id, err)
		}
		ids = append(ids, id)
	}
	return fmt.Errorf("%w; stopped %s", cause, strings.Join(ids, ", "))
}

func taskIDs(ts []TaskInfo) string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

// String reports a registration, then each task's trace, or the started
// tasks when not waited for.
func (r *RunResult) String() string {
	if r.Plan != "" {
		return r.Plan
	}
	var b strings.Builder
	if r.Registered {
		fmt.Fprintf(&b, "registered %s\n", shortTaskDefinition(r.TaskDefinitionArn))
	}
	if len(r.Traces) > 0 {
		var parts []string
		for _, tr := range r.Traces {
			parts = append(parts, tr.String())
		}
		b.WriteString(strings.Join(parts, "\n"))
		return b.String()
	}
	for _, t := range r.Tasks {
		fmt.Fprintf(&b, "started task %s (%s)", t.ID, t.TaskDefinition)
		if t.LastStatus == "RUNNING" {
			b.WriteString(", RUNNING")
		}
		b.WriteString("\n")
	}
	return b.String()
}

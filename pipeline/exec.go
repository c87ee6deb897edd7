package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-pipeline/ecs-pipeline/internal/ssmsession"
)

// ExecAPI is what Exec calls.
type ExecAPI interface {
	ServiceDescriber
	TaskReader
	TaskDefinitionDescriber
	ExecuteCommand(ctx context.Context, in *ecs.ExecuteCommandInput, optFns ...func(*ecs.Options)) (*ecs.ExecuteCommandOutput, error)
}

// ExecOptions configures Exec.
type ExecOptions struct {
	// TaskID is the task id or ARN; empty picks the newest running task
	// of the config's service.
	TaskID string
	// Container is the container's name; empty picks the task's only
	// container, or its only essential one.
	Container string
	// Command is what to run; "sh" when empty, as ecspresso.
	Command string
	// Interactive forwards Stdin (a terminal in raw mode, keystrokes and
	// all) and TerminalSize. Otherwise Stdin, when set, is piped input: it
	// is forwarded, and its end sent as Ctrl-D, so that a shell reading
	// the remote terminal ends.
	Interactive bool
	Stdin       io.Reader
	// Stdout receives the command's terminal output; Stderr the agent's
	// messages.
	Stdout, Stderr io.Writer
	// TerminalSize reports the local terminal's size; polled while
	// Interactive.
	TerminalSize func() (cols, rows int, ok bool)
	// Channel tunes the data channel's resends (tests).
	Channel ssmsession.ChannelOptions
}

// ErrExecRefused is returned (wrapped) when Exec refuses before starting
// a session: ECS Exec is off, no task runs, the container has no running
// agent, or the caller may not call ecs:ExecuteCommand.
var ErrExecRefused = errors.New("cannot exec")

// Exec runs a command in a running task of the config's service, as
// `ecspresso exec` does (kayac/ecspresso exec.go, App.Exec: the task
// given by --id, else one of the service's running tasks; the only
// container, else --container; ExecuteCommand with Interactive true, the
// only mode ECS supports; command "sh" by default), but speaks the
// Session Manager data channel itself (internal/ssmsession) instead of
// starting the session-manager-plugin. Where ecspresso prompts for a task
// or a container, Exec picks the newest running task and the only
// essential container, and asks for --container when that is ambiguous.
//
// It returns the remote command's exit code when the agent reports one,
// else 0. The session's token never appears in an error.
func Exec(ctx context.Context, api ExecAPI, cfg *Config, opts ExecOptions) (exitCode int, err error) {
	command := cmp.Or(opts.Command, "sh")
	svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
	if err != nil {
		return 0, err
	}
	task, err := execTask(ctx, api, cfg, opts.TaskID)
	if err != nil {
		return 0, err
	}
	id := execShortID(aws.ToString(task.TaskArn))
	if !task.EnableExecuteCommand {
		if !svc.EnableExecuteCommand {
			return 0, fmt.Errorf("%w: ECS Exec is off for service %q: set \"enableExecuteCommand\": true in the service definition and deploy; "+
				"running tasks must then be replaced (a deploy with a new task definition, or --force-new-deployment) to get the agent", ErrExecRefused, cfg.Service)
		}
		return 0, fmt.Errorf("%w: task %s was started before enableExecuteCommand was turned on for service %q: "+
			"replace the running tasks (deploy --force-new-deployment) and exec into a new one", ErrExecRefused, id, cfg.Service)
	}
	ctr, err := execContainer(ctx, api, task, opts.Container)
	if err != nil {
		return 0, err
	}
	name := aws.ToString(ctr.Name)
	if status := agentStatus(ctr); status != "RUNNING" {
		return 0, fmt.Errorf("%w: container %q of task %s has no ExecuteCommandAgent running (%s): the task needs enableExecuteCommand at start, "+
			"an SSM agent that can reach ssmmessages (ssmmessages:* permissions in the task role, a route or VPC endpoint); "+
			"see https://github.com/aws-containers/amazon-ecs-exec-checker", ErrExecRefused, name, id, cmp.Or(strings.ToLower(status), "no managed agent"))
	}
	out, err := api.ExecuteCommand(ctx, &ecs.ExecuteCommandInput{
		Cluster:     task.ClusterArn,
		Task:        task.TaskArn,
		Container:   ctr.Name,
		Command:     aws.String(command),
		Interactive: true,
	})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			switch ae.ErrorCode() {
			case "AccessDeniedException", "AccessDenied":
				return 0, fmt.Errorf("%w: not allowed to run ExecuteCommand on task %s: grant the caller the ecs:ExecuteCommand action on the task (and cluster)", ErrExecRefused, id)
			case "TargetNotConnectedException":
				return 0, fmt.Errorf("%w: the ExecuteCommandAgent of container %q in task %s is not connected: %s; see https://github.com/aws-containers/amazon-ecs-exec-checker", ErrExecRefused, name, id, ae.ErrorMessage())
			}
		}
		return 0, fmt.Errorf("ExecuteCommand on task %s, container %q: %w", id, name, err)
	}
	if out.Session == nil || aws.ToString(out.Session.StreamUrl) == "" || aws.ToString(out.Session.TokenValue) == "" {
		return 0, fmt.Errorf("ExecuteCommand on task %s returned no session", id)
	}
	so := ssmsession.Options{
		StreamURL: aws.ToString(out.Session.StreamUrl),
		Token:     aws.ToString(out.Session.TokenValue),
		Stdout:    opts.Stdout,
		Stderr:    opts.Stderr,
		Channel:   opts.Channel,
	}
	so.Stdin = opts.Stdin
	if opts.Interactive {
		so.TerminalSize = opts.TerminalSize
	} else {
		so.EOFAsEOT = true
	}
	code, err := ssmsession.Run(ctx, so)
	if err != nil {
		return 0, fmt.Errorf("session %s in task %s, container %q: %w", aws.ToString(out.Session.SessionId), id, name, err)
	}
	return code, nil
}

// execTask finds the task: the given one (id or ARN), else the newest
// RUNNING task of the service.
func execTask(ctx context.Context, api ExecAPI, cfg *Config, taskID string) (*types.Task, error) {
	if taskID != "" {
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cfg.Cluster), Tasks: []string{taskID}})
		if err != nil {
			return nil, fmt.Errorf("describing task %s: %w", taskID, err)
		}
		if len(out.Tasks) == 0 {
			return nil, fmt.Errorf("%w: task %s not found in cluster %q", ErrExecRefused, taskID, cfg.Cluster)
		}
		t := out.Tasks[0]
		if s := aws.ToString(t.LastStatus); s != "RUNNING" {
			return nil, fmt.Errorf("%w: task %s is %s, not RUNNING", ErrExecRefused, execShortID(aws.ToString(t.TaskArn)), s)
		}
		return &t, nil
	}
	arns, err := listTasks(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cfg.Cluster), ServiceName: aws.String(cfg.Service), DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		return nil, fmt.Errorf("listing tasks of service %q: %w", cfg.Service, err)
	}
	tasks, err := describeTasks(ctx, api, cfg.Cluster, arns)
	if err != nil {
		return nil, err
	}
	tasks = slices.DeleteFunc(tasks, func(t types.Task) bool { return aws.ToString(t.LastStatus) != "RUNNING" })
	if len(tasks) == 0 {
		return nil, fmt.Errorf("%w: service %q in cluster %q has no running task", ErrExecRefused, cfg.Service, cfg.Cluster)
	}
	// Newest started, then newest created; among equals the first in
	// the order `tasks` lists them (by id).
	newest := slices.MaxFunc(tasks, func(a, b types.Task) int {
		return cmp.Or(aws.ToTime(a.StartedAt).Compare(aws.ToTime(b.StartedAt)), aws.ToTime(a.CreatedAt).Compare(aws.ToTime(b.CreatedAt)),
			strings.Compare(aws.ToString(b.TaskArn), aws.ToString(a.TaskArn)))
	})
	return &newest, nil
}

// execContainer picks the container: the named one; else the only one;
// else the only essential one of the task definition.
func execContainer(ctx context.Context, api ExecAPI, task *types.Task, name string) (*types.Container, error) {
	id := execShortID(aws.ToString(task.TaskArn))
	var names []string
	for i := range task.Containers {
		c := &task.Containers[i]
		if name != "" && aws.ToString(c.Name) == name {
			return c, nil
		}
		names = append(names, aws.ToString(c.Name))
	}
	slices.Sort(names)
	if name != "" {
		return nil, fmt.Errorf("%w: task %s has no container %q (it has %s)", ErrExecRefused, id, name, strings.Join(names, ", "))
	}
	if len(task.Containers) == 1 {
		return &task.Containers[0], nil
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: task.TaskDefinitionArn})
	if err != nil {
		return nil, fmt.Errorf("describing task definition of task %s: %w", id, err)
	}
	var essential []string
	for _, cd := range out.TaskDefinition.ContainerDefinitions {
		if cd.Essential == nil || *cd.Essential {
			essential = append(essential, aws.ToString(cd.Name))
		}
	}
	if len(essential) == 1 {
		for i := range task.Containers {
			if aws.ToString(task.Containers[i].Name) == essential[0] {
				return &task.Containers[i], nil
			}
		}
	}
	return nil, fmt.Errorf("%w: task %s has several essential containers (%s): choose one with --container", ErrExecRefused, id, strings.Join(names, ", "))
}

// agentStatus is the lastStatus of the container's ExecuteCommandAgent,
// empty when it has none.
func agentStatus(c *types.Container) string {
	for _, a := range c.ManagedAgents {
		if a.Name == types.ManagedAgentNameExecuteCommandAgent {
			return aws.ToString(a.LastStatus)
		}
	}
	return ""
}

func execShortID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

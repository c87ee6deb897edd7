package ecssim_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/internal/ssmsession"
)

func (e *env) runningTask() types.Task {
	e.t.Helper()
	list, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredStatus: types.DesiredStatusRunning})
	if err != nil || len(list.TaskArns) == 0 {
		e.t.Fatalf("listing tasks: %v %v", list, err)
	}
	out, err := e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range out.Tasks {
		if aws.ToString(t.LastStatus) == "RUNNING" {
			return t
		}
	}
	e.t.Fatal("no running task")
	return types.Task{}
}

func TestExecuteCommand(t *testing.T) {
	e := newEnv(t)
	e.createService(e.register("web", "registry.example.com/web:v1"), 1, nil)
	task := e.runningTask()
	if task.EnableExecuteCommand || len(task.Containers[0].ManagedAgents) != 0 {
		t.Fatalf("a task of a service without ECS Exec: enableExecuteCommand %v, agents %v", task.EnableExecuteCommand, task.Containers[0].ManagedAgents)
	}
	in := &ecs.ExecuteCommandInput{Cluster: aws.String("prod"), Task: task.TaskArn, Command: aws.String("true"), Interactive: true}
	_, err := e.ecs.ExecuteCommand(e.ctx, in)
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) || !strings.Contains(err.Error(), "execute command was not enabled") {
		t.Fatalf("ExecuteCommand on a task without ECS Exec: %v", err)
	}

	// Turned on, ECS Exec reaches only the tasks started after.
	if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), EnableExecuteCommand: aws.Bool(true), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	e.stepUntil("the new tasks replaced the old", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted && s.RunningCount == 1
	})
	task = e.runningTask()
	agents := task.Containers[0].ManagedAgents
	if !task.EnableExecuteCommand || len(agents) != 1 || agents[0].Name != types.ManagedAgentNameExecuteCommandAgent || aws.ToString(agents[0].LastStatus) != "RUNNING" {
		t.Fatalf("a new task: enableExecuteCommand %v, agents %+v", task.EnableExecuteCommand, agents)
	}
	in.Task = task.TaskArn
	in.Interactive = false
	if _, err := e.ecs.ExecuteCommand(e.ctx, in); !errors.As(err, &ipe) || !strings.Contains(err.Error(), "Interactive") {
		t.Fatalf("a non-interactive ExecuteCommand: %v", err)
	}
	in.Interactive = true
	in.Container = aws.String("nope")
	if _, err := e.ecs.ExecuteCommand(e.ctx, in); !errors.As(err, &ipe) {
		t.Fatalf("ExecuteCommand in a missing container: %v", err)
	}
	in.Container = nil

	// A wrong token is refused, and the session cannot be opened again.
	out, err := e.ecs.ExecuteCommand(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ContainerName) != "app" || !out.Interactive || !strings.HasPrefix(aws.ToString(out.Session.StreamUrl), "ws://") {
		t.Fatalf("ExecuteCommand answered %+v", out)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 20*time.Second)
	defer cancel()
	_, err = ssmsession.Run(ctx, ssmsession.Options{StreamURL: aws.ToString(out.Session.StreamUrl), Token: "wrong"})
	if !errors.Is(err, ssmsession.ErrDataChannelClosed) || !strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("a wrong token: %v", err)
	}
	_, err = ssmsession.Run(ctx, ssmsession.Options{StreamURL: aws.ToString(out.Session.StreamUrl), Token: aws.ToString(out.Session.TokenValue)})
	if err == nil {
		t.Fatal("a session opened twice")
	}

	// The terminal follows the client's size as it changes.
	in.Command = aws.String("sleep 0.3; stty size; sleep 1.5; stty size; exit 7")
	out, err = e.ecs.ExecuteCommand(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	size := func() (int, int, bool) {
		if calls.Add(1) == 1 {
			return 90, 20, true
		}
		return 120, 40, true
	}
	var stdout bytes.Buffer
	code, err := ssmsession.Run(ctx, ssmsession.Options{StreamURL: aws.ToString(out.Session.StreamUrl), Token: aws.ToString(out.Session.TokenValue),
		Stdout: &stdout, TerminalSize: size})
	if err != nil {
		t.Fatal(err)
	}
	if code != 7 || stdout.String() != "20 90\r\n40 120\r\n" {
		t.Fatalf("exit %d, output %q; want 7 and the sizes 20 90 then 40 120", code, stdout.String())
	}
}

func TestRunTaskWithExecuteCommand(t *testing.T) {
	e := newEnv(t)
	td := e.register("job", "registry.example.com/job:v1")
	for _, enable := range []bool{false, true} {
		out, err := e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String(td), EnableExecuteCommand: enable})
		if err != nil {
			t.Fatal(err)
		}
		task := out.Tasks[0]
		if task.EnableExecuteCommand != enable || (len(task.Containers[0].ManagedAgents) == 1) != enable {
			t.Errorf("RunTask with enableExecuteCommand %v: task has %v, agents %+v", enable, task.EnableExecuteCommand, task.Containers[0].ManagedAgents)
		}
	}
}

func TestExecShellOnlyForLocalClients(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(e.register("web", "registry.example.com/web:v1")), DesiredCount: aws.Int32(1), EnableExecuteCommand: true}); err != nil {
		t.Fatal(err)
	}
	e.stepUntil("a task runs", func(s *types.Service) bool { return s.RunningCount == 1 })
	// The same simulator, as a client elsewhere sees it (no traffic
	// leaves this machine: only the request's remote address is changed).
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "203.0.113.9:40000"
		e.srv.ServeHTTP(w, r)
	}))
	defer remote.Close()
	cfg := e.srv.AWSConfig()
	cfg.BaseEndpoint = aws.String(remote.URL)
	out, err := ecs.NewFromConfig(cfg).ExecuteCommand(e.ctx, &ecs.ExecuteCommandInput{Cluster: aws.String("prod"), Task: e.runningTask().TaskArn, Command: aws.String("true"), Interactive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssmsession.Run(e.ctx, ssmsession.Options{StreamURL: aws.ToString(out.Session.StreamUrl), Token: aws.ToString(out.Session.TokenValue)})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a remote client's session: %v", err)
	}
}

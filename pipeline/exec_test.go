package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

// execEnv is a simulator with service "web" in cluster "prod", whose
// tasks run.
type execEnv struct {
	srv   *ecssimtest.Server
	clock *ecssim.ManualClock
	ecs   *ecs.Client
	cfg   *pipeline.Config
}

// newExecEnv creates service web with enableExecuteCommand as given and
// containers (the first essential, the others not unless allEssential).
func newExecEnv(t *testing.T, enableExec bool, containers ...string) *execEnv {
	t.Helper()
	if len(containers) == 0 {
		containers = []string{"app"}
	}
	clock := ecssim.NewManualClock(simStart)
	srv := ecssimtest.NewServer(t, ecssim.WithClock(clock), ecssim.WithCluster("prod"))
	client := srv.ECSClient(func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	ctx := t.Context()
	var defs []types.ContainerDefinition
	for i, name := range containers {
		defs = append(defs, types.ContainerDefinition{Name: aws.String(name), Image: aws.String("registry.example.com/web:v1"), Essential: aws.Bool(i == 0)})
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), ContainerDefinitions: defs})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredCount: aws.Int32(2),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, EnableExecuteCommand: enableExec,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &execEnv{srv: srv, clock: clock, ecs: client, cfg: &pipeline.Config{Cluster: "prod", Service: "web"}}
	e.waitRunning(t, 2)
	return e
}

func (e *execEnv) waitRunning(t *testing.T, n int) {
	t.Helper()
	for range 200 {
		out, err := e.ecs.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil {
			t.Fatal(err)
		}
		if s := out.Services[0]; s.RunningCount == int32(n) && len(s.Deployments) == 1 {
			return
		}
		e.clock.Advance(5 * time.Second)
	}
	t.Fatalf("service web did not reach %d running tasks", n)
}

func (e *execEnv) exec(t *testing.T, opts pipeline.ExecOptions) (int, string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Stdout, opts.Stderr = &out, &out
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, err := pipeline.Exec(ctx, e.ecs, e.cfg, opts)
	return code, out.String(), err
}

func TestExecExitCodes(t *testing.T) {
	e := newExecEnv(t, true)
	for _, tc := range []struct {
		command string
		code    int
		out     string
	}{
		{"echo hello", 0, "hello"},
		{"echo hello; exit 3", 3, "hello"},
		{"echo oops >&2; false", 1, "oops"},
	} {
		code, out, err := e.exec(t, pipeline.ExecOptions{Command: tc.command})
		if err != nil {
			t.Fatalf("%q: %v", tc.command, err)
		}
		if code != tc.code || !strings.Contains(out, tc.out) {
			t.Errorf("%q: exit %d, output %q; want exit %d with %q", tc.command, code, out, tc.code, tc.out)
		}
	}
	calls := e.srv.Requests()
	var last ecssim.Request
	for _, r := range calls {
		if r.Operation == "ExecuteCommand" {
			last = r
		}
	}
	if !strings.Contains(string(last.Params), `"interactive":true`) {
		t.Errorf("ExecuteCommand was called with %s, want interactive true", last.Params)
	}
}

func TestExecPicksNewestTaskAndGivenTask(t *testing.T) {
	e := newExecEnv(t, true)
	list, err := pipeline.Tasks(t.Context(), e.ecs, e.cfg, pipeline.TasksOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tasks) != 2 {
		t.Fatalf("%d tasks, want 2", len(list.Tasks))
	}
	target := func() string {
		calls := e.srv.Requests()
		for i := len(calls) - 1; i >= 0; i-- {
			if calls[i].Operation == "ExecuteCommand" {
				return string(calls[i].Params)
			}
		}
		return ""
	}
	if _, _, err := e.exec(t, pipeline.ExecOptions{Command: "true"}); err != nil {
		t.Fatal(err)
	}
	newest := list.Tasks[0]
	if !strings.Contains(target(), newest.ID) {
		t.Errorf("ExecuteCommand %s, want the newest task %s", target(), newest.ID)
	}
	other := list.Tasks[1]
	if _, _, err := e.exec(t, pipeline.ExecOptions{Command: "true", TaskID: other.ID}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(target(), other.ID) {
		t.Errorf("ExecuteCommand %s, want the given task %s", target(), other.ID)
	}
}

func TestExecRefusals(t *testing.T) {
	t.Run("execute command off", func(t *testing.T) {
		e := newExecEnv(t, false)
		_, _, err := e.exec(t, pipeline.ExecOptions{Command: "true"})
		wantRefusal(t, err, `"enableExecuteCommand": true`, "replaced")
		if n := countCalls(e.srv, "ExecuteCommand"); n != 0 {
			t.Errorf("%d ExecuteCommand calls, want none", n)
		}
	})
	t.Run("turned on but tasks not replaced", func(t *testing.T) {
		e := newExecEnv(t, false)
		if _, err := e.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), EnableExecuteCommand: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.exec(t, pipeline.ExecOptions{Command: "true"})
		wantRefusal(t, err, "before enableExecuteCommand was turned on", "force-new-deployment")
	})
	t.Run("no running task", func(t *testing.T) {
		e := newExecEnv(t, true)
		if _, err := e.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(0)}); err != nil {
			t.Fatal(err)
		}
		e.waitRunning(t, 0)
		_, _, err := e.exec(t, pipeline.ExecOptions{Command: "true"})
		wantRefusal(t, err, "has no running task")
	})
	t.Run("no managed agent", func(t *testing.T) {
		e := newExecEnv(t, true)
		// A task whose agent never started: ExecuteCommand and the
		// session must not be tried.
		api := &noAgent{Client: e.ecs}
		_, err := pipeline.Exec(t.Context(), api, e.cfg, pipeline.ExecOptions{Command: "true"})
		wantRefusal(t, err, "no ExecuteCommandAgent running", "stopped")
		if n := countCalls(e.srv, "ExecuteCommand"); n != 0 {
			t.Errorf("%d ExecuteCommand calls, want none", n)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		e := newExecEnv(t, true)
		// A proxy that answers ExecuteCommand as IAM would for a caller
		// without ecs:ExecuteCommand, over the real wire protocol.
		deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Amz-Target") == "AmazonEC2ContainerServiceV20141113.ExecuteCommand" {
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecs:ExecuteCommand"}`))
				return
			}
			e.srv.ServeHTTP(w, r)
		}))
		defer deny.Close()
		cfg := e.srv.AWSConfig()
		cfg.BaseEndpoint = aws.String(deny.URL)
		client := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
		_, err := pipeline.Exec(t.Context(), client, e.cfg, pipeline.ExecOptions{Command: "true"})
		wantRefusal(t, err, "ecs:ExecuteCommand")
	})
	t.Run("several essential containers", func(t *testing.T) {
		e := newExecEnv(t, true, "app", "sidecar")
		// One essential container: it is chosen.
		if _, _, err := e.exec(t, pipeline.ExecOptions{Command: "true"}); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.exec(t, pipeline.ExecOptions{Command: "true", Container: "nope"})
		wantRefusal(t, err, `no container "nope"`, "app, sidecar")
	})
}

// noAgent reports every container's ExecuteCommandAgent STOPPED.
type noAgent struct{ *ecs.Client }

func (n *noAgent) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	out, err := n.Client.DescribeTasks(ctx, in, optFns...)
	if err == nil {
		for i := range out.Tasks {
			for j := range out.Tasks[i].Containers {
				out.Tasks[i].Containers[j].ManagedAgents = []types.ManagedAgent{{Name: types.ManagedAgentNameExecuteCommandAgent, LastStatus: aws.String("STOPPED")}}
			}
		}
	}
	return out, err
}

func wantRefusal(t *testing.T, err error, says ...string) {
	t.Helper()
	if !errors.Is(err, pipeline.ErrExecRefused) {
		t.Fatalf("err = %v, want ErrExecRefused", err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func countCalls(srv *ecssimtest.Server, op string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Operation == op {
			n++
		}
	}
	return n
}

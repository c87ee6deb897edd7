package pipeline_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ecssim"
)

func TestRunOneOffTask(t *testing.T) {
	e := newTraceEnv(t)
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{Command: []string{"./migrate", "up"}, Clock: simClock{e.clock}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Tasks) != 1 || len(res.Traces) != 1 {
		t.Fatalf("%d tasks, %d traces, want one of each", len(res.Tasks), len(res.Traces))
	}
	task := res.Tasks[0]
	if task.LastStatus != "STOPPED" || task.TaskDefinition != "web:1" || task.Containers[0].ExitCode == nil || *task.Containers[0].ExitCode != 0 {
		t.Errorf("task %+v, want web:1 STOPPED with app exit code 0", task)
	}
	text := res.String()
	if !strings.Contains(text, "listening on :8080") || !strings.Contains(text, "app: exit code 0") {
		t.Errorf("result lacks the log lines or the exit code:\n%s", text)
	}
	runs := e.calls("RunTask")
	if len(runs) != 1 {
		t.Fatalf("%d RunTask calls, want 1", len(runs))
	}
	var in map[string]any
	if err := json.Unmarshal(runs[0].Params, &in); err != nil {
		t.Fatal(err)
	}
	if in["launchType"] != "FARGATE" || in["networkConfiguration"] == nil || !strings.Contains(string(runs[0].Params), `"command":["./migrate","up"]`) {
		t.Errorf("RunTask without the service's launch type and network, or the command: %s", runs[0].Params)
	}
}

func TestRunFailsWithTheTrace(t *testing.T) {
	e := newTraceEnv(t)
	e.srv.SetBehavior("web:1", ecssim.CrashesAtStart("FATAL: DATABASE_URL is not set"))
	// A throttled RunTask is retried; one task is started all the same.
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: "RunTask", Count: 1}); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{Clock: simClock{e.clock}})
	if !errors.Is(err, pipeline.ErrTaskFailed) {
		t.Fatalf("Run: %v, want ErrTaskFailed", err)
	}
	for _, want := range []string{"1 of 1 tasks of web:1", "FATAL: DATABASE_URL is not set", "app: exit code 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if len(res.Tasks) != 1 || len(e.calls("RunTask")) != 2 {
		t.Errorf("%d tasks after %d RunTask calls, want 1 after 2", len(res.Tasks), len(e.calls("RunTask")))
	}
}

func TestRunIsNotRepeatedAfterAServerError(t *testing.T) {
	e := newTraceEnv(t)
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "RunTask", Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{NoWait: true, Clock: simClock{e.clock}}); err == nil {
		t.Fatal("Run succeeded after a 500, which may have started a task")
	}
	if n := len(e.calls("RunTask")); n != 1 {
		t.Errorf("%d RunTask calls, want 1: a 500 may have started the task", n)
	}
}

func TestRunNoWait(t *testing.T) {
	e := newTraceEnv(t)
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{NoWait: true, Count: 2, Clock: simClock{e.clock}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 2 || res.Tasks[0].LastStatus != "PROVISIONING" || len(res.Traces) != 0 {
		t.Errorf("tasks %+v, want two PROVISIONING and no traces", res.Tasks)
	}
	if !strings.Contains(res.String(), "started task "+res.Tasks[0].ID) {
		t.Errorf("result:\n%s", res)
	}
}

package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

// traceEnv is a deployEnv whose task definition (testdata/trace) logs with
// awslogs to /ecs/web, prefix web, plus a CloudWatch Logs client on the
// same simulator.
type traceEnv struct {
	*deployEnv
	logs *cloudwatchlogs.Client
}

// v1Lines are what the first revision's tasks log.
var v1Lines = []string{"starting web v1", "listening on :8080"}

func newTraceEnv(t testing.TB, opts ...ecssim.Option) *traceEnv {
	t.Helper()
	clock := ecssim.NewManualClock(simStart)
	healthy := ecssim.Healthy()
	healthy.Logs = v1Lines
	srv := ecssimtest.NewServer(t, append([]ecssim.Option{ecssim.WithClock(clock), ecssim.WithCluster("prod"), ecssim.WithDefaultBehavior(healthy)}, opts...)...)
	client := srv.ECSClient(func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	e := &deployEnv{t: t, ctx: context.Background(), srv: srv, clock: clock, ecs: client}
	load := func(image string) *pipeline.Config {
		cfg, err := pipeline.LoadConfig(e.ctx, pipeline.LoadConfigOptions{Dir: "testdata/trace", LookupEnv: mapEnv(map[string]string{"IMAGE": image})})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	created, err := pipeline.Create(e.ctx, client, load("registry.example.com/web:v1"), pipeline.CreateOptions{DesiredCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	e.v1 = created.TaskDefinitionArn
	for i := 0; ; i++ {
		s := e.service()
		if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
			break
		}
		if i == 100 {
			t.Fatal("the first deployment did not complete")
		}
		clock.Advance(5 * time.Second)
	}
	clock.Advance(time.Minute)
	e.cfg = load("registry.example.com/web:v2")
	srv.ResetRequests()
	// No SDK retries, as for ECS: the pipeline's own retries are tested.
	logs := cloudwatchlogs.NewFromConfig(srv.AWSConfig(), func(o *cloudwatchlogs.Options) { o.Retryer = aws.NopRetryer{} })
	return &traceEnv{deployEnv: e, logs: logs}
}

// failDeploy deploys web:v2 scripted with b and returns the failed
// deployment's error.
func (e *traceEnv) failDeploy(b ecssim.Behavior, logs bool) *pipeline.DeploymentError {
	e.t.Helper()
	e.srv.SetBehavior("registry.example.com/web:v2", b)
	opts := e.waitOpts(nil)
	if logs {
		opts.Logs = e.logs
	}
	_, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: opts})
	var de *pipeline.DeploymentError
	if !errors.As(err, &de) {
		e.t.Fatalf("Deploy: %v, want a *DeploymentError", err)
	}
	return de
}

func (e *traceEnv) trace(id string) *pipeline.TaskTrace {
	e.t.Helper()
	tr, err := pipeline.Trace(e.ctx, e.ecs, e.logs, e.cfg, pipeline.TraceOptions{TaskID: id, Clock: simClock{e.clock}})
	if err != nil {
		e.t.Fatalf("Trace: %v", err)
	}
	return tr
}

func TestTasksOrderAndFilters(t *testing.T) {
	e := newTraceEnv(t)
	de := e.failDeploy(ecssim.CrashesAtStart("FATAL: DATABASE_URL is not set"), false)
	opts := pipeline.TasksOptions{Clock: simClock{e.clock}}

	all, err := pipeline.Tasks(e.ctx, e.ecs, e.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	var running, stopped int
	for i, task := range all.Tasks {
		if i > 0 && task.CreatedAt.After(all.Tasks[i-1].CreatedAt) {
			t.Errorf("task %d created %s after task %d (%s): not newest first", i, task.CreatedAt, i-1, all.Tasks[i-1].CreatedAt)
		}
		switch task.LastStatus {
		case "RUNNING":
			running++
		case "STOPPED":
			stopped++
		}
	}
	if running != 2 || stopped < 3 {
		t.Errorf("%d running and %d stopped tasks, want 2 running (web:1) and the crashed ones:\n%s", running, stopped, all)
	}

	only, err := pipeline.Tasks(e.ctx, e.ecs, e.cfg, pipeline.TasksOptions{Stopped: true, Clock: simClock{e.clock}})
	if err != nil {
		t.Fatal(err)
	}
	if len(only.Tasks) != stopped {
		t.Errorf("--stopped lists %d tasks, want %d", len(only.Tasks), stopped)
	}
	for _, task := range only.Tasks {
		if task.LastStatus != "STOPPED" {
			t.Errorf("--stopped lists %s task %s", task.LastStatus, task.ID)
		}
	}

	byDep, err := pipeline.Tasks(e.ctx, e.ecs, e.cfg, pipeline.TasksOptions{DeploymentID: de.DeploymentID, Clock: simClock{e.clock}})
	if err != nil {
		t.Fatal(err)
	}
	if len(byDep.Tasks) == 0 {
		t.Fatalf("no tasks started by %s", de.DeploymentID)
	}
	for _, task := range byDep.Tasks {
		if task.StartedBy != de.DeploymentID || task.TaskDefinition != "web:2" {
			t.Errorf("--deployment %s lists task %s started by %s (%s)", de.DeploymentID, task.ID, task.StartedBy, task.TaskDefinition)
		}
	}
	text := byDep.String()
	for _, want := range []string{"TASK", "web:2", "EssentialContainerExited: Essential container in task exited", "app: exit code 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if md := byDep.Markdown(); !strings.Contains(md, "| Task | Revision |") || !strings.Contains(md, "`web:2`") {
		t.Errorf("markdown:\n%s", md)
	}
}

// checkTimeline checks that the entries are in time order and returns the
// text trace.
func checkTimeline(t *testing.T, tr *pipeline.TaskTrace) string {
	t.Helper()
	for i := 1; i < len(tr.Entries); i++ {
		if tr.Entries[i].Time.Before(tr.Entries[i-1].Time) {
			t.Errorf("entry %d (%s %s) before entry %d", i, tr.Entries[i].Time, tr.Entries[i].Message, i-1)
		}
	}
	return tr.String()
}

func TestTraceTimelineWithLogsAndEvents(t *testing.T) {
	moto, err := url.Parse(motoserver.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	e := newTraceEnv(t, ecssim.WithUpstream(moto))
	e.failDeploy(ecssim.RunsOutOfMemory(20*time.Second, "loading cache", "cache holds 2 GiB"), false)

	tr := e.trace("") // the most recently stopped task
	text := checkTimeline(t, tr)
	t.Log(text)
	if tr.Task.TaskDefinition != "web:2" || tr.Task.LastStatus != "STOPPED" || tr.Service != "web" {
		t.Fatalf("traced %s %s of %q, want the newest stopped web:2 task", tr.Task.TaskDefinition, tr.Task.LastStatus, tr.Service)
	}
	// The lifecycle, the log lines and the exit, in this order.
	order := []string{"created (web:2)", "image pull started", "  started\n", "log app", "loading cache", "cache holds 2 GiB",
		"stopping: EssentialContainerExited", "app: exit code 137 (OutOfMemoryError: Container killed due to memory usage)"}
	at := 0
	for _, want := range order {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("trace lacks %q after position %d:\n%s", want, at, text)
		}
		at += i
	}
	var events int
	for _, en := range tr.Entries {
		if en.Source == "event" {
			events++
			if !strings.Contains(en.Message, tr.Task.ID) {
				t.Errorf("event %q does not name task %s", en.Message, tr.Task.ID)
			}
		}
	}
	if events == 0 {
		t.Errorf("no service event names the task:\n%s", text)
	}
	if !slices.ContainsFunc(tr.Notes, func(n string) bool {
		return strings.Contains(n, "logs of sidecar: stream web/sidecar/"+tr.Task.ID+" is empty")
	}) {
		t.Errorf("notes %q lack the empty sidecar stream", tr.Notes)
	}
	if md := tr.Markdown(); !strings.Contains(md, "| Time | Source | What |") || !strings.Contains(md, "cache holds 2 GiB") {
		t.Errorf("markdown:\n%s", md)
	}

	// A task named by id; and other Logs calls still reach moto.
	again := e.trace(tr.Task.ARN)
	if again.Task.ID != tr.Task.ID || len(again.Entries) != len(tr.Entries) {
		t.Errorf("tracing by ARN: task %s with %d entries, want %s with %d", again.Task.ID, len(again.Entries), tr.Task.ID, len(tr.Entries))
	}
	if _, err := e.logs.DescribeLogGroups(e.ctx, &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Errorf("DescribeLogGroups through the simulator to moto: %v", err)
	}
}

func TestTraceTasksThatNeverStarted(t *testing.T) {
	for name, c := range map[string]struct {
		behavior ecssim.Behavior
		want     []string
	}{
		"image pull": {ecssim.CannotPullImage("registry.example.com/web:v2"),
			[]string{"TaskFailedToStart: CannotPullContainerError", "image pull stopped", "app: stopped (CannotPullContainerError"}},
		"access denied": {ecssim.AccessDeniedOnStart("arn:aws:secretsmanager:us-east-1:123456789012:secret:web/db"),
			[]string{"TaskFailedToStart: ResourceInitializationError", "AccessDeniedException"}},
	} {
		t.Run(name, func(t *testing.T) {
			e := newTraceEnv(t)
			e.failDeploy(c.behavior, false)
			tr := e.trace("")
			text := checkTimeline(t, tr)
			for _, want := range c.want {
				if !strings.Contains(text, want) {
					t.Errorf("trace lacks %q:\n%s", want, text)
				}
			}
			for _, en := range tr.Entries {
				if strings.HasPrefix(en.Source, "log ") || en.Message == "started" {
					t.Errorf("a task that never started has %s %q", en.Source, en.Message)
				}
			}
			if !strings.Contains(text, "note: logs of app: no log stream web/app/"+tr.Task.ID) {
				t.Errorf("trace does not say the stream is missing:\n%s", text)
			}
		})
	}
}

func TestTraceRetriesThrottledGetLogEvents(t *testing.T) {
	e := newTraceEnv(t)
	e.failDeploy(ecssim.CrashesAtStart("FATAL: DATABASE_URL is not set"), false)
	e.srv.ResetRequests()
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: "GetLogEvents", Count: 3}); err != nil {
		t.Fatal(err)
	}
	text := e.trace("").String()
	if !strings.Contains(text, "FATAL: DATABASE_URL is not set") {
		t.Errorf("trace lacks the log line after throttling:\n%s", text)
	}
	var throttled, served int
	for _, r := range e.calls("GetLogEvents") {
		if r.Fault == ecssim.FaultThrottle {
			throttled++
		} else if r.Status == 200 {
			served++
		}
	}
	// app is throttled three times, then read; sidecar read once.
	if throttled != 3 || served != 2 {
		t.Errorf("GetLogEvents: %d throttled, %d served; want 3 and 2", throttled, served)
	}
}

func TestLogsWindowAndFollow(t *testing.T) {
	e := newTraceEnv(t)
	clock := simClock{e.clock}
	var out bytes.Buffer
	n, err := pipeline.Logs(e.ctx, e.ecs, e.logs, e.cfg, pipeline.LogsOptions{Since: 10 * time.Minute, Out: &out, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if n != 4 || len(lines) != 4 || !strings.Contains(lines[0], " app/") || !strings.HasSuffix(lines[3], "listening on :8080") {
		t.Errorf("%d lines, want both web:1 tasks' two:\n%s", n, out.String())
	}
	if !slices.IsSorted(lines) {
		t.Errorf("lines not in time order:\n%s", out.String())
	}
	if n, err := pipeline.Logs(e.ctx, e.ecs, e.logs, e.cfg, pipeline.LogsOptions{Since: 30 * time.Second, Clock: clock}); err != nil || n != 0 {
		t.Errorf("the last 30s: %d lines (%v), want none: the tasks logged a minute earlier", n, err)
	}

	// Follow while a new deployment starts tasks that log.
	b := ecssim.Healthy()
	b.Logs = []string{"starting web v2"}
	e.srv.SetBehavior("registry.example.com/web:v1", b)
	if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true}); err != nil {
		t.Fatal(err)
	}
	began := e.clock.Now()
	out.Reset()
	n, err = pipeline.Logs(e.ctx, e.ecs, e.logs, e.cfg, pipeline.LogsOptions{Since: time.Second, Follow: true, Timeout: time.Minute, Out: &out, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if took := e.clock.Now().Sub(began); took < time.Minute || took > time.Minute+time.Second {
		t.Errorf("follow ended after %s, want its 1m timeout", took)
	}
	if n != 2 || strings.Count(out.String(), "starting web v2") != 2 || strings.Contains(out.String(), "v1") {
		t.Errorf("follow wrote %d lines, want the two new tasks' line once each:\n%s", n, out.String())
	}
}

func TestFailedDeployQuotesStoppedTaskLog(t *testing.T) {
	e := newTraceEnv(t)
	de := e.failDeploy(ecssim.CrashesAtStart("FATAL: DATABASE_URL is not set"), true)
	msg := de.Error()
	t.Log(msg)
	for _, want := range []string{"failed and", "Essential container in task exited", "task " /* the trace */, "log app", "FATAL: DATABASE_URL is not set", "app: exit code 1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if !strings.HasPrefix(msg, "deployment "+de.DeploymentID) {
		t.Errorf("the trace comes before the deployment error:\n%s", msg)
	}
}

func TestFailedDeployTraceNeverHidesTheError(t *testing.T) {
	e := newTraceEnv(t)
	// Every Logs read fails for good: the error still says what happened.
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "GetLogEvents"}); err != nil {
		t.Fatal(err)
	}
	de := e.failDeploy(ecssim.CrashesAtStart("FATAL: DATABASE_URL is not set"), true)
	msg := de.Error()
	if !strings.Contains(msg, "Essential container in task exited") || !strings.Contains(msg, "service runs web:1") {
		t.Errorf("error lost the deployment's reasons:\n%s", msg)
	}
	if strings.Contains(msg, "FATAL") || !strings.Contains(msg, "note: logs of app: reading web/app/") {
		t.Errorf("error should note the unreadable logs, not quote them:\n%s", msg)
	}
}

// BenchmarkTrace measures one trace of a stopped task on the simulator:
// the calls it makes (calls/op) and its wall time, warm. The task has two
// containers logging with awslogs, so two GetLogEvents.
func BenchmarkTrace(b *testing.B) {
	e := newTraceEnv(b)
	e.failDeploy(ecssim.RunsOutOfMemory(20*time.Second, "loading cache", "cache holds 2 GiB"), false)
	id := e.trace("").Task.ID
	for name, id := range map[string]string{"by-id": id, "newest-stopped": ""} {
		b.Run(name, func(b *testing.B) {
			e.srv.ResetRequests()
			n := 0
			for b.Loop() {
				if _, err := pipeline.Trace(e.ctx, e.ecs, e.logs, e.cfg, pipeline.TraceOptions{TaskID: id}); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(len(e.srv.Requests()))/float64(n), "calls/op")
		})
	}
}

package pipeline_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

func TestRunOneOffTask(t *testing.T) {
	e := newTraceEnv(t)
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{SkipTaskDefinition: true, Command: []string{"./migrate", "up"}, Clock: simClock{e.clock}})
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
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{SkipTaskDefinition: true, Clock: simClock{e.clock}})
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

// runTaskDefinition is the taskDefinition of the i-th logged RunTask.
func (e *traceEnv) runTaskDefinition(i int) string {
	e.t.Helper()
	runs := e.calls("RunTask")
	if len(runs) <= i {
		e.t.Fatalf("%d RunTask calls, want more than %d", len(runs), i)
	}
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := json.Unmarshal(runs[i].Params, &in); err != nil {
		e.t.Fatal(err)
	}
	return in.TaskDefinition[strings.LastIndexByte(in.TaskDefinition, '/')+1:]
}

func TestRunRegistersTheRenderedDefinitionOnceWhenChanged(t *testing.T) {
	e := newTraceEnv(t) // the service runs web:1 of image v1; e.cfg renders v2
	for i := range 2 {
		res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{NoWait: true, Clock: simClock{e.clock}})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if got := e.runTaskDefinition(i); got != "web:2" {
			t.Errorf("run %d ran %s, want the rendered web:2", i, got)
		}
		if res.Registered != (i == 0) {
			t.Errorf("run %d: Registered %v", i, res.Registered)
		}
	}
	if n := len(e.calls("RegisterTaskDefinition")); n != 1 {
		t.Errorf("%d RegisterTaskDefinition calls in two runs, want 1: the second found web:2 unchanged", n)
	}
}

func TestRunDoesNotRegisterAnUnchangedDefinition(t *testing.T) {
	e := newTraceEnv(t)
	cfg, err := pipeline.LoadConfig(e.ctx, pipeline.LoadConfigOptions{Dir: "testdata/trace", LookupEnv: mapEnv(map[string]string{"IMAGE": "registry.example.com/web:v1"})})
	if err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, cfg, pipeline.RunOptions{Clock: simClock{e.clock}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.calls("RegisterTaskDefinition")); n != 0 || res.Registered {
		t.Errorf("%d RegisterTaskDefinition calls (Registered %v) for the definition web:1 has, want none", n, res.Registered)
	}
	if got := e.runTaskDefinition(0); got != "web:1" {
		t.Errorf("ran %s, want web:1", got)
	}
}

func TestRunLatestOrSkipTaskDefinition(t *testing.T) {
	e := newTraceEnv(t)
	// web:2 is registered and the latest; the service still runs web:1.
	if _, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{NoWait: true, Clock: simClock{e.clock}}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		opts pipeline.RunOptions
		want string
	}{
		{pipeline.RunOptions{LatestTaskDefinition: true}, "web:2"},
		{pipeline.RunOptions{SkipTaskDefinition: true}, "web:1"},
		{pipeline.RunOptions{TaskDefinition: "web:1"}, "web:1"},
	} {
		c.opts.NoWait, c.opts.Clock = true, simClock{e.clock}
		if _, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, c.opts); err != nil {
			t.Fatalf("%+v: %v", c.opts, err)
		}
		if got := e.runTaskDefinition(i + 1); got != c.want {
			t.Errorf("%+v ran %s, want %s", c.opts, got, c.want)
		}
	}
	if n := len(e.calls("RegisterTaskDefinition")); n != 1 {
		t.Errorf("%d RegisterTaskDefinition calls, want only the first run's", n)
	}
	_, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{LatestTaskDefinition: true, TaskDefinition: "web:1", Clock: simClock{e.clock}})
	if err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("Run with two revisions: %v, want a refusal", err)
	}
}

func TestRunSendsEnvTagsAndStartedBy(t *testing.T) {
	e := newTraceEnv(t)
	svc := e.service()
	if _, err := e.ecs.TagResource(e.ctx, &ecs.TagResourceInput{ResourceArn: svc.ServiceArn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("payments")},
		{Key: aws.String("env"), Value: aws.String("prod")},
	}}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetRequests()
	ov, err := pipeline.ParseTaskOverride(`{"cpu":"512","containerOverrides":[{"name":"app","environment":[{"name":"LOG_LEVEL","value":"info"},{"name":"MODE","value":"web"}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{
		SkipTaskDefinition: true, NoWait: true, Clock: simClock{e.clock},
		Command:       []string{"./migrate"},
		Env:           map[string]string{"MODE": "migrate", "DRY": "1"},
		Overrides:     ov,
		StartedBy:     "ci-42",
		Tags:          map[string]string{"run": "migrate", "env": "staging"},
		PropagateTags: "SERVICE",
	})
	if err != nil {
		t.Fatal(err)
	}
	var in struct {
		StartedBy string `json:"startedBy"`
		Overrides struct {
			Cpu                string `json:"cpu"`
			ContainerOverrides []struct {
				Name        string              `json:"name"`
				Command     []string            `json:"command"`
				Environment []map[string]string `json:"environment"`
			} `json:"containerOverrides"`
		} `json:"overrides"`
		Tags          []map[string]string `json:"tags"`
		PropagateTags string              `json:"propagateTags"`
	}
	if err := json.Unmarshal(e.calls("RunTask")[0].Params, &in); err != nil {
		t.Fatal(err)
	}
	if in.StartedBy != "ci-42" || in.PropagateTags != "" || in.Overrides.Cpu != "512" {
		t.Errorf("startedBy %q, propagateTags %q, cpu %q; want ci-42, none (SERVICE is copied, not sent), 512", in.StartedBy, in.PropagateTags, in.Overrides.Cpu)
	}
	cos := in.Overrides.ContainerOverrides
	if len(cos) != 1 || cos[0].Name != "app" || strings.Join(cos[0].Command, " ") != "./migrate" {
		t.Fatalf("container overrides %+v, want app's with the command", cos)
	}
	env := map[string]string{}
	for _, kv := range cos[0].Environment {
		env[kv["name"]] = kv["value"]
	}
	if len(cos[0].Environment) != 3 || env["LOG_LEVEL"] != "info" || env["MODE"] != "migrate" || env["DRY"] != "1" {
		t.Errorf("environment %v, want LOG_LEVEL=info from --overrides, MODE=migrate over it, DRY=1", cos[0].Environment)
	}
	tags := map[string]string{}
	for _, tg := range in.Tags {
		tags[tg["key"]] = tg["value"]
	}
	if len(in.Tags) != 3 || tags["run"] != "migrate" || tags["env"] != "staging" || tags["team"] != "payments" {
		t.Errorf("tags %v, want run=migrate, env=staging (given, over the service's) and team=payments (the service's)", in.Tags)
	}
}

func TestRunStartedByDefaultAndTaskDefinitionTags(t *testing.T) {
	e := newTraceEnv(t)
	if _, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{SkipTaskDefinition: true, NoWait: true, PropagateTags: "TASK_DEFINITION", Clock: simClock{e.clock}}); err != nil {
		t.Fatal(err)
	}
	p := string(e.calls("RunTask")[0].Params)
	if !strings.Contains(p, `"startedBy":"ecs-pipeline"`) || !strings.Contains(p, `"propagateTags":"TASK_DEFINITION"`) || strings.Contains(p, `"overrides"`) {
		t.Errorf("RunTask %s, want startedBy ecs-pipeline, propagateTags TASK_DEFINITION, no overrides", p)
	}
	_, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{PropagateTags: "SERIVCE", Clock: simClock{e.clock}})
	if err == nil || !strings.Contains(err.Error(), "SERIVCE") || len(e.calls("RegisterTaskDefinition")) != 0 {
		t.Errorf("PropagateTags SERIVCE: %v after %d registrations, want a refusal before any", err, len(e.calls("RegisterTaskDefinition")))
	}
}

func TestParseTaskOverrideNamesAnUnknownKey(t *testing.T) {
	_, err := pipeline.ParseTaskOverride(`{"containerOverrides":[{"name":"app","envirnoment":[]}]}`)
	if err == nil || !strings.Contains(err.Error(), `"envirnoment"`) {
		t.Errorf("ParseTaskOverride: %v, want an error naming envirnoment", err)
	}
	ov, err := pipeline.ParseTaskOverride(`{"taskRoleArn":"arn:aws:iam::123456789012:role/migrate"}`)
	if err != nil || aws.ToString(ov.TaskRoleArn) != "arn:aws:iam::123456789012:role/migrate" {
		t.Errorf("ParseTaskOverride: %+v, %v", ov, err)
	}
}

func TestRunRegistersWithImageOverrides(t *testing.T) {
	e := newTraceEnv(t)
	res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{
		ImageOverrides: map[string]string{"app": "registry.example.com/web:v3"}, NoWait: true, Clock: simClock{e.clock},
	})
	if err != nil {
		t.Fatal(err)
	}
	regs := e.calls("RegisterTaskDefinition")
	if len(regs) != 1 || !strings.Contains(string(regs[0].Params), `"registry.example.com/web:v3"`) || !res.Registered {
		t.Errorf("%d registrations, want one of image web:v3", len(regs))
	}
	_, err = pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{
		ImageOverrides: map[string]string{"app": "registry.example.com/web:v3"}, SkipTaskDefinition: true, Clock: simClock{e.clock},
	})
	if err == nil {
		t.Error("Run with image overrides and SkipTaskDefinition succeeded, ignoring the overrides")
	}
}

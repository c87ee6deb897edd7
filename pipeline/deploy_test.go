package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

var simStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// simClock makes Wait sleep on the simulator's manual clock: a sleep
// advances simulated time and returns at once, so tests are fast and
// deterministic.
type simClock struct{ c *ecssim.ManualClock }

func (s simClock) Now() time.Time { return s.c.Now() }

func (s simClock) Sleep(ctx context.Context, d time.Duration) error {
	s.c.Advance(d)
	return ctx.Err()
}

// deployEnv is a simulator on a manual clock with service "web" of cluster
// "prod" created from testdata/deploy with web:1 and two tasks, and the
// config loaded for the next deploy.
type deployEnv struct {
	t     testing.TB
	ctx   context.Context
	srv   *ecssimtest.Server
	clock *ecssim.ManualClock
	ecs   *ecs.Client
	cfg   *pipeline.Config
	v1    string
}

func newDeployEnv(t testing.TB, env map[string]string, opts ...ecssim.Option) *deployEnv {
	t.Helper()
	clock := ecssim.NewManualClock(simStart)
	srv := ecssimtest.NewServer(t, append([]ecssim.Option{ecssim.WithClock(clock), ecssim.WithCluster("prod")}, opts...)...)
	// No SDK retries: the SDK would back off in wall time, and Wait's own
	// handling of throttling and 5xx is what these tests exercise.
	client := srv.ECSClient(func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	e := &deployEnv{t: t, ctx: context.Background(), srv: srv, clock: clock, ecs: client}

	created, err := pipeline.Create(e.ctx, client, loadDeployConfig(t, env, nil), pipeline.CreateOptions{DesiredCount: aws.Int32(2)})
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
	clock.Advance(time.Minute) // so the next deploy's events are apart from the first's
	e.cfg = loadDeployConfig(t, env, map[string]string{"IMAGE": "registry.example.com/web:v2"})
	srv.ResetRequests()
	return e
}

// loadDeployConfig loads testdata/deploy with env, then extra, as the environment.
func loadDeployConfig(t testing.TB, env, extra map[string]string) *pipeline.Config {
	t.Helper()
	m := map[string]string{}
	for k, v := range env {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	cfg, err := pipeline.LoadConfig(context.Background(), pipeline.LoadConfigOptions{Dir: "testdata/deploy", LookupEnv: mapEnv(m)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (e *deployEnv) service() types.Service {
	e.t.Helper()
	out, err := e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		e.t.Fatalf("describing service: %v", err)
	}
	return out.Services[0]
}

func (e *deployEnv) waitOpts(events *bytes.Buffer) pipeline.WaitOptions {
	opts := pipeline.WaitOptions{Clock: simClock{e.clock}}
	if events != nil {
		opts.Events = events
	}
	return opts
}

// calls returns the logged requests of an operation.
func (e *deployEnv) calls(op string) []ecssim.Request {
	var out []ecssim.Request
	for _, r := range e.srv.Requests() {
		if r.Operation == op {
			out = append(out, r)
		}
	}
	return out
}

// mutating returns the operations of the logged mutating requests.
func (e *deployEnv) mutating() []string {
	var ops []string
	for _, r := range e.srv.Requests() {
		if r.Mutating() {
			ops = append(ops, r.Operation)
		}
	}
	return ops
}

// checkEventLines checks that streamed events are in time order, unique,
// and none is older than notBefore.
func checkEventLines(t *testing.T, text string, notBefore time.Time) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no events streamed")
	}
	var prev time.Time
	seen := map[string]bool{}
	for _, l := range lines {
		ts, _, _ := strings.Cut(l, " ")
		at, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			t.Fatalf("event line %q: %v", l, err)
		}
		if at.Before(prev) || at.Before(notBefore.Truncate(time.Second)) {
			t.Errorf("event %q out of order or older than the deploy (%s)", l, notBefore)
		}
		prev = at
		if seen[l] && !strings.Contains(l, "has started") {
			t.Errorf("event %q streamed twice", l)
		}
		seen[l] = true
	}
	return lines
}

func TestDeploySucceeds(t *testing.T) {
	e := newDeployEnv(t, nil)
	began := e.clock.Now()
	var events bytes.Buffer
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(&events)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Outcome != pipeline.OutcomeSucceeded || !strings.HasSuffix(res.TaskDefinitionArn, ":task-definition/web:2") {
		t.Errorf("outcome %s, task definition %s; want SUCCEEDED, web:2", res.Outcome, res.TaskDefinitionArn)
	}
	if res.Images["app"] != "registry.example.com/web:v2" {
		t.Errorf("images %v", res.Images)
	}
	if res.DeploymentID == "" || res.ServiceDeploymentArn == "" || res.Wait.ServiceDeploymentStatus != "SUCCESSFUL" {
		t.Errorf("deployment %q, service deployment %q %q", res.DeploymentID, res.ServiceDeploymentArn, res.Wait.ServiceDeploymentStatus)
	}
	if got := e.mutating(); !slices.Equal(got, []string{"RegisterTaskDefinition", "UpdateService"}) {
		t.Errorf("mutating calls %v, want one RegisterTaskDefinition and one UpdateService", got)
	}
	var update map[string]any
	if err := json.Unmarshal(e.calls("UpdateService")[0].Params, &update); err != nil {
		t.Fatal(err)
	}
	if _, ok := update["desiredCount"]; ok {
		t.Errorf("UpdateService sent desiredCount although none was asked: %v", update)
	}
	for _, k := range []string{"deploymentConfiguration", "networkConfiguration", "loadBalancers", "healthCheckGracePeriodSeconds", "propagateTags", "enableExecuteCommand"} {
		if _, ok := update[k]; !ok {
			t.Errorf("UpdateService lacks %s from the service definition", k)
		}
	}
	s := e.service()
	if s.DesiredCount != 2 || aws.ToString(s.TaskDefinition) != res.TaskDefinitionArn || len(s.Deployments) != 1 {
		t.Errorf("service desired %d, runs %s with %d deployments", s.DesiredCount, aws.ToString(s.TaskDefinition), len(s.Deployments))
	}
	lines := checkEventLines(t, events.String(), began)
	if last := lines[len(lines)-1]; !strings.Contains(last, "has reached a steady state") {
		t.Errorf("last event %q, want the steady state", last)
	}
	if !strings.Contains(events.String(), "deployment completed") {
		t.Errorf("events lack the completion:\n%s", events.String())
	}
	if md := res.Markdown(); !strings.Contains(md, "SUCCEEDED") || !strings.Contains(md, "`web:2`") || !strings.Contains(md, res.DeploymentID) {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestDeployDesiredCountWhenAsked(t *testing.T) {
	e := newDeployEnv(t, nil)
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{DesiredCount: aws.Int32(3), Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if s := e.service(); s.DesiredCount != 3 || s.RunningCount != 3 {
		t.Errorf("desired %d running %d, want 3", s.DesiredCount, s.RunningCount)
	}
	if n := len(e.calls("UpdateService")); n != 1 || res.Outcome != pipeline.OutcomeSucceeded {
		t.Errorf("%d UpdateService calls, outcome %s", n, res.Outcome)
	}
}

func TestDeployCircuitBreakerRollback(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.FailsHealthChecks(20*time.Second))
	var events bytes.Buffer
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(&events)})
	var de *pipeline.DeploymentError
	if !errors.As(err, &de) || !errors.Is(err, pipeline.ErrRolledBack) {
		t.Fatalf("Deploy: %v, want a rolled-back *DeploymentError", err)
	}
	t.Log(err)
	for _, want := range []string{"failed and is being rolled back (service deployment ROLLBACK_IN_PROGRESS)", "Task failed ELB health checks", "service runs web:1", "circuit breaker"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if de.RunningTaskDefinition != "web:1" || len(de.StoppedTasks) == 0 || de.StoppedTasks[0].Count < 3 {
		t.Errorf("running %q, stopped tasks %+v", de.RunningTaskDefinition, de.StoppedTasks)
	}
	if res == nil || res.Outcome != pipeline.OutcomeRolledBack || res.Reason == "" {
		t.Errorf("result %+v", res)
	}
	if n := len(e.calls("UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	if !strings.Contains(events.String(), "rolling back") {
		t.Errorf("events lack the rollback:\n%s", events.String())
	}
}

func TestDeployFailsWithoutRollback(t *testing.T) {
	e := newDeployEnv(t, map[string]string{"CB_ROLLBACK": "false"})
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.ExitsWith(137, "OutOfMemoryError: Container killed due to memory usage", 5*time.Second))
	_, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if !errors.Is(err, pipeline.ErrDeploymentFailed) {
		t.Fatalf("Deploy: %v, want ErrDeploymentFailed", err)
	}
	t.Log(err)
	for _, want := range []string{"(web:2) of service \"web\" failed", "OutOfMemoryError", "exit code 137", "Essential container in task exited", "STOPPED"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestDeployTimeout(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Hour})
	began := e.clock.Now()
	opts := e.waitOpts(nil)
	opts.Timeout = 2 * time.Minute
	_, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: opts})
	if !errors.Is(err, pipeline.ErrTimeout) {
		t.Fatalf("Deploy: %v, want ErrTimeout", err)
	}
	t.Log(err)
	for _, want := range []string{"did not finish in time", "still in progress after 2m0s", "0 of 2 tasks running, 2 pending", "service runs web:2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if took := e.clock.Now().Sub(began); took < 2*time.Minute || took > 2*time.Minute+time.Second {
		t.Errorf("gave up after %v, want 2m", took)
	}
}

// faultsOnFirstEvent injects faults when the first event is streamed, that
// is while waiting, after the one UpdateService.
type faultsOnFirstEvent struct {
	bytes.Buffer
	once   sync.Once
	inject func()
}

func (w *faultsOnFirstEvent) Write(p []byte) (int, error) {
	w.once.Do(w.inject)
	return w.Buffer.Write(p)
}

func TestDeploySurvivesThrottlingAndServerErrors(t *testing.T) {
	e := newDeployEnv(t, nil)
	events := &faultsOnFirstEvent{inject: func() {
		for _, f := range []ecssim.Fault{
			{Kind: ecssim.FaultThrottle, Count: 6},
			{Kind: ecssim.FaultServerError, Count: 3},
			{Kind: ecssim.FaultReset, Operation: "DescribeServices", Count: 1},
			{Kind: ecssim.FaultThrottle, Operation: "DescribeServices", Rate: 0.3},
		} {
			if err := e.srv.InjectFault(f); err != nil {
				t.Fatal(err)
			}
		}
	}}
	opts := pipeline.WaitOptions{Clock: simClock{e.clock}, Events: events}
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: opts})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Outcome != pipeline.OutcomeSucceeded {
		t.Errorf("outcome %s", res.Outcome)
	}
	faulted := 0
	for _, r := range e.srv.Requests() {
		if r.Fault != "" {
			faulted++
		}
	}
	if faulted < 10 {
		t.Errorf("only %d calls were faulted; the test injects at least 10", faulted)
	}
	if n := len(e.calls("UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

func TestDeployDryRunChangesNothing(t *testing.T) {
	e := newDeployEnv(t, nil)
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{DryRun: true, DesiredCount: aws.Int32(4)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Outcome != pipeline.OutcomeDryRun {
		t.Errorf("outcome %s", res.Outcome)
	}
	for _, want := range []string{`Would register task definition family "web"`, `"image": "registry.example.com/web:v2"`, "-      \"image\": \"registry.example.com/web:v1\"", `Would update service "web" in cluster "prod" once`, `"desiredCount": 4`} {
		if !strings.Contains(res.Plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, res.Plan)
		}
	}
	if got := e.mutating(); len(got) != 0 {
		t.Errorf("dry run made mutating calls %v", got)
	}
}

func TestDeployBadInputChangesNothing(t *testing.T) {
	e := newDeployEnv(t, nil)
	missing := *e.cfg
	missing.Service = "nope"
	for _, c := range []struct {
		name string
		cfg  *pipeline.Config
		opts pipeline.DeployOptions
		want string
	}{
		// Deploy creates a missing service (ecspresso v2), but not from a
		// deploy that registers nothing.
		{"missing service", &missing, pipeline.DeployOptions{SkipTaskDefinition: true}, `service "nope" not found in cluster "prod"`},
		{"oversize definition", e.cfg, pipeline.DeployOptions{ImageOverrides: map[string]string{"app": "registry.example.com/web:" + strings.Repeat("x", 70000)}}, "over the ECS limit of 65536"},
		{"unknown container override", e.cfg, pipeline.DeployOptions{ImageOverrides: map[string]string{"worker": "registry.example.com/worker:v2"}}, `no container named "worker"`},
		{"image not pinned by digest", e.cfg, pipeline.DeployOptions{RequireDigest: true}, `container "app": image "registry.example.com/web:v2" is not pinned by digest`},
		{"overrides without a task definition", e.cfg, pipeline.DeployOptions{SkipTaskDefinition: true, ImageOverrides: map[string]string{"app": "x"}}, "image overrides need a task definition"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.srv.ResetRequests()
			_, err := pipeline.Deploy(e.ctx, e.ecs, c.cfg, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Deploy: %v, want an error containing %q", err, c.want)
			}
			if c.name == "missing service" && !errors.Is(err, pipeline.ErrServiceNotFound) {
				t.Errorf("error %v is not ErrServiceNotFound", err)
			}
			if got := e.mutating(); len(got) != 0 {
				t.Errorf("made mutating calls %v", got)
			}
		})
	}
}

func TestDeployNoWaitThenWait(t *testing.T) {
	e := newDeployEnv(t, nil)
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if n := len(e.calls("DescribeServices")); n != 1 {
		t.Errorf("%d DescribeServices calls with NoWait, want the one existence check", n)
	}
	s := e.service()
	if p := s.Deployments[0]; res.Outcome != pipeline.OutcomeStarted || aws.ToString(p.Id) != res.DeploymentID || p.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("outcome %s, deployment %s; service: %s %s", res.Outcome, res.DeploymentID, aws.ToString(p.Id), p.RolloutState)
	}
	wr, err := pipeline.Wait(e.ctx, e.ecs, e.cfg, pipeline.WaitOptions{DeploymentID: res.DeploymentID, Clock: simClock{e.clock}})
	if err != nil || wr.Outcome != pipeline.OutcomeSucceeded {
		t.Fatalf("Wait: %v %+v", err, wr)
	}
}

func TestDeploySkipTaskDefinition(t *testing.T) {
	e := newDeployEnv(t, nil)
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{SkipTaskDefinition: true, ForceNewDeployment: true, Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.TaskDefinitionArn != e.v1 || len(e.calls("RegisterTaskDefinition")) != 0 || len(e.calls("UpdateService")) != 1 {
		t.Errorf("deployed %s with %v", res.TaskDefinitionArn, e.mutating())
	}
}

// TestWaitPollBudget follows a five-minute deployment and checks the
// polling budget (at most 8 + 0.45 polls a second, under one per 2 s over
// the deployment) and that completion is noticed within 2 s.
func TestWaitPollBudget(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: 4 * time.Minute})
	began := e.clock.Now()
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatal(err)
	}
	took := e.clock.Now().Sub(began)
	if took < 5*time.Minute {
		t.Fatalf("deployment took %v, want at least 5m", took)
	}
	if limit := 8 + 0.45*took.Seconds(); float64(res.Wait.Polls) > limit || float64(res.Wait.Polls) > took.Seconds()/2 {
		t.Errorf("%d polls in %v, over the budget of %.0f and one per 2 s", res.Wait.Polls, took, limit)
	}
	out, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{res.ServiceDeploymentArn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatal(err)
	}
	late := e.clock.Now().Sub(aws.ToTime(out.ServiceDeployments[0].FinishedAt))
	if late > 2*time.Second {
		t.Errorf("completion noticed %v late", late)
	}
	t.Logf("%d polls in %v; completion noticed %v after it happened", res.Wait.Polls, took.Round(time.Second), late)
}

// TestCreate makes a service from the definitions, as ecspresso create
// does, and refuses a config without a service definition before calling
// anything.
func TestCreate(t *testing.T) {
	e := newDeployEnv(t, nil)
	s := e.service()
	if aws.ToString(s.TaskDefinition) != e.v1 || !strings.HasSuffix(e.v1, ":task-definition/web:1") || s.DesiredCount != 2 || s.RunningCount != 2 {
		t.Fatalf("created service runs %s, desired %d, running %d; want web:1 and 2 tasks", aws.ToString(s.TaskDefinition), s.DesiredCount, s.RunningCount)
	}
	if s.DeploymentConfiguration == nil || s.DeploymentConfiguration.DeploymentCircuitBreaker == nil || !s.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback {
		t.Fatalf("the service definition's circuit breaker was not applied: %+v", s.DeploymentConfiguration)
	}
	cfg := loadDeployConfig(t, nil, nil)
	cfg.ServiceDefinition = ""
	if _, err := pipeline.Create(e.ctx, e.ecs, cfg, pipeline.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "sets no service_definition") {
		t.Fatalf("Create without a service definition: %v", err)
	}
	if m := e.mutating(); len(m) != 0 {
		t.Fatalf("a refused create called %v", m)
	}
}

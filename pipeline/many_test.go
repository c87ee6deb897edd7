package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// manyScale is how much faster than the wall clock the simulator runs in
// these tests: a deploy of about a simulated minute takes 6 s.
const manyScale = 10

// scaledClock is the pipeline's clock on a simulator's scaled clock: Now
// is the simulated time and Sleep sleeps the wall time that makes it pass,
// so deploys running side by side share one timeline (a ManualClock that
// each Sleep advances would run it N times too fast).
type scaledClock struct {
	c     ecssim.Clock
	scale float64
}

func (s scaledClock) Now() time.Time { return s.c.Now() }

func (s scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return pipeline.SystemClock{}.Sleep(ctx, time.Duration(float64(d)/s.scale))
}

// manyEnv is a simulator on a scaled clock with n services of cluster
// "prod", svc-00..., each of its own family and project (from
// testdata/deploy), created with revision 1 and two tasks; cfgs are the
// configs deploying registry.example.com/web:v2 to them.
type manyEnv struct {
	t     testing.TB
	ctx   context.Context
	srv   *ecssimtest.Server
	clock pipeline.Clock
	ecs   *ecs.Client
	cfgs  []*pipeline.Config
}

func newManyEnv(t testing.TB, n int) *manyEnv {
	t.Helper()
	simClock := ecssim.NewScaledClock(manyScale)
	srv := ecssimtest.NewServer(t, ecssim.WithClock(simClock), ecssim.WithCluster("prod"))
	// No SDK retries (they would back off in wall time): the pipeline's
	// own handling of throttling is what these tests exercise.
	client := srv.ECSClient(func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	e := &manyEnv{t: t, ctx: context.Background(), srv: srv, clock: scaledClock{simClock, manyScale}, ecs: client}
	var names []string
	for i := range n {
		name := fmt.Sprintf("svc-%02d", i)
		names = append(names, name)
		dir := writeServiceProject(t, name)
		v1 := loadProject(t, dir, "registry.example.com/web:v1")
		if _, err := pipeline.Create(e.ctx, client, v1, pipeline.CreateOptions{DesiredCount: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		e.cfgs = append(e.cfgs, loadProject(t, dir, "registry.example.com/web:v2"))
	}
	for i := 0; ; i++ {
		done := true
		for chunk := range slices.Chunk(names, 10) {
			out, err := client.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: chunk})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range out.Services {
				if len(s.Deployments) != 1 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
					done = false
				}
			}
		}
		if done {
			break
		}
		if i == 100 {
			t.Fatal("the first deployments did not complete")
		}
		srv.Advance(5 * time.Second)
	}
	srv.Advance(time.Minute)
	srv.ResetRequests()
	return e
}

// writeServiceProject writes testdata/deploy as the project of service
// name, whose task definition family is name too.
func writeServiceProject(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range []string{"ecspresso.yml", "ecs-task-def.json", "ecs-service-def.jsonnet"} {
		b, err := os.ReadFile(filepath.Join("testdata/deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	files["ecspresso.yml"] = strings.Replace(files["ecspresso.yml"], "service: web", "service: "+name, 1)
	files["ecs-task-def.json"] = strings.Replace(files["ecs-task-def.json"], `"family": "web"`, `"family": "`+name+`"`, 1)
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadProject(t testing.TB, dir, image string) *pipeline.Config {
	t.Helper()
	cfg, err := pipeline.LoadConfig(context.Background(), pipeline.LoadConfigOptions{Dir: dir, LookupEnv: mapEnv(map[string]string{"IMAGE": image})})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func (e *manyEnv) opts() pipeline.DeployManyOptions {
	// The batching window is wall time: a tenth of the poll tick's wall
	// time here, time enough for the callers of one tick to meet.
	return pipeline.DeployManyOptions{
		Deploy: pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: e.clock}},
		Batch:  pipeline.BatchOptions{Window: 50 * time.Millisecond},
	}
}

// callsByService counts the logged calls of op that no fault answered, by
// the "service" parameter.
func (e *manyEnv) callsByService(op string) map[string]int {
	m := map[string]int{}
	for _, r := range e.srv.Requests() {
		if r.Operation != op || r.Fault != "" {
			continue
		}
		var p struct {
			Service string `json:"service"`
			Family  string `json:"family"`
		}
		if err := json.Unmarshal(r.Params, &p); err != nil {
			e.t.Fatal(err)
		}
		m[p.Service+p.Family]++
	}
	return m
}

// runsRevision reports the task definition the service runs.
func (e *manyEnv) runs(service string) string {
	out, err := e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		e.t.Fatalf("describing %s: %v", service, err)
	}
	arn := aws.ToString(out.Services[0].TaskDefinition)
	return arn[strings.LastIndex(arn, "/")+1:]
}

// TestDeployServicesOneFails deploys one image to three services; the
// second's new revision fails its health checks and the circuit breaker
// rolls it back. The call fails naming it and why; the other two
// succeed; each service got exactly one UpdateService.
func TestDeployServicesOneFails(t *testing.T) {
	e := newManyEnv(t, 3)
	e.srv.SetBehavior("svc-01:2", ecssim.FailsHealthChecks(20*time.Second))

	res, err := pipeline.DeployServices(e.ctx, e.ecs, e.cfgs, e.opts())
	t.Logf("error: %v", err)
	var me *pipeline.ManyError
	if !errors.As(err, &me) || !errors.Is(err, pipeline.ErrRolledBack) {
		t.Fatalf("error %v: want a *ManyError wrapping ErrRolledBack", err)
	}
	if len(me.Failed) != 1 || me.Failed[0].Service != "svc-01" {
		t.Fatalf("failed rows %+v, want svc-01 alone", me.Failed)
	}
	for _, want := range []string{"1 of 3 services failed", "svc-01 (cluster prod)", "(svc-01:2) of service \"svc-01\" failed and", "Task failed ELB health checks"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q", want)
		}
	}
	if res == nil || len(res.Services) != 3 {
		t.Fatalf("result %+v, want 3 rows", res)
	}
	for i, r := range res.Services {
		want := pipeline.OutcomeSucceeded
		if i == 1 {
			want = pipeline.OutcomeRolledBack
		}
		if r.Outcome != want || r.Service != fmt.Sprintf("svc-%02d", i) || r.Cluster != "prod" || r.Revision() != fmt.Sprintf("svc-%02d:2", i) || r.Duration <= 0 {
			t.Errorf("row %d: %+v, want %s of svc-%02d:2", i, r, want, i)
		}
		if (r.Reason != "") != (i == 1) || (i == 1 && !strings.Contains(r.Reason, "circuit breaker")) {
			t.Errorf("row %d: reason %q", i, r.Reason)
		}
	}
	for _, s := range []string{"svc-00", "svc-02"} {
		if got := e.runs(s); got != s+":2" {
			t.Errorf("%s runs %s, want %s:2", s, got, s)
		}
	}
	if got := e.runs("svc-01"); got != "svc-01:1" {
		t.Errorf("svc-01 runs %s, want svc-01:1 (rolled back)", got)
	}
	if got := e.callsByService("UpdateService"); len(got) != 3 || got["svc-00"] != 1 || got["svc-01"] != 1 || got["svc-02"] != 1 {
		t.Errorf("UpdateService calls by service: %v, want one each", got)
	}
	md := res.Markdown()
	for _, want := range []string{"| Service | Revision | Outcome | Time | Reason |", "| `svc-01` (`prod`) | `svc-01:2` | ROLLED_BACK |", "| `svc-00` (`prod`) | `svc-00:2` | SUCCEEDED |", "### Deploy of `svc-02` to `prod`: SUCCEEDED", "```mermaid"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestDeployServicesFailFast deploys three services one at a time with
// FailFast; the first fails, so the other two are SKIPPED: never
// registered, never updated.
func TestDeployServicesFailFast(t *testing.T) {
	e := newManyEnv(t, 3)
	e.srv.SetBehavior("svc-00:2", ecssim.FailsHealthChecks(20*time.Second))
	opts := e.opts()
	opts.FailFast, opts.Concurrency = true, 1

	res, err := pipeline.DeployServices(e.ctx, e.ecs, e.cfgs, opts)
	var me *pipeline.ManyError
	if !errors.As(err, &me) || len(me.Failed) != 1 || me.Skipped != 2 || !strings.Contains(err.Error(), "1 of 3 services failed (2 skipped)") {
		t.Fatalf("error %v: want svc-00 failed, 2 skipped", err)
	}
	if res.Services[0].Outcome != pipeline.OutcomeRolledBack {
		t.Errorf("svc-00: %s, want ROLLED_BACK", res.Services[0].Outcome)
	}
	for _, r := range res.Services[1:] {
		if r.Outcome != pipeline.OutcomeSkipped || r.Result != nil || r.Err != nil || !strings.Contains(r.Reason, "fail fast") {
			t.Errorf("%s: %+v, want SKIPPED", r.Service, r)
		}
	}
	if got := e.callsByService("UpdateService"); len(got) != 1 || got["svc-00"] != 1 {
		t.Errorf("UpdateService calls by service: %v, want svc-00's alone", got)
	}
	if got := e.callsByService("RegisterTaskDefinition"); len(got) != 1 || got["svc-00"] != 1 {
		t.Errorf("RegisterTaskDefinition calls by family: %v, want svc-00's alone", got)
	}
	for _, s := range []string{"svc-01", "svc-02"} {
		if got := e.runs(s); got != s+":1" {
			t.Errorf("%s runs %s, want %s:1", s, got, s)
		}
	}
	if md := res.Markdown(); !strings.Contains(md, "| `svc-02` (`prod`) |  | SKIPPED |  | not started: another service failed (fail fast) |") {
		t.Errorf("markdown:\n%s", md)
	}
}

// ECS's documented API request throttling ("Request throttling for the
// Amazon ECS API", docs.aws.amazon.com/AmazonECS/latest/APIReference/
// request-throttling.html) is a token bucket per account, Region and
// action group: the bucket's size is the burst rate (its example: cluster
// read actions such as DescribeClusters, a bucket of 50 tokens, so at most
// 50 calls in one second) and its refill rate the sustained rate. The
// stored copy this was written from cut off before the per-action table,
// so the test holds every read action to that documented example's burst,
// 50 in any one second, and to a sustained rate of 20 a second, the lowest
// refill rate we assume ECS gives a read action.
const (
	ecsReadBurst     = 50
	ecsReadSustained = 20.0
)

// TestDeployServices50UnderThrottling deploys one image to 50 services of
// one cluster while a fifth of every call is throttled: all succeed with
// one UpdateService each, polls are shared (about a tenth as many
// DescribeServices calls as reads) and no read action exceeds ECS's
// documented request rates.
func TestDeployServices50UnderThrottling(t *testing.T) {
	e := newManyEnv(t, 50)
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultThrottle, Rate: 0.2}); err != nil {
		t.Fatal(err)
	}
	res, err := pipeline.DeployServices(e.ctx, e.ecs, e.cfgs, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for _, r := range e.srv.Requests() {
		if r.Fault == ecssim.FaultThrottle {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("nothing was throttled")
	}
	polls := 0
	for _, r := range res.Services {
		if r.Outcome != pipeline.OutcomeSucceeded || r.Revision() != r.Service+":2" {
			t.Errorf("%s: %s %s", r.Service, r.Outcome, r.Revision())
		}
		polls += r.Result.Wait.Polls
	}
	updates := e.callsByService("UpdateService")
	for _, c := range e.cfgs {
		if updates[c.Service] != 1 {
			t.Errorf("%s: %d UpdateService calls applied, want 1", c.Service, updates[c.Service])
		}
	}
	st := res.Batch
	ds := len(callsOf(e.srv, "DescribeServices"))
	t.Logf("%s elapsed, %d throttled calls; %d polls; DescribeServices: %d sent for %d reads; DescribeServiceDeployments: %d sent for %d reads",
		res.Elapsed.Round(time.Second), throttled, polls, st.DescribeServicesCalls, st.DescribeServicesAsked, st.DescribeServiceDeploymentsCalls, st.DescribeServiceDeploymentsAsked)
	if int64(ds) != st.DescribeServicesCalls {
		t.Errorf("the simulator saw %d DescribeServices calls, the batching client counted %d", ds, st.DescribeServicesCalls)
	}
	// N services polling together cost about N/10 describes a poll. Not
	// every service polls on every tick (their intervals are 1 to 4 s), so
	// a tick's last call is partly filled, and throttled batches are
	// retried by each caller on a later tick: allow twice N/10 (without
	// batching it is N).
	if max := st.DescribeServicesAsked / 5; st.DescribeServicesCalls > max {
		t.Errorf("%d DescribeServices calls for %d reads, want at most %d", st.DescribeServicesCalls, st.DescribeServicesAsked, max)
	}
	if max := st.DescribeServiceDeploymentsAsked / 5; st.DescribeServiceDeploymentsCalls > max {
		t.Errorf("%d DescribeServiceDeployments calls for %d reads, want at most %d", st.DescribeServiceDeploymentsCalls, st.DescribeServiceDeploymentsAsked, max)
	}
	checkReadRates(t, e.srv.Requests())
}

func callsOf(srv *ecssimtest.Server, op string) []ecssim.Request {
	var out []ecssim.Request
	for _, r := range srv.Requests() {
		if r.Operation == op {
			out = append(out, r)
		}
	}
	return out
}

// checkReadRates checks that, by simulated time, no read action (Describe*,
// List*) was called more than ecsReadBurst times in any one second, nor
// more than ecsReadSustained a second on average.
func checkReadRates(t *testing.T, reqs []ecssim.Request) {
	t.Helper()
	byOp := map[string][]time.Time{}
	for _, r := range reqs {
		if !r.Mutating() {
			byOp[r.Operation] = append(byOp[r.Operation], r.SimTime)
		}
	}
	for op, ts := range byOp {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		peak := 0
		for i, j := 0, 0; j < len(ts); j++ {
			for ts[j].Sub(ts[i]) >= time.Second {
				i++
			}
			peak = max(peak, j-i+1)
		}
		span := max(ts[len(ts)-1].Sub(ts[0]).Seconds(), 1)
		rate := float64(len(ts)) / span
		t.Logf("%s: %d calls over %.0fs: %.1f/s on average, at most %d in one second", op, len(ts), span, rate, peak)
		if peak > ecsReadBurst {
			t.Errorf("%s: %d calls in one second, over ECS's burst of %d", op, peak, ecsReadBurst)
		}
		if len(ts) > ecsReadBurst && rate > ecsReadSustained {
			t.Errorf("%s: %.1f calls a second on average, over the sustained %v", op, rate, ecsReadSustained)
		}
	}
}

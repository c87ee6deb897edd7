package pipeline_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// faultCase is one deploy under faults. Faults in before apply from the
// start of the deploy, those in during from the first streamed event, that
// is while waiting, after the one UpdateService.
type faultCase struct {
	name     string
	env      map[string]string
	before   []ecssim.Fault
	during   []ecssim.Fault
	behavior *ecssim.Behavior // of the new image, registry.example.com/web:v2
	timeout  time.Duration
	// loseUpdateResponse lets the first UpdateService reach the simulator
	// and be applied, then breaks the connection before the answer.
	loseUpdateResponse bool

	wantErr error    // nil: the deploy succeeds
	want    []string // in the error message
	runs    string   // the revision the service runs afterwards
	faulted int      // at least this many calls answered by a fault
}

func faultCases() []faultCase {
	fails := ecssim.FailsHealthChecks(20 * time.Second)
	hangs := ecssim.Behavior{StartDelay: time.Hour}
	oom := ecssim.ExitsWith(137, "OutOfMemoryError: Container killed due to memory usage", 5*time.Second)
	noStart := ecssim.FailsToStart("CannotPullContainerError: pull image manifest has been retried 5 time(s): not found")
	throttle := func(op string, n int) ecssim.Fault {
		return ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: op, Count: n}
	}
	return []faultCase{
		{name: "throttled RegisterTaskDefinition", before: []ecssim.Fault{throttle("RegisterTaskDefinition", 4)}, runs: "web:2", faulted: 4},
		{name: "throttled UpdateService", before: []ecssim.Fault{throttle("UpdateService", 4)}, runs: "web:2", faulted: 4},
		{name: "throttled DescribeServices from the start", before: []ecssim.Fault{throttle("DescribeServices", 5)}, runs: "web:2", faulted: 5},
		{name: "throttled DescribeServices while waiting", during: []ecssim.Fault{throttle("DescribeServices", 6)}, runs: "web:2", faulted: 6},
		// UpdateService's answer names the service deployment, so Deploy
		// need not list them: the throttling must simply not matter.
		{name: "throttled ListServiceDeployments", before: []ecssim.Fault{throttle("ListServiceDeployments", 5)}, runs: "web:2"},
		{name: "throttled DescribeServiceDeployments", during: []ecssim.Fault{throttle("DescribeServiceDeployments", 2)}, runs: "web:2", faulted: 1},
		{
			name: "throttled DescribeTasks of a rolled-back deploy", behavior: &fails,
			during:  []ecssim.Fault{throttle("DescribeTasks", 2)},
			wantErr: pipeline.ErrRolledBack, runs: "web:1", faulted: 2,
			want: []string{"failed and is being rolled back", "circuit breaker", "Task failed ELB health checks", "service runs web:1"},
		},
		{name: "throttling burst on every call", before: []ecssim.Fault{{Kind: ecssim.FaultThrottle, Count: 6}}, runs: "web:2", faulted: 6},
		{name: "5xx while waiting", during: []ecssim.Fault{{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 4}}, runs: "web:2", faulted: 4},
		{name: "5xx on DescribeServices at the start", before: []ecssim.Fault{{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 2}}, runs: "web:2", faulted: 2},
		{name: "connection resets while waiting", during: []ecssim.Fault{{Kind: ecssim.FaultReset, Operation: "DescribeServices", Count: 3}}, runs: "web:2", faulted: 3},
		{name: "latency spikes", during: []ecssim.Fault{{Kind: ecssim.FaultLatency, Count: 4, Latency: 150 * time.Millisecond}}, runs: "web:2"},
		{
			name: "describe fails ten times in a row mid-wait, then recovers",
			during: []ecssim.Fault{
				{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 4},
				{Kind: ecssim.FaultReset, Operation: "DescribeServices", Count: 3},
				{Kind: ecssim.FaultThrottle, Operation: "DescribeServices", Count: 3},
			},
			runs: "web:2", faulted: 10,
		},
		{
			name: "5xx on UpdateService", before: []ecssim.Fault{{Kind: ecssim.FaultServerError, Operation: "UpdateService", Count: 1}},
			wantErr: pipeline.ErrUpdateNotApplied, runs: "web:1", faulted: 1,
			want: []string{`updating service "web" to web:2: service update not applied`, "ServerException", "no new deployment of web:2", "of web:1", "was not retried"},
		},
		{
			name: "connection reset on UpdateService", before: []ecssim.Fault{{Kind: ecssim.FaultReset, Operation: "UpdateService", Count: 1}},
			wantErr: pipeline.ErrUpdateNotApplied, runs: "web:1", faulted: 1,
			want: []string{`updating service "web" to web:2: service update not applied`, "no new deployment of web:2", "was not retried"},
		},
		{name: "UpdateService applied, answer lost", loseUpdateResponse: true, runs: "web:2"},
		{
			name: "never finishes", behavior: &hangs, timeout: 3 * time.Minute,
			during:  []ecssim.Fault{{Kind: ecssim.FaultThrottle, Operation: "DescribeServices", Rate: 0.3}},
			wantErr: pipeline.ErrTimeout, runs: "web:2",
			want: []string{"(web:2) of service \"web\" did not finish in time", "still in progress after 3m0s", "0 of 2 tasks running, 2 pending", "service runs web:2"},
		},
		{
			name: "health checks fail, rolled back, under throttling", behavior: &fails,
			during:  []ecssim.Fault{{Kind: ecssim.FaultThrottle, Rate: 0.3}},
			wantErr: pipeline.ErrRolledBack, runs: "web:1",
			want: []string{"(web:2) of service \"web\" failed and", "rolled back (service deployment ROLLBACK_", "circuit breaker", "Task failed ELB health checks", "service runs web:1"},
		},
		{
			name: "tasks fail to start, rolled back", behavior: &noStart,
			wantErr: pipeline.ErrRolledBack, runs: "web:1",
			want: []string{"rolled back", "CannotPullContainerError", "service runs web:1"},
		},
		{
			name: "container exits, no rollback", env: map[string]string{"CB_ROLLBACK": "false"}, behavior: &oom,
			during:  []ecssim.Fault{{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 2}},
			wantErr: pipeline.ErrDeploymentFailed, runs: "web:2", faulted: 2,
			want: []string{"(web:2) of service \"web\" failed", "OutOfMemoryError", "exit code 137"},
		},
	}
}

// TestDeployFaultMatrix deploys web:2 under each fault and checks the
// outcome, the message, the revision the service runs in the simulator
// and that exactly one UpdateService reached it: a throttled call is the
// only one repeated, since it provably changed nothing.
func TestDeployFaultMatrix(t *testing.T) {
	for _, c := range faultCases() {
		t.Run(c.name, func(t *testing.T) {
			e := newDeployEnv(t, c.env)
			if c.behavior != nil {
				e.srv.SetBehavior("registry.example.com/web:v2", *c.behavior)
			}
			inject := func(fs []ecssim.Fault) {
				for _, f := range fs {
					if err := e.srv.InjectFault(f); err != nil {
						t.Error(err)
					}
				}
			}
			inject(c.before)
			events := &faultsOnFirstEvent{inject: func() { inject(c.during) }}
			opts := pipeline.WaitOptions{Clock: simClock{e.clock}, Events: events, Timeout: c.timeout}
			api := e.ecs
			if c.loseUpdateResponse {
				api = e.srv.ECSClient(func(o *ecs.Options) {
					o.Retryer = aws.NopRetryer{}
					o.HTTPClient = &loseAnswer{op: "UpdateService", next: http.DefaultClient}
				})
			}

			res, err := pipeline.Deploy(e.ctx, api, e.cfg, pipeline.DeployOptions{Wait: opts})
			e.srv.ClearFaults() // so that reading the state below is not faulted
			t.Logf("outcome: %v", err)
			switch {
			case c.wantErr == nil && err != nil:
				t.Fatalf("Deploy: %v, want success", err)
			case c.wantErr == nil && (res == nil || res.Outcome != pipeline.OutcomeSucceeded):
				t.Fatalf("Deploy succeeded with result %+v", res)
			case c.wantErr != nil && !errors.Is(err, c.wantErr):
				t.Fatalf("Deploy: %v, want %v", err, c.wantErr)
			case c.wantErr != nil && res != nil && res.Outcome == pipeline.OutcomeSucceeded:
				t.Fatalf("a failed deploy reported outcome %s", res.Outcome)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}

			s := e.service()
			if got := aws.ToString(s.TaskDefinition); !strings.HasSuffix(got, ":task-definition/"+c.runs) {
				t.Errorf("service runs %s, want %s", got, c.runs)
			}
			if c.wantErr == nil && (len(s.Deployments) != 1 || s.RunningCount != 2) {
				t.Errorf("after success: %d deployments, %d tasks running", len(s.Deployments), s.RunningCount)
			}
			if c.wantErr == nil && res.DeploymentID != aws.ToString(s.Deployments[0].Id) {
				t.Errorf("followed deployment %s, the service's is %s", res.DeploymentID, aws.ToString(s.Deployments[0].Id))
			}

			applied, throttled, faulted := 0, 0, 0
			for _, r := range e.srv.Requests() {
				if r.Fault != "" {
					faulted++
				}
				if r.Operation == "UpdateService" {
					if r.Fault == ecssim.FaultThrottle {
						throttled++
					} else {
						applied++
					}
				}
			}
			if applied != 1 {
				t.Errorf("%d UpdateService calls that were not throttled (and %d throttled), want exactly 1", applied, throttled)
			}
			if faulted < c.faulted {
				t.Errorf("%d calls answered by a fault, want at least %d", faulted, c.faulted)
			}
			if n := len(e.calls("RegisterTaskDefinition")) - countFaulted(e, "RegisterTaskDefinition"); n != 1 {
				t.Errorf("%d RegisterTaskDefinition calls reached the simulator, want 1", n)
			}
		})
	}
}

func countFaulted(e *deployEnv, op string) int {
	n := 0
	for _, r := range e.calls(op) {
		if r.Fault == ecssim.FaultThrottle {
			n++
		}
	}
	return n
}

// loseAnswer lets the first call of op through, so the simulator applies
// it, then reports a reset connection instead of the answer, as when a
// connection breaks after ECS acted.
type loseAnswer struct {
	op   string
	next *http.Client
	done atomic.Bool
}

func (l *loseAnswer) Do(r *http.Request) (*http.Response, error) {
	resp, err := l.next.Do(r)
	if err != nil || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+l.op) || !l.done.CompareAndSwap(false, true) {
		return resp, err
	}
	resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

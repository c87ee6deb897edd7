package pipeline_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestDeployTimeoutIsHardUnderServerErrors: a deployment that never ends,
// with every read made after the deadline (the service deployment's
// status, ListTasks, DescribeTasks) and half the polls answered by 5xx.
// The deploy must time out within a few seconds of its timeout, on the
// simulated clock.
func TestDeployTimeoutIsHardUnderServerErrors(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Hour})
	events := &faultsOnFirstEvent{inject: func() {
		for _, f := range []ecssim.Fault{
			{Kind: ecssim.FaultServerError, Operation: "DescribeServiceDeployments"},
			{Kind: ecssim.FaultServerError, Operation: "ListTasks"},
			{Kind: ecssim.FaultServerError, Operation: "DescribeTasks"},
			{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Rate: 0.5},
		} {
			if err := e.srv.InjectFault(f); err != nil {
				t.Fatal(err)
			}
		}
	}}
	opts := pipeline.WaitOptions{Clock: simClock{e.clock}, Events: events, Timeout: 3 * time.Minute}
	began := e.clock.Now()
	_, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: opts})
	if !errors.Is(err, pipeline.ErrTimeout) {
		t.Fatalf("Deploy: %v, want ErrTimeout", err)
	}
	if took := e.clock.Now().Sub(began); took > 3*time.Minute+10*time.Second {
		t.Errorf("a 3m timeout ended after %v", took)
	}
	if n := len(e.calls("ListTasks")); n == 0 {
		t.Errorf("the stopped tasks were not even tried")
	}
}

// TestWaitTimeoutIsHardInWallTime: with the wall clock and a 1 s timeout,
// a ListTasks that hangs for a minute after the deadline must not hold the
// wait beyond the grace of a few seconds.
func TestWaitTimeoutIsHardInWallTime(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Hour})
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []ecssim.Fault{
		{Kind: ecssim.FaultLatency, Operation: "ListTasks", Latency: time.Minute},
		{Kind: ecssim.FaultServerError, Operation: "DescribeServiceDeployments"},
	} {
		if err := e.srv.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	_, err = pipeline.Wait(e.ctx, e.ecs, e.cfg, pipeline.WaitOptions{DeploymentID: res.DeploymentID, Timeout: time.Second})
	if !errors.Is(err, pipeline.ErrTimeout) {
		t.Fatalf("Wait: %v, want ErrTimeout", err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("a 1 s timeout ended after %v", took)
	}
}

package pipeline

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// rolling is a service of 2 tasks with the followed deployment "new"
// (running, pending) and the deployment "old" it replaces (oldRunning
// tasks).
func rolling(running, pending, oldRunning int32) *types.Service {
	return rollingOf(2, nil, running, pending, oldRunning)
}

// rollingOf is rolling for desired tasks and a minimumHealthyPercent.
func rollingOf(desired int32, minHealthy *int32, running, pending, oldRunning int32) *types.Service {
	return &types.Service{
		DesiredCount:            desired,
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: minHealthy, MaximumPercent: aws.Int32(200)},
		Deployments: []types.Deployment{
			{Id: aws.String("new"), Status: aws.String("PRIMARY"), DesiredCount: desired, RunningCount: running, PendingCount: pending},
			{Id: aws.String("old"), Status: aws.String("ACTIVE"), DesiredCount: oldRunning, RunningCount: oldRunning},
		},
	}
}

// TestPlanWithoutHistoryWaitsForTheReplacement: without history, Wait
// slows down to pollSlow on DescribeServices however the new tasks
// progress, until the old deployment runs fewer tasks; then it polls the
// service deployment pollFast later (the drain began up to an interval
// ago), then every pollDue, and after a long while a fifteenth of how
// long the end has been due.
func TestPlanWithoutHistoryWaitsForTheReplacement(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := &waiter{dep: types.Deployment{Id: aws.String("new")}, sdArn: "sd", depStart: start}
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	interval := pollFast
	for i, s := range []*types.Service{
		rolling(0, 2, 2), rolling(0, 2, 2), rolling(1, 1, 2), rolling(2, 0, 2), rolling(2, 0, 2), rolling(2, 0, 2),
	} {
		w.serviceSeen(s)
		next, sdPoll, _ := w.plan(at(float64(i*4)), interval)
		want := min(time.Duration(float64(interval)*pollGrowth), pollSlow)
		if next != want || sdPoll {
			t.Fatalf("poll %d before the replacement: next %v on the service deployment %v, want %v on the service", i, next, sdPoll, want)
		}
		interval = next
	}
	// A new task passed its health checks: ECS stopped an old one.
	w.serviceSeen(rolling(2, 0, 1))
	if next, sdPoll, _ := w.plan(at(30), interval); next != pollFast || !sdPoll {
		t.Fatalf("replacing: next %v on the service deployment %v, want %v on it", next, sdPoll, pollFast)
	}
	if next, sdPoll, _ := w.plan(at(31), pollFast); next != pollDue || !sdPoll {
		t.Fatalf("replacing: next %v on the service deployment %v, want %v on it", next, sdPoll, pollDue)
	}
	// A lagging read showing the old count again does not undo it.
	w.serviceSeen(rolling(2, 0, 2))
	if next, _, _ := w.plan(at(32), interval); next != pollDue {
		t.Errorf("replacing, stale read: next %v, want %v", next, pollDue)
	}
	if next, _, _ := w.plan(at(30+60), interval); next != 4*time.Second {
		t.Errorf("due for 60 s: next %v, want 4s", next)
	}
}

// TestPlanWithoutOldTasksWaitsForDraining: a service that ran no tasks
// before has nothing to replace: the end is due once all the new tasks
// run.
func TestPlanWithoutOldTasksWaitsForDraining(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	w := &waiter{dep: types.Deployment{Id: aws.String("new")}, sdArn: "sd", depStart: start}
	w.serviceSeen(rolling(1, 1, 0))
	if next, sdPoll, _ := w.plan(start.Add(4*time.Second), pollFast); next == pollDue || sdPoll {
		t.Fatalf("starting: next %v on the service deployment %v", next, sdPoll)
	}
	w.serviceSeen(rolling(2, 0, 0))
	if next, sdPoll, _ := w.plan(start.Add(8*time.Second), pollFast); next != pollFast || !sdPoll {
		t.Fatalf("all running: next %v on the service deployment %v, want %v on it", next, sdPoll, pollFast)
	}
}

// TestReplacingIsBelowTheHealthyFloor: with minimumHealthyPercent 50, ECS
// may stop half the old tasks before any new one is healthy: only fewer
// than that is a replacement.
func TestReplacingIsBelowTheHealthyFloor(t *testing.T) {
	w := &waiter{dep: types.Deployment{Id: aws.String("new")}, sdArn: "sd"}
	w.serviceSeen(rollingOf(4, aws.Int32(50), 0, 2, 4))
	w.serviceSeen(rollingOf(4, aws.Int32(50), 0, 4, 2))
	if w.replacing {
		t.Fatal("replacing when ECS made room by stopping old tasks down to the floor")
	}
	w.serviceSeen(rollingOf(4, aws.Int32(50), 1, 3, 1))
	if !w.replacing {
		t.Fatal("not replacing below the floor")
	}
}

// TestSDSeenCountsTheSourceRevisions: a service deployment read tells the
// replacement by its source revisions' running tasks.
func TestSDSeenCountsTheSourceRevisions(t *testing.T) {
	w := &waiter{dep: types.Deployment{Id: aws.String("new")}}
	sd := func(target, source int32) *types.ServiceDeployment {
		return &types.ServiceDeployment{
			DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100)},
			TargetServiceRevision:   &types.ServiceRevisionSummary{RequestedTaskCount: 2, RunningTaskCount: target},
			SourceServiceRevisions:  []types.ServiceRevisionSummary{{RequestedTaskCount: source, RunningTaskCount: source}},
		}
	}
	w.sdSeen(sd(1, 2))
	if w.replacing {
		t.Fatal("replacing before any old task stopped")
	}
	w.sdSeen(sd(2, 1))
	if !w.replacing {
		t.Fatal("not replacing after an old task stopped")
	}
}

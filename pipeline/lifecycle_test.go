package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// The simulator does not model native deployments yet, so these tests
// follow a scripted service deployment: a sequence of states, each from a
// time after the start on a manual clock, that DescribeServiceDeployments
// answers with. The service itself looks done early (its deployment
// COMPLETED with every task running), as a blue/green service does
// during its bake: only the service deployment's status may end the wait.

const (
	sdArn  = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/sd-green"
	rev1   = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/rev-blue"
	rev2   = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/rev-green"
	td1    = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	td2    = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2"
	depID  = "ecs-svc/2222222222222222222"
	oldDep = "ecs-svc/1111111111111111111"
)

// step is the service deployment from at after the start.
type step struct {
	at time.Duration
	sd types.ServiceDeployment
}

// scriptedECS answers the ECS calls of Wait, Deploy's first read and
// Rollback from a script; the calls it does not implement panic.
type scriptedECS struct {
	pipeline.RollbackAPI
	mu       sync.Mutex
	clock    *ecssim.ManualClock
	start    time.Time
	strategy types.DeploymentStrategy
	script   []step
	// afterStop replaces the script once StopServiceDeployment is called,
	// its times counted from the call.
	afterStop []step
	stoppedAt time.Duration
	stopped   bool
	// failFrom, when set, answers every other DescribeServiceDeployments
	// from then on with a 5xx.
	failFrom     time.Duration
	controller   types.DeploymentControllerType
	noHistory    bool // ListServiceDeployments lists nothing
	stoppedTasks []types.Task

	calls   []string
	sdReads []time.Duration // when DescribeServiceDeployments read the followed one
}

func newScripted(strategy types.DeploymentStrategy, script ...step) *scriptedECS {
	clock := ecssim.NewManualClock(simStart)
	return &scriptedECS{clock: clock, start: simStart, strategy: strategy, script: script}
}

func (f *scriptedECS) elapsed() time.Duration { return f.clock.Now().Sub(f.start) }

func (f *scriptedECS) record(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op)
}

func (f *scriptedECS) count(op string) int {
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

// state is the service deployment now.
func (f *scriptedECS) state() types.ServiceDeployment {
	script, from := f.script, time.Duration(0)
	if f.stopped {
		script, from = f.afterStop, f.stoppedAt
	}
	sd := script[0].sd
	for _, s := range script {
		if f.elapsed()-from >= s.at {
			sd = s.sd
		}
	}
	sd.ServiceDeploymentArn = aws.String(sdArn)
	sd.CreatedAt = aws.Time(f.start)
	sd.StartedAt = aws.Time(f.start)
	if sd.TargetServiceRevision == nil {
		sd.TargetServiceRevision = &types.ServiceRevisionSummary{}
	}
	sd.TargetServiceRevision.Arn = aws.String(rev2)
	sd.SourceServiceRevisions = []types.ServiceRevisionSummary{{Arn: aws.String(rev1), RequestedTaskCount: 2, RunningTaskCount: 2}}
	if sd.DeploymentConfiguration == nil {
		sd.DeploymentConfiguration = &types.DeploymentConfiguration{Strategy: f.strategy, BakeTimeInMinutes: aws.Int32(10)}
	}
	return sd
}

func (f *scriptedECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.record("DescribeServices")
	svc := types.Service{
		ServiceName: aws.String("web"), Status: aws.String("ACTIVE"), ServiceArn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/prod/web"),
		TaskDefinition: aws.String(td2), DesiredCount: 2, RunningCount: 2,
		DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: f.strategy},
		Deployments: []types.Deployment{{
			Id: aws.String(depID), Status: aws.String("PRIMARY"), TaskDefinition: aws.String(td2),
			DesiredCount: 2, RunningCount: 2, RolloutState: types.DeploymentRolloutStateCompleted,
			CreatedAt: aws.Time(f.start),
		}},
		Events: []types.ServiceEvent{{Id: aws.String("e1"), CreatedAt: aws.Time(f.start.Add(20 * time.Second)), Message: aws.String("(service web) has started 2 tasks: (task 1) (task 2).")}},
	}
	if st := f.state().Status; st == types.ServiceDeploymentStatusRollbackSuccessful || st == types.ServiceDeploymentStatusRollbackInProgress {
		svc.TaskDefinition = aws.String(td1)
	}
	if st := f.state().Status; st == types.ServiceDeploymentStatusInProgress || st == types.ServiceDeploymentStatusPending {
		// Every task runs all along: only the rollout state says more.
		svc.Deployments[0].RolloutState = types.DeploymentRolloutStateInProgress
	}
	if f.controller != "" {
		svc.DeploymentController = &types.DeploymentController{Type: f.controller}
	}
	return &ecs.DescribeServicesOutput{Services: []types.Service{svc}}, nil
}

func (f *scriptedECS) ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	f.record("ListServiceDeployments")
	if f.noHistory {
		return &ecs.ListServiceDeploymentsOutput{}, nil
	}
	sd := f.state()
	return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeploymentBrief{{
		ServiceDeploymentArn: sd.ServiceDeploymentArn, Status: sd.Status, CreatedAt: sd.CreatedAt, StartedAt: sd.StartedAt,
	}}}, nil
}

func (f *scriptedECS) DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	f.record("DescribeServiceDeployments")
	f.sdReads = append(f.sdReads, f.elapsed())
	if f.failFrom > 0 && f.elapsed() >= f.failFrom && len(f.sdReads)%2 == 0 {
		return nil, &smithy.GenericAPIError{Code: "ServerException", Message: "internal error", Fault: smithy.FaultServer}
	}
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeployment{f.state()}}, nil
}

func (f *scriptedECS) DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error) {
	f.record("DescribeServiceRevisions")
	var out ecs.DescribeServiceRevisionsOutput
	for _, arn := range in.ServiceRevisionArns {
		td := td1
		if arn == rev2 {
			td = td2
		}
		out.ServiceRevisions = append(out.ServiceRevisions, types.ServiceRevision{ServiceRevisionArn: aws.String(arn), TaskDefinition: aws.String(td)})
	}
	return &out, nil
}

func (f *scriptedECS) ListTasks(ctx context.Context, in *ecs.ListTasksInput, _ ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	f.record("ListTasks")
	var out ecs.ListTasksOutput
	for _, t := range f.stoppedTasks {
		out.TaskArns = append(out.TaskArns, aws.ToString(t.TaskArn))
	}
	return &out, nil
}

func (f *scriptedECS) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, _ ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	f.record("DescribeTasks")
	return &ecs.DescribeTasksOutput{Tasks: f.stoppedTasks}, nil
}

func (f *scriptedECS) DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	f.record("DescribeTaskDefinition")
	return nil, errors.New("no task definitions here")
}

func (f *scriptedECS) StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, _ ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	f.record("StopServiceDeployment")
	if aws.ToString(in.ServiceDeploymentArn) != sdArn || in.StopType != types.StopServiceDeploymentStopTypeRollback {
		return nil, fmt.Errorf("unexpected stop %s %s", aws.ToString(in.ServiceDeploymentArn), in.StopType)
	}
	f.stopped, f.stoppedAt = true, f.elapsed()
	return &ecs.StopServiceDeploymentOutput{ServiceDeploymentArn: in.ServiceDeploymentArn}, nil
}

func (f *scriptedECS) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.record("UpdateService")
	return nil, errors.New("UpdateService must not be called")
}

func (f *scriptedECS) wait(t *testing.T, until string, timeout time.Duration, events *bytes.Buffer) (*pipeline.WaitResult, error) {
	t.Helper()
	opts := pipeline.WaitOptions{Clock: simClock{f.clock}, Timeout: timeout, Until: until}
	if events != nil {
		opts.Events = events
	}
	return pipeline.Wait(context.Background(), f, &pipeline.Config{Cluster: "prod", Service: "web"}, opts)
}

// sd builds a service deployment state.
func sd(status types.ServiceDeploymentStatus, stage types.ServiceDeploymentLifecycleStage, prod, test float64) types.ServiceDeployment {
	return types.ServiceDeployment{
		Status: status, LifecycleStage: stage,
		TargetServiceRevision: &types.ServiceRevisionSummary{
			RequestedTaskCount: 2, RunningTaskCount: 2,
			RequestedProductionTrafficWeight: aws.Float64(prod), RequestedTestTrafficWeight: aws.Float64(test),
		},
	}
}

const (
	inProgress = types.ServiceDeploymentStatusInProgress
	bakeStart  = 70 * time.Second
	bakeEnd    = bakeStart + 10*time.Minute
)

// blueGreen is a blue/green deployment up to its 10-minute bake, then the
// steps given.
func blueGreen(then ...step) []step {
	return append([]step{
		{0, sd(types.ServiceDeploymentStatusPending, "", 0, 0)},
		{3 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStagePreScaleUp, 0, 0)},
		{8 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStageScaleUp, 0, 0)},
		{40 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStagePostScaleUp, 0, 0)},
		{50 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStageTestTrafficShift, 0, 100)},
		{55 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStagePostTestTrafficShift, 0, 100)},
		{60 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStageProductionTrafficShift, 100, 100)},
		{65 * time.Second, sd(inProgress, types.ServiceDeploymentLifecycleStagePostProductionTrafficShift, 100, 100)},
		{bakeStart, sd(inProgress, types.ServiceDeploymentLifecycleStageBakeTime, 100, 100)},
	}, then...)
}

// TestNativeSucceedsOnlyWhenSuccessful: the service looks done from the
// start (every task running, its deployment COMPLETED) and the service
// deployment's counts are done from SCALE_UP on, but only SUCCESSFUL, after
// the bake and the clean-up, ends the wait. The stages and traffic
// changes are written as event lines, the service's events too, and the
// result lists the stages passed.
func TestNativeSucceedsOnlyWhenSuccessful(t *testing.T) {
	done := bakeEnd + 20*time.Second
	f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen(
		step{bakeEnd, sd(inProgress, types.ServiceDeploymentLifecycleStageCleanUp, 100, 100)},
		step{done, sd(types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 100, 100)},
	)...)
	var events bytes.Buffer
	res, err := f.wait(t, "", time.Hour, &events)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if got := f.elapsed(); got < done || got > done+4*time.Second {
		t.Errorf("Wait returned %v after the start; SUCCESSFUL came at %v", got, done)
	}
	if res.Outcome != pipeline.OutcomeSucceeded || res.Strategy != "BLUE_GREEN" || res.ServiceDeploymentStatus != "SUCCESSFUL" {
		t.Errorf("result %+v", res)
	}
	var names []string
	for i, s := range res.Stages {
		names = append(names, s.Stage)
		if i > 0 && s.At.Before(res.Stages[i-1].At) {
			t.Errorf("stages out of order: %+v", res.Stages)
		}
	}
	want := "PRE_SCALE_UP SCALE_UP POST_SCALE_UP TEST_TRAFFIC_SHIFT POST_TEST_TRAFFIC_SHIFT PRODUCTION_TRAFFIC_SHIFT POST_PRODUCTION_TRAFFIC_SHIFT BAKE_TIME CLEAN_UP"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("stages %s, want %s", got, want)
	}
	if bt := res.Stages[7]; bt.At.Sub(simStart) < bakeStart || bt.At.Sub(simStart) > bakeStart+4*time.Second {
		t.Errorf("BAKE_TIME first seen at %v, it began at %v", bt.At.Sub(simStart), bakeStart)
	}
	// Following the events reads the service too, within the same average.
	if n := len(f.calls); f.count("DescribeServices") < 10 || float64(n) > 20+f.elapsed().Seconds()/3+5 {
		t.Errorf("%d calls (%d DescribeServices) in %v", n, f.count("DescribeServices"), f.elapsed())
	}
	for _, w := range []string{"lifecycle stage BAKE_TIME", "traffic to rev-green: production 0%, test 100%", "traffic to rev-green: production 100%, test 100%", "service deployment SUCCESSFUL", "has started 2 tasks"} {
		if !strings.Contains(events.String(), w) {
			t.Errorf("events lack %q:\n%s", w, events.String())
		}
	}
}

// TestNativeBakeIsPolledSparselyAndItsEndAtOnce: during a 10-minute bake
// the follower reads the service deployment about every 15 s (enough to
// notice an alarm's rollback), and notices the end within about a second.
func TestNativeBakeIsPolledSparselyAndItsEndAtOnce(t *testing.T) {
	f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen(
		step{bakeEnd, sd(types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 100, 100)},
	)...)
	res, err := f.wait(t, pipeline.UntilDeployed, time.Hour, nil)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if late := f.elapsed() - bakeEnd; late < 0 || late > 1200*time.Millisecond {
		t.Errorf("the end of the bake was noticed %v after it", late)
	}
	inBake := 0
	for _, at := range f.sdReads {
		if at > bakeStart+5*time.Second && at < bakeEnd-5*time.Second {
			inBake++
		}
	}
	if inBake > 10*60/15+2 || inBake < 10*60/20 {
		t.Errorf("%d reads during the 10-minute bake, want about one per 15 s", inBake)
	}
	// Over the whole wait, no more than the token bucket's average.
	if n := len(f.calls); float64(n) > 20+f.elapsed().Seconds()/3 {
		t.Errorf("%d calls in %v", n, f.elapsed())
	}
	if res.Stage != "CLEAN_UP" {
		t.Errorf("last stage %q", res.Stage)
	}
}

// TestNativeFailures: how a native deployment that did not succeed is
// reported: the outcome, its sentinel, and the reasons (status reason,
// rollback reason, triggered alarms, failed hooks, stopped tasks).
func TestNativeFailures(t *testing.T) {
	rollingBack := func(prod float64) types.ServiceDeployment {
		s := sd(types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentLifecycleStageBakeTime, prod, 0)
		s.Rollback = &types.Rollback{Reason: aws.String("Rolling back: CloudWatch alarm breached")}
		s.Alarms = &types.ServiceDeploymentAlarms{AlarmNames: []string{"web-5xx", "web-latency"}, TriggeredAlarmNames: []string{"web-5xx"}}
		return s
	}
	alarm := blueGreen(
		step{bakeStart + 3*time.Minute, rollingBack(0)},
		step{bakeStart + 4*time.Minute, func() types.ServiceDeployment {
			s := rollingBack(0)
			s.Status = types.ServiceDeploymentStatusRollbackSuccessful
			return s
		}()},
	)
	hook := func(status types.DeploymentLifecycleHookStatus) types.ServiceDeployment {
		s := sd(inProgress, types.ServiceDeploymentLifecycleStagePostTestTrafficShift, 0, 100)
		s.LifecycleHookDetails = []types.DeploymentLifecycleHookDetail{{
			HookId: aws.String("hook-smoke"), TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda,
			TargetArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:smoke-test"), Status: status,
		}}
		return s
	}
	hookFailed := func(status types.ServiceDeploymentStatus) types.ServiceDeployment {
		s := hook(types.DeploymentLifecycleHookStatusFailed)
		s.Status = status
		return s
	}
	hooks := blueGreen()[:5]
	hooks = append(hooks,
		step{55 * time.Second, hook(types.DeploymentLifecycleHookStatusInProgress)},
		step{80 * time.Second, hookFailed(types.ServiceDeploymentStatusRollbackInProgress)},
		step{90 * time.Second, hookFailed(types.ServiceDeploymentStatusRollbackSuccessful)},
	)
	breaker := func(status types.ServiceDeploymentStatus) []step {
		s := sd(status, types.ServiceDeploymentLifecycleStageScaleUp, 0, 0)
		s.StatusReason = aws.String("ECS deployment circuit breaker: tasks failed to start.")
		return append(blueGreen()[:3], step{30 * time.Second, s})
	}
	stopped := sd(types.ServiceDeploymentStatusStopped, types.ServiceDeploymentLifecycleStageTestTrafficShift, 0, 100)
	stopped.StatusReason = aws.String("Service deployment stopped by a user")

	for _, c := range []struct {
		name    string
		script  []step
		outcome pipeline.Outcome
		is      error
		want    []string
	}{
		{"alarm during the bake", alarm, pipeline.OutcomeRolledBack, pipeline.ErrRolledBack,
			[]string{"alarm web-5xx triggered the rollback", "CloudWatch alarm breached", "ROLLBACK_SUCCESSFUL", "service runs web:1"}},
		{"hook failed", hooks, pipeline.OutcomeRolledBack, pipeline.ErrRolledBack,
			[]string{"lifecycle hook hook-smoke (AWS_LAMBDA smoke-test) FAILED at POST_TEST_TRAFFIC_SHIFT"}},
		{"circuit breaker", breaker(types.ServiceDeploymentStatusRollbackSuccessful), pipeline.OutcomeRolledBack, pipeline.ErrRolledBack,
			[]string{"circuit breaker: tasks failed to start", "CannotPullContainerError"}},
		{"rollback failed", breaker(types.ServiceDeploymentStatusRollbackFailed), pipeline.OutcomeRollbackFailed, pipeline.ErrRollbackFailed,
			[]string{"circuit breaker", "ROLLBACK_FAILED"}},
		{"stopped", append(blueGreen()[:5], step{52 * time.Second, stopped}), pipeline.OutcomeStopped, pipeline.ErrDeploymentStopped,
			[]string{"stopped by a user", "STOPPED"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newScripted(types.DeploymentStrategyBlueGreen, c.script...)
			f.stoppedTasks = []types.Task{{
				TaskArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task/prod/abc"), StartedBy: aws.String(depID),
				StoppedReason: aws.String("CannotPullContainerError: pull image manifest has been retried 5 times"), StopCode: types.TaskStopCodeTaskFailedToStart,
			}}
			res, err := f.wait(t, "", time.Hour, nil)
			var de *pipeline.DeploymentError
			if !errors.As(err, &de) || !errors.Is(err, c.is) {
				t.Fatalf("Wait: %v, want a DeploymentError that is %v", err, c.is)
			}
			if de.Outcome != c.outcome || res == nil || res.Outcome != c.outcome {
				t.Errorf("outcome %s (result %+v), want %s", de.Outcome, res, c.outcome)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// TestNativeAlarmRollbackIsNoticedDuringTheBake: sparse as it is, the
// bake's polling notices a rollback within its interval.
func TestNativeAlarmRollbackIsNoticedDuringTheBake(t *testing.T) {
	s := sd(types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentLifecycleStageBakeTime, 0, 0)
	s.Alarms = &types.ServiceDeploymentAlarms{TriggeredAlarmNames: []string{"web-5xx"}}
	at := bakeStart + 3*time.Minute
	f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen(step{at, s})...)
	_, err := f.wait(t, "", time.Hour, nil)
	if !errors.Is(err, pipeline.ErrRolledBack) {
		t.Fatalf("Wait: %v", err)
	}
	// The bake is read every 15 s, give or take the 10% jitter.
	if late := f.elapsed() - at; late > 16500*time.Millisecond {
		t.Errorf("the rollback was noticed %v after it", late)
	}
}

// TestNativeUntilStage: ecs:STAGE returns once the deployment, in
// progress, is at that stage or a later one (a stage skipped between two
// reads counts), with the stage in the result; a rollback on the way is an
// error even when the stage then reads as the target.
func TestNativeUntilStage(t *testing.T) {
	t.Run("BAKE_TIME", func(t *testing.T) {
		f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen(
			step{bakeEnd, sd(types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 100, 100)})...)
		res, err := f.wait(t, "ecs:BAKE_TIME", time.Hour, nil)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if got := f.elapsed(); got < bakeStart || got > bakeStart+5*time.Second {
			t.Errorf("returned %v after the start; BAKE_TIME began at %v", got, bakeStart)
		}
		if res.Outcome != pipeline.OutcomeSucceeded || res.Stage != "BAKE_TIME" || res.ServiceDeploymentStatus != "IN_PROGRESS" {
			t.Errorf("result %+v", res)
		}
	})
	t.Run("a skipped stage", func(t *testing.T) {
		script := blueGreen()
		script = append(script[:4:4], script[5:]...) // no TEST_TRAFFIC_SHIFT
		f := newScripted(types.DeploymentStrategyBlueGreen, script...)
		res, err := f.wait(t, "ecs:TEST_TRAFFIC_SHIFT", time.Hour, nil)
		if err != nil || res.Stage != "POST_TEST_TRAFFIC_SHIFT" {
			t.Fatalf("Wait: %v, %+v; want it to stop at POST_TEST_TRAFFIC_SHIFT", err, res)
		}
	})
	t.Run("rolled back first", func(t *testing.T) {
		rb := sd(types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentLifecycleStageCleanUp, 0, 0)
		done := rb
		done.Status = types.ServiceDeploymentStatusRollbackSuccessful
		done.StatusReason = aws.String("Alarm web-5xx is in ALARM state")
		f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen(step{bakeStart + time.Minute, rb}, step{bakeStart + 2*time.Minute, done})...)
		res, err := f.wait(t, "ecs:CLEAN_UP", time.Hour, nil)
		if !errors.Is(err, pipeline.ErrRolledBack) || !strings.Contains(err.Error(), "before reaching lifecycle stage CLEAN_UP") {
			t.Fatalf("Wait: %v, want a rollback error", err)
		}
		if res == nil || res.Outcome != pipeline.OutcomeRolledBack {
			t.Errorf("result %+v", res)
		}
	})
}

// TestNativeUntilPaused: paused returns while a PAUSE hook awaits action,
// with its id in the result and an event line saying how to continue it.
func TestNativeUntilPaused(t *testing.T) {
	pause := sd(inProgress, types.ServiceDeploymentLifecycleStagePostTestTrafficShift, 0, 100)
	pause.LifecycleHookDetails = []types.DeploymentLifecycleHookDetail{{
		HookId: aws.String("hook-approve"), TargetType: types.DeploymentLifecycleHookTargetTypePause,
		Status: types.DeploymentLifecycleHookStatusAwaitingAction, TimeoutAction: types.DeploymentLifecycleHookActionRollback,
		ExpiresAt: aws.Time(simStart.Add(time.Hour)),
	}}
	script := append(blueGreen()[:5], step{55 * time.Second, pause})
	for _, until := range []string{"paused", "ecs:PRODUCTION_TRAFFIC_SHIFT"} {
		t.Run(until, func(t *testing.T) {
			f := newScripted(types.DeploymentStrategyBlueGreen, script...)
			var events bytes.Buffer
			res, err := f.wait(t, until, 5*time.Minute, &events)
			for _, w := range []string{"hook-approve (PAUSE) AWAITING_ACTION", "aws ecs continue-service-deployment --service-deployment-arn " + sdArn + " --hook-id hook-approve --action CONTINUE"} {
				if !strings.Contains(events.String(), w) {
					t.Errorf("events lack %q:\n%s", w, events.String())
				}
			}
			if until != "paused" {
				// The target lies past the pause: the wait times out,
				// saying the hook awaits action.
				if !errors.Is(err, pipeline.ErrTimeout) || !strings.Contains(err.Error(), "hook-approve awaits action") {
					t.Errorf("Wait: %v, want a timeout naming the paused hook", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Wait: %v", err)
			}
			if res.HookID != "hook-approve" || res.Stage != "POST_TEST_TRAFFIC_SHIFT" || res.Outcome != pipeline.OutcomeSucceeded {
				t.Errorf("result %+v", res)
			}
			if got := f.elapsed(); got > 60*time.Second {
				t.Errorf("returned %v after the start; the pause began at 55s", got)
			}
		})
	}
}

// TestNativeCanaryStepBake: a canary's bake between its two production
// steps is polled sparsely too, and the second step noticed within about
// a second.
func TestNativeCanaryStepBake(t *testing.T) {
	cfg := &types.DeploymentConfiguration{
		Strategy: types.DeploymentStrategyCanary, BakeTimeInMinutes: aws.Int32(0),
		CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(5)},
	}
	with := func(s types.ServiceDeployment) types.ServiceDeployment { s.DeploymentConfiguration = cfg; return s }
	canary, full := 60*time.Second, 60*time.Second+5*time.Minute
	f := newScripted(types.DeploymentStrategyCanary,
		step{0, with(sd(inProgress, types.ServiceDeploymentLifecycleStageScaleUp, 0, 0))},
		step{canary, with(sd(inProgress, types.ServiceDeploymentLifecycleStageProductionTrafficShift, 10, 100))},
		step{full, with(sd(inProgress, types.ServiceDeploymentLifecycleStageProductionTrafficShift, 100, 100))},
		step{full + 2*time.Second, with(sd(types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 100, 100))},
	)
	var events bytes.Buffer
	res, err := f.wait(t, pipeline.UntilStable, time.Hour, &events) // stable is deployed here
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	inBake, seen := 0, time.Duration(0)
	for _, at := range f.sdReads {
		if at > canary+5*time.Second && at < full-5*time.Second {
			inBake++
		}
		if at >= full && seen == 0 {
			seen = at
		}
	}
	if inBake > 5*60/15+2 {
		t.Errorf("%d reads during the 5-minute canary bake", inBake)
	}
	if seen-full > 1200*time.Millisecond {
		t.Errorf("the full shift was read %v after it", seen-full)
	}
	if !strings.Contains(events.String(), "production 10%, test 100%") || res.Strategy != "CANARY" {
		t.Errorf("strategy %s, events:\n%s", res.Strategy, events.String())
	}
}

// TestNativeTimeoutIsHard: a deployment whose bake outlasts the timeout,
// with half the reads answered by 5xx from the middle on, times out within
// the grace, saying where it was.
func TestNativeTimeoutIsHard(t *testing.T) {
	script := blueGreen()
	for i := range script {
		script[i].sd.DeploymentConfiguration = &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(60)}
	}
	f := newScripted(types.DeploymentStrategyBlueGreen, script...)
	f.failFrom = 2 * time.Minute
	res, err := f.wait(t, "", 5*time.Minute, nil)
	if !errors.Is(err, pipeline.ErrTimeout) {
		t.Fatalf("Wait: %v, want ErrTimeout", err)
	}
	if got := f.elapsed(); got < 5*time.Minute || got > 5*time.Minute+5*time.Second {
		t.Errorf("a 5m timeout ended after %v", got)
	}
	if !strings.Contains(err.Error(), "at lifecycle stage BAKE_TIME") || res.Outcome != pipeline.OutcomeTimedOut {
		t.Errorf("Wait: %v, %+v", err, res)
	}
}

// TestNativeRollbackStopsTheServiceDeployment: Rollback of a native
// deployment in progress stops its service deployment with stop type
// ROLLBACK, once, and follows it to ROLLBACK_SUCCESSFUL.
func TestNativeRollbackStopsTheServiceDeployment(t *testing.T) {
	f := newScripted(types.DeploymentStrategyLinear, blueGreen()...)
	f.clock.Advance(bakeStart + time.Minute)
	f.afterStop = []step{
		{0, sd(types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentLifecycleStageBakeTime, 100, 0)},
		{5 * time.Second, sd(types.ServiceDeploymentStatusRollbackInProgress, types.ServiceDeploymentLifecycleStageProductionTrafficShift, 0, 0)},
		{40 * time.Second, sd(types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentLifecycleStageCleanUp, 0, 0)},
	}
	res, err := pipeline.Rollback(context.Background(), f, &pipeline.Config{Cluster: "prod", Service: "web"}, pipeline.RollbackOptions{
		NoDeregisterTaskDefinition: true, Wait: pipeline.WaitOptions{Clock: simClock{f.clock}, Timeout: 10 * time.Minute},
	})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.Method != pipeline.RollbackStopDeployment || f.count("StopServiceDeployment") != 1 || f.count("UpdateService") != 0 {
		t.Errorf("method %s, calls %v", res.Method, f.calls)
	}
	if res.Outcome != pipeline.OutcomeSucceeded || res.Wait == nil || res.Wait.ServiceDeploymentStatus != "ROLLBACK_SUCCESSFUL" || res.Wait.RunningTaskDefinition != td1 {
		t.Errorf("result %+v, wait %+v", res, res.Wait)
	}
	if late := f.elapsed() - f.stoppedAt - 40*time.Second; late < 0 || late > 5*time.Second {
		t.Errorf("ROLLBACK_SUCCESSFUL noticed %v after it", late)
	}
}

// TestDeployRefusesOtherControllers: CODE_DEPLOY and EXTERNAL deployments
// are refused after the one read of the service, saying why.
func TestDeployRefusesOtherControllers(t *testing.T) {
	for _, c := range []types.DeploymentControllerType{types.DeploymentControllerTypeCodeDeploy, types.DeploymentControllerTypeExternal} {
		f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen()...)
		f.controller = c
		cfg := loadDeployConfig(t, nil, map[string]string{"IMAGE": "registry.example.com/web:v2"})
		_, err := pipeline.Deploy(context.Background(), f, cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: simClock{f.clock}}})
		if err == nil || !strings.Contains(err.Error(), string(c)+" deployment controller") || !strings.Contains(err.Error(), "only the ECS deployment controller") {
			t.Errorf("Deploy on %s: %v, want a refusal", c, err)
		}
		if strings.Join(f.calls, " ") != "DescribeServices" {
			t.Errorf("calls %v, want the one read", f.calls)
		}
	}
}

// TestNativeWithoutServiceDeployment: a native deployment is followed by
// its service deployment only; when none can be found, Wait says so after
// a few reads instead of trusting the service's counts or waiting out the
// timeout.
func TestNativeWithoutServiceDeployment(t *testing.T) {
	f := newScripted(types.DeploymentStrategyBlueGreen, blueGreen()...)
	f.noHistory = true
	_, err := f.wait(t, "", time.Hour, nil)
	if err == nil || !strings.Contains(err.Error(), "no service deployment of it found") {
		t.Fatalf("Wait: %v", err)
	}
	if f.elapsed() > time.Minute {
		t.Errorf("gave up after %v", f.elapsed())
	}
}

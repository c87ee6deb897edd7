package ecssim_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// allStages is the order ECS documents for a blue/green service deployment.
var allStages = []types.ServiceDeploymentLifecycleStage{
	types.ServiceDeploymentLifecycleStageReconcileService,
	types.ServiceDeploymentLifecycleStagePreScaleUp,
	types.ServiceDeploymentLifecycleStageScaleUp,
	types.ServiceDeploymentLifecycleStagePostScaleUp,
	types.ServiceDeploymentLifecycleStageTestTrafficShift,
	types.ServiceDeploymentLifecycleStagePostTestTrafficShift,
	types.ServiceDeploymentLifecycleStageProductionTrafficShift,
	types.ServiceDeploymentLifecycleStagePostProductionTrafficShift,
	types.ServiceDeploymentLifecycleStageBakeTime,
	types.ServiceDeploymentLifecycleStageCleanUp,
}

// createNative creates service "web" on td with cfg and waits until its
// first deployment completes.
func (e *env) createNative(td string, desired int32, cfg *types.DeploymentConfiguration) {
	e.t.Helper()
	_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster:                 aws.String("prod"),
		ServiceName:             aws.String("web"),
		TaskDefinition:          aws.String(td),
		DesiredCount:            aws.Int32(desired),
		LaunchType:              types.LaunchTypeFargate,
		DeploymentConfiguration: cfg,
	})
	if err != nil {
		e.t.Fatalf("creating service: %v", err)
	}
	e.stepUntil("first deployment completed", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
	})
}

// updateWith updates service "web" to td with cfg and returns the ARN of
// the service deployment it started.
func (e *env) updateWith(td string, cfg *types.DeploymentConfiguration) string {
	e.t.Helper()
	out, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(td), DeploymentConfiguration: cfg})
	if err != nil {
		e.t.Fatalf("updating service: %v", err)
	}
	return aws.ToString(out.Service.CurrentServiceDeployment)
}

// describeSD describes one service deployment by ARN.
func (e *env) describeSD(arn string) types.ServiceDeployment {
	e.t.Helper()
	out, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		e.t.Fatalf("describing service deployment %s: %v %+v", arn, err, out)
	}
	return out.ServiceDeployments[0]
}

// watch advances the clock by step until cond holds for the service
// deployment arn (at most max steps), calling each on every state seen.
func (e *env) watch(arn string, step time.Duration, max int, cond func(types.ServiceDeployment) bool, each func(types.ServiceDeployment, *types.Service)) types.ServiceDeployment {
	e.t.Helper()
	for range max {
		sd := e.describeSD(arn)
		if each != nil {
			each(sd, e.service())
		}
		if cond(sd) {
			return sd
		}
		e.clock.Advance(step)
	}
	sd := e.describeSD(arn)
	e.t.Fatalf("service deployment not there after %d steps of %v: %s at %s, events:\n%s", max, step, sd.Status, sd.LifecycleStage, eventsString(e.service()))
	return sd
}

func finished(sd types.ServiceDeployment) bool {
	switch sd.Status {
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusStopped,
		types.ServiceDeploymentStatusRollbackSuccessful, types.ServiceDeploymentStatusRollbackFailed:
		return true
	}
	return false
}

func weight(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func TestBlueGreenPassesEveryStageInOrder(t *testing.T) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	cfg := &types.DeploymentConfiguration{
		Strategy:                 types.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes:        aws.Int32(5),
		DeploymentCircuitBreaker: rollbackBreaker,
	}
	e.createNative(v1, 2, cfg)
	updated := e.update(v2)
	greenID := aws.ToString(updated.Deployments[0].Id)
	arn := aws.ToString(updated.CurrentServiceDeployment)

	var stages []types.ServiceDeploymentLifecycleStage
	var bakeFrom, doneAt time.Time
	sd := e.watch(arn, time.Second, 3600, finished, func(sd types.ServiceDeployment, s *types.Service) {
		if n := len(stages); n == 0 || stages[n-1] != sd.LifecycleStage {
			stages = append(stages, sd.LifecycleStage)
			if sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime {
				bakeFrom = e.clock.Now()
			}
		}
		if sd.Status == types.ServiceDeploymentStatusInProgress {
			// Green is PRIMARY and in progress, blue ACTIVE, until the end.
			if len(s.Deployments) != 2 || aws.ToString(primary(s).Id) != greenID || primary(s).RolloutState != types.DeploymentRolloutStateInProgress ||
				aws.ToString(s.Deployments[1].Status) != "ACTIVE" {
				t.Errorf("at %s: deployments %s", sd.LifecycleStage, deploymentsString(s))
			}
			if sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime && (s.Deployments[1].RunningCount != 2 || primary(s).RunningCount != 2) {
				t.Errorf("during the bake time: deployments %s, running %d and %d; want blue and green both running", deploymentsString(s), primary(s).RunningCount, s.Deployments[1].RunningCount)
			}
		}
		if sd.Status == types.ServiceDeploymentStatusSuccessful && doneAt.IsZero() {
			doneAt = e.clock.Now()
		}
		// Traffic: none to green before the shifts, all of it after.
		tw, pw := weight(sd.TargetServiceRevision.RequestedTestTrafficWeight), weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight)
		i := slices.Index(allStages, sd.LifecycleStage)
		if i < 4 && (tw != 0 || pw != 0) || i > 5 && tw != 100 || i > 6 && pw != 100 {
			t.Errorf("at %s: green's weights test %v production %v", sd.LifecycleStage, tw, pw)
		}
		if len(sd.SourceServiceRevisions) != 1 || weight(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight) != 100-pw {
			t.Errorf("at %s: source revisions %+v", sd.LifecycleStage, sd.SourceServiceRevisions)
		}
	})
	if !slices.Equal(stages, allStages) {
		t.Errorf("lifecycle stages %v\nwant %v", stages, allStages)
	}
	if sd.Status != types.ServiceDeploymentStatusSuccessful || sd.FinishedAt == nil {
		t.Fatalf("service deployment = %s finished %v, want SUCCESSFUL", sd.Status, sd.FinishedAt)
	}
	if bakeFrom.IsZero() || doneAt.Sub(bakeFrom) < 5*time.Minute {
		t.Errorf("bake time from %v, successful at %v: want at least 5m between", bakeFrom, doneAt)
	}
	s := e.service()
	if len(s.Deployments) != 1 || aws.ToString(primary(s).Id) != greenID || primary(s).RolloutState != types.DeploymentRolloutStateCompleted || aws.ToString(s.TaskDefinition) != v2 {
		t.Errorf("after: deployments %s, task definition %s", deploymentsString(s), aws.ToString(s.TaskDefinition))
	}
	if n := len(e.stoppedTasks(aws.ToString(updated.Deployments[1].Id))); n != 2 {
		t.Errorf("blue has %d stopped tasks, want 2", n)
	}
	if sd.DeploymentConfiguration == nil || sd.DeploymentConfiguration.Strategy != types.DeploymentStrategyBlueGreen || aws.ToInt32(sd.DeploymentConfiguration.BakeTimeInMinutes) != 5 {
		t.Errorf("service deployment configuration %+v", sd.DeploymentConfiguration)
	}
	if sd.Alarms != nil {
		t.Errorf("alarms %+v without alarms configured", sd.Alarms)
	}
}

// trafficSteps follows a deployment with cfg and returns green's
// successive production weights and when each was set.
func trafficSteps(t *testing.T, cfg *types.DeploymentConfiguration) ([]float64, []time.Time) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createNative(v1, 1, cfg)
	arn := aws.ToString(e.update(v2).CurrentServiceDeployment)
	var weights []float64
	var times []time.Time
	sd := e.watch(arn, 10*time.Second, 2000, finished, func(sd types.ServiceDeployment, _ *types.Service) {
		w := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight)
		if w > 0 && (len(weights) == 0 || weights[len(weights)-1] != w) {
			weights = append(weights, w)
			times = append(times, e.clock.Now())
		}
	})
	if sd.Status != types.ServiceDeploymentStatusSuccessful {
		t.Errorf("service deployment = %s %q", sd.Status, aws.ToString(sd.StatusReason))
	}
	return weights, times
}

func TestLinearAndCanaryShiftTrafficInSteps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   *types.DeploymentConfiguration
		want  []float64
		pause time.Duration
	}{
		{"linear", &types.DeploymentConfiguration{
			Strategy:            types.DeploymentStrategyLinear,
			BakeTimeInMinutes:   aws.Int32(0),
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(25), StepBakeTimeInMinutes: aws.Int32(2)},
		}, []float64{25, 50, 75, 100}, 2 * time.Minute},
		{"linear-uneven", &types.DeploymentConfiguration{
			Strategy:            types.DeploymentStrategyLinear,
			BakeTimeInMinutes:   aws.Int32(1),
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(40), StepBakeTimeInMinutes: aws.Int32(1)},
		}, []float64{40, 80, 100}, time.Minute},
		{"canary", &types.DeploymentConfiguration{
			Strategy:            types.DeploymentStrategyCanary,
			BakeTimeInMinutes:   aws.Int32(0),
			CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(10), CanaryBakeTimeInMinutes: aws.Int32(3)},
		}, []float64{10, 100}, 3 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			weights, times := trafficSteps(t, tc.cfg)
			if !slices.Equal(weights, tc.want) {
				t.Fatalf("production weights %v, want %v", weights, tc.want)
			}
			for i := 1; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < tc.pause || gap > tc.pause+time.Minute {
					t.Errorf("step %d came %v after the previous, want the step bake time %v", i, gap, tc.pause)
				}
			}
		})
	}
}

// pausedEnv is a BLUE_GREEN service with a PAUSE hook after the test
// traffic shift, updated to web:2 and stopped at the hook.
func pausedEnv(t *testing.T, timeout *types.DeploymentLifecycleHookTimeoutConfiguration) (*env, string, types.DeploymentLifecycleHookDetail, string) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	cfg := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1)}
	e.createNative(v1, 2, cfg)
	// The hook comes with the update, as a pipeline would add it.
	cfg.LifecycleHooks = []types.DeploymentLifecycleHook{{
		TargetType:           types.DeploymentLifecycleHookTargetTypePause,
		LifecycleStages:      []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
		TimeoutConfiguration: timeout,
	}}
	arn := e.updateWith(v2, cfg)
	sd := e.watch(arn, time.Second, 600, func(sd types.ServiceDeployment) bool { return len(sd.LifecycleHookDetails) > 0 }, nil)
	return e, arn, sd.LifecycleHookDetails[0], v1
}

func TestPauseHookWaitsForContinue(t *testing.T) {
	e, arn, hook, _ := pausedEnv(t, &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(30), Action: types.DeploymentLifecycleHookActionRollback})
	pausedAt := e.clock.Now()
	if !strings.HasPrefix(aws.ToString(hook.HookId), "ecs-pause-") || hook.Status != types.DeploymentLifecycleHookStatusAwaitingAction ||
		hook.TargetType != types.DeploymentLifecycleHookTargetTypePause || hook.TimeoutAction != types.DeploymentLifecycleHookActionRollback {
		t.Errorf("hook %+v", hook)
	}
	if hook.ExpiresAt == nil || hook.ExpiresAt.Sub(pausedAt) > 30*time.Minute || hook.ExpiresAt.Sub(pausedAt) < 29*time.Minute {
		t.Errorf("hook expires at %v, paused at %v, want 30 minutes later", hook.ExpiresAt, pausedAt)
	}
	e.clock.Advance(20 * time.Minute)
	sd := e.describeSD(arn)
	if sd.Status != types.ServiceDeploymentStatusInProgress || sd.LifecycleStage != types.ServiceDeploymentLifecycleStagePostTestTrafficShift {
		t.Fatalf("20 minutes into the pause: %s at %s, want IN_PROGRESS at POST_TEST_TRAFFIC_SHIFT", sd.Status, sd.LifecycleStage)
	}
	if w := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight); w != 0 {
		t.Errorf("production weight %v during the pause, want 0", w)
	}
	if _, err := e.ecs.ContinueServiceDeployment(e.ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: aws.String("ecs-pause-nope")}); !hasCode(err, "InvalidParameterException") {
		t.Errorf("continuing an unknown hook: %v, want InvalidParameterException", err)
	}
	out, err := e.ecs.ContinueServiceDeployment(e.ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: hook.HookId, Action: types.DeploymentLifecycleHookActionContinue})
	if err != nil || aws.ToString(out.ServiceDeploymentArn) != arn {
		t.Fatalf("continuing: %v %+v", err, out)
	}
	e.clock.Advance(2 * time.Second)
	if sd := e.describeSD(arn); slices.Index(allStages, sd.LifecycleStage) <= slices.Index(allStages, types.ServiceDeploymentLifecycleStagePostTestTrafficShift) {
		t.Errorf("after CONTINUE: at %s", sd.LifecycleStage)
	}
	sd = e.watch(arn, 5*time.Second, 200, finished, nil)
	if sd.Status != types.ServiceDeploymentStatusSuccessful {
		t.Errorf("after CONTINUE: %s %q, want SUCCESSFUL", sd.Status, aws.ToString(sd.StatusReason))
	}
}

func TestPauseHookRollback(t *testing.T) {
	e, arn, hook, v1 := pausedEnv(t, nil)
	if hook.TimeoutAction != types.DeploymentLifecycleHookActionRollback || hook.ExpiresAt == nil || hook.ExpiresAt.Sub(e.clock.Now()) < 23*time.Hour {
		t.Errorf("default timeout: %s at %v, want ROLLBACK after 24h", hook.TimeoutAction, hook.ExpiresAt)
	}
	if _, err := e.ecs.ContinueServiceDeployment(e.ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: hook.HookId, Action: types.DeploymentLifecycleHookActionRollback}); err != nil {
		t.Fatalf("rolling back: %v", err)
	}
	sd := e.describeSD(arn)
	if sd.Status != types.ServiceDeploymentStatusRollbackInProgress || sd.Rollback == nil || !strings.Contains(aws.ToString(sd.Rollback.Reason), aws.ToString(hook.HookId)) {
		t.Errorf("after ROLLBACK: %s, rollback %+v", sd.Status, sd.Rollback)
	}
	sd = e.watch(arn, 5*time.Second, 100, finished, nil)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("rollback ended %s", sd.Status)
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != v1 || len(s.Deployments) != 1 || primary(s).RunningCount != 2 {
		t.Errorf("after rollback: %s on %s", deploymentsString(s), aws.ToString(s.TaskDefinition))
	}
	// The paused deployment can no longer be continued.
	if _, err := e.ecs.ContinueServiceDeployment(e.ctx, &ecs.ContinueServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), HookId: hook.HookId}); !hasCode(err, "ConflictException") {
		t.Errorf("continuing a finished deployment: %v, want ConflictException", err)
	}
}

func TestPauseHookTimeoutAction(t *testing.T) {
	for _, action := range []types.DeploymentLifecycleHookAction{types.DeploymentLifecycleHookActionContinue, types.DeploymentLifecycleHookActionRollback} {
		t.Run(string(action), func(t *testing.T) {
			e, arn, _, _ := pausedEnv(t, &types.DeploymentLifecycleHookTimeoutConfiguration{TimeoutInMinutes: aws.Int32(10), Action: action})
			e.clock.Advance(9 * time.Minute)
			if sd := e.describeSD(arn); sd.LifecycleStage != types.ServiceDeploymentLifecycleStagePostTestTrafficShift || sd.Status != types.ServiceDeploymentStatusInProgress {
				t.Fatalf("before the timeout: %s at %s", sd.Status, sd.LifecycleStage)
			}
			e.clock.Advance(time.Minute)
			sd := e.describeSD(arn)
			if action == types.DeploymentLifecycleHookActionRollback {
				if sd.Status != types.ServiceDeploymentStatusRollbackInProgress && sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
					t.Errorf("at the timeout: %s", sd.Status)
				}
				if len(sd.LifecycleHookDetails) != 1 || sd.LifecycleHookDetails[0].Status != types.DeploymentLifecycleHookStatusTimedOut {
					t.Errorf("hook details %+v, want TIMED_OUT", sd.LifecycleHookDetails)
				}
			}
			want := types.ServiceDeploymentStatusSuccessful
			if action == types.DeploymentLifecycleHookActionRollback {
				want = types.ServiceDeploymentStatusRollbackSuccessful
			}
			if sd = e.watch(arn, 5*time.Second, 100, finished, nil); sd.Status != want {
				t.Errorf("ended %s %q, want %s", sd.Status, aws.ToString(sd.StatusReason), want)
			}
		})
	}
}

func TestAlarmDuringBakeTimeRollsBack(t *testing.T) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createNative(v1, 2, &types.DeploymentConfiguration{
		Strategy:          types.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes: aws.Int32(10),
		Alarms:            &types.DeploymentAlarms{AlarmNames: []string{"web-5xx", "web-latency"}, Enable: true, Rollback: true},
	})
	updated := e.update(v2)
	arn := aws.ToString(updated.CurrentServiceDeployment)
	greenID := aws.ToString(updated.Deployments[0].Id)
	sd := e.watch(arn, time.Second, 600, func(sd types.ServiceDeployment) bool {
		return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
	}, nil)
	if a := sd.Alarms; a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || !slices.Equal(a.AlarmNames, []string{"web-5xx", "web-latency"}) {
		t.Errorf("alarms before: %+v, want MONITORING both", a)
	}
	blueRevision := aws.ToString(sd.SourceServiceRevisions[0].Arn)
	e.clock.Advance(3 * time.Minute)
	if err := e.srv.SetAlarmState("web-5xx", ecssim.AlarmAlarm); err != nil {
		t.Fatal(err)
	}
	sd = e.describeSD(arn)
	if sd.Status != types.ServiceDeploymentStatusRollbackInProgress {
		t.Fatalf("after the alarm: %s, want ROLLBACK_IN_PROGRESS", sd.Status)
	}
	if r := sd.Rollback; r == nil || !strings.Contains(aws.ToString(r.Reason), "web-5xx") || r.StartedAt == nil || aws.ToString(r.ServiceRevisionArn) != blueRevision {
		t.Errorf("rollback %+v, want one naming web-5xx back to %s", r, blueRevision)
	}
	if w := weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight); w != 0 || weight(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight) != 100 {
		t.Errorf("weights after the alarm: green %v, blue %v", w, weight(sd.SourceServiceRevisions[0].RequestedProductionTrafficWeight))
	}
	sd = e.watch(arn, 5*time.Second, 100, finished, nil)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("ended %s, want ROLLBACK_SUCCESSFUL", sd.Status)
	}
	if a := sd.Alarms; a == nil || a.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered || !slices.Equal(a.TriggeredAlarmNames, []string{"web-5xx"}) {
		t.Errorf("alarms after: %+v, want TRIGGERED by web-5xx", a)
	}
	s := e.service()
	if aws.ToString(s.TaskDefinition) != v1 || len(s.Deployments) != 1 || aws.ToString(primary(s).TaskDefinition) != v1 || primary(s).RunningCount != 2 {
		t.Errorf("service after: %s on %s", deploymentsString(s), aws.ToString(s.TaskDefinition))
	}
	if running, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), StartedBy: aws.String(greenID)}); err != nil || len(running.TaskArns) != 0 {
		t.Errorf("green still runs tasks: %v %v", err, running)
	}
	if len(e.stoppedTasks(greenID)) != 2 {
		t.Errorf("green's tasks were not stopped")
	}
}

func TestNativeCircuitBreakerRollsBackDuringScaleUp(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", ecssim.FailsHealthChecks(30*time.Second)))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createNative(v1, 4, &types.DeploymentConfiguration{
		Strategy:                 types.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes:        aws.Int32(5),
		DeploymentCircuitBreaker: rollbackBreaker,
	})
	arn := aws.ToString(e.update(v2).CurrentServiceDeployment)
	var rolledBackAt types.ServiceDeploymentLifecycleStage
	sd := e.watch(arn, 5*time.Second, 720, finished, func(sd types.ServiceDeployment, s *types.Service) {
		if sd.Status == types.ServiceDeploymentStatusRollbackInProgress && rolledBackAt == "" {
			rolledBackAt = sd.LifecycleStage
		}
		if weight(sd.TargetServiceRevision.RequestedTestTrafficWeight) > 0 {
			t.Errorf("failing green got test traffic at %s", sd.LifecycleStage)
		}
		if s.RunningCount < 4 {
			t.Errorf("blue stopped serving: running %d", s.RunningCount)
		}
	})
	if rolledBackAt != types.ServiceDeploymentLifecycleStageScaleUp {
		t.Errorf("rolled back at %q, want SCALE_UP", rolledBackAt)
	}
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful || sd.DeploymentCircuitBreaker == nil || sd.DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		t.Errorf("ended %s, circuit breaker %+v", sd.Status, sd.DeploymentCircuitBreaker)
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != v1 || len(s.Deployments) != 1 || s.RunningCount != 4 {
		t.Errorf("service after: %s on %s", deploymentsString(s), aws.ToString(s.TaskDefinition))
	}
}

func TestLambdaHookFailureRollsBack(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	cfg := &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(0)}
	e.createNative(v1, 1, cfg)
	cfg.LifecycleHooks = []types.DeploymentLifecycleHook{{
		HookTargetArn:   aws.String(fn),
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/ecs-hooks"),
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePostTestTrafficShift},
	}}
	e.srv.SetLambdaHook(fn, ecssim.LambdaHook{Delay: 30 * time.Second, Fail: true, Reason: "smoke test: GET /health answered 503"})
	arn := e.updateWith(v2, cfg)
	sd := e.watch(arn, time.Second, 600, func(sd types.ServiceDeployment) bool { return len(sd.LifecycleHookDetails) > 0 }, nil)
	if h := sd.LifecycleHookDetails[0]; h.Status != types.DeploymentLifecycleHookStatusInProgress || aws.ToString(h.TargetArn) != fn || h.TargetType != types.DeploymentLifecycleHookTargetTypeAwsLambda {
		t.Errorf("lambda hook %+v", h)
	}
	e.clock.Advance(29 * time.Second)
	if sd := e.describeSD(arn); sd.Status != types.ServiceDeploymentStatusInProgress {
		t.Errorf("before the function answered: %s", sd.Status)
	}
	sd = e.watch(arn, 5*time.Second, 100, finished, nil)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful || !strings.Contains(aws.ToString(sd.StatusReason), fn) || !strings.Contains(aws.ToString(sd.StatusReason), "503") {
		t.Errorf("ended %s %q, want ROLLBACK_SUCCESSFUL naming the hook", sd.Status, aws.ToString(sd.StatusReason))
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != v1 {
		t.Errorf("service on %s", aws.ToString(s.TaskDefinition))
	}
}

func TestStopNativeDeploymentRollsBackToBlue(t *testing.T) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createNative(v1, 2, &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(30)})
	arn := aws.ToString(e.update(v2).CurrentServiceDeployment)
	e.watch(arn, 5*time.Second, 200, func(sd types.ServiceDeployment) bool {
		return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
	}, nil)
	if _, err := e.ecs.StopServiceDeployment(e.ctx, &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: aws.String(arn), StopType: types.StopServiceDeploymentStopTypeRollback}); err != nil {
		t.Fatal(err)
	}
	// Blue is still running: the rollback takes no longer than green's drain.
	e.clock.Advance(15 * time.Second)
	sd := e.describeSD(arn)
	if sd.Status != types.ServiceDeploymentStatusRollbackSuccessful || weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight) != 0 {
		t.Errorf("15s after the stop: %s, green weight %v", sd.Status, weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight))
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != v1 || len(s.Deployments) != 1 {
		t.Errorf("service after: %s", deploymentsString(s))
	}
}

func TestNativeDeploymentConfigurationValidated(t *testing.T) {
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	for _, tc := range []struct {
		name string
		cfg  types.DeploymentConfiguration
		want string
	}{
		{"blue/green without bake time", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen}, "bakeTimeInMinutes"},
		{"bake time too long", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1441)}, "bakeTimeInMinutes"},
		{"linear without configuration", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear}, "linearConfiguration"},
		{"linear step too small", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(2)}}, "stepPercent"},
		{"canary without configuration", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary}, "canaryConfiguration"},
		{"canary share not in tenths", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary, CanaryConfiguration: &types.CanaryConfiguration{CanaryPercent: aws.Float64(5.05)}}, "canaryPercent"},
		{"pause at a traffic shift", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1), LifecycleHooks: []types.DeploymentLifecycleHook{{
			TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStageProductionTrafficShift},
		}}}, "PRODUCTION_TRAFFIC_SHIFT"},
		{"lambda without target", types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(1), LifecycleHooks: []types.DeploymentLifecycleHook{{
			LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreScaleUp},
		}}}, "hookTargetArn"},
	} {
		cfg := tc.cfg
		_, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(1), DeploymentConfiguration: &cfg})
		if !hasCode(err, "InvalidParameterException") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want InvalidParameterException naming %s", tc.name, err, tc.want)
		}
	}
	// An update is checked against the merged configuration, and a
	// rejected one changes nothing.
	e.createService(v1, 1, nil)
	_, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true,
		DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyCanary}})
	if !hasCode(err, "InvalidParameterException") {
		t.Errorf("update to CANARY without canaryConfiguration: %v", err)
	}
	if s := e.service(); s.DeploymentConfiguration.Strategy == types.DeploymentStrategyCanary || len(s.Deployments) != 1 {
		t.Errorf("the rejected update changed the service: %s %s", s.DeploymentConfiguration.Strategy, deploymentsString(s))
	}
}

func TestClientScriptsAlarmsAndLambdaHooks(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:smoke-test"
	e := newEnv(t)
	c := &ecssim.Client{URL: e.srv.URL}
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	cfg := &types.DeploymentConfiguration{
		Strategy:          types.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes: aws.Int32(10),
		Alarms:            &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true},
	}
	e.createNative(v1, 1, cfg)
	cfg.LifecycleHooks = []types.DeploymentLifecycleHook{{
		HookTargetArn:   aws.String(fn),
		LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreScaleUp},
	}}
	if err := c.SetLambdaHook(e.ctx, fn, ecssim.LambdaHook{Delay: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAlarmState(e.ctx, "web-5xx", "RED"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("an unknown alarm state: %v, want a 400", err)
	}
	arn := e.updateWith(v2, cfg)
	e.clock.Advance(time.Minute)
	if sd := e.describeSD(arn); sd.LifecycleStage != types.ServiceDeploymentLifecycleStagePreScaleUp || len(sd.LifecycleHookDetails) != 1 {
		t.Errorf("a minute into a two-minute hook: at %s, hooks %+v", sd.LifecycleStage, sd.LifecycleHookDetails)
	}
	e.watch(arn, 5*time.Second, 400, func(sd types.ServiceDeployment) bool {
		return sd.LifecycleStage == types.ServiceDeploymentLifecycleStageBakeTime
	}, nil)
	if err := c.SetAlarmState(e.ctx, "web-5xx", ecssim.AlarmAlarm); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.AlarmStates()["web-5xx"]; got != ecssim.AlarmAlarm {
		t.Errorf("alarm state %q", got)
	}
	if sd := e.watch(arn, 5*time.Second, 20, finished, nil); sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("ended %s, want ROLLBACK_SUCCESSFUL", sd.Status)
	}
}

func TestAlarmRollsBackRollingDeployment(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", slowStart()))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	if _, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{Alarms: &types.DeploymentAlarms{AlarmNames: []string{"web-5xx"}, Enable: true, Rollback: true}},
	}); err != nil {
		t.Fatal(err)
	}
	e.stepUntil("created", func(s *types.Service) bool { return primary(s).RolloutState == types.DeploymentRolloutStateCompleted })
	id := aws.ToString(e.update(v2).Deployments[0].Id)
	if sd := e.serviceDeployment(id); sd.Alarms == nil || sd.Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || sd.LifecycleStage != "" {
		t.Errorf("rolling service deployment: alarms %+v, lifecycle stage %q", sd.Alarms, sd.LifecycleStage)
	}
	e.clock.Advance(time.Minute)
	if err := e.srv.SetAlarmState("web-5xx", ecssim.AlarmAlarm); err != nil {
		t.Fatal(err)
	}
	done := e.stepUntil("rolled back", func(s *types.Service) bool {
		return len(s.Deployments) == 1 && primary(s).RolloutState == types.DeploymentRolloutStateCompleted
	})
	if aws.ToString(done.TaskDefinition) != v1 {
		t.Errorf("service on %s, want %s", aws.ToString(done.TaskDefinition), v1)
	}
	if sd := e.serviceDeployment(id); sd.Status != types.ServiceDeploymentStatusRollbackSuccessful || sd.Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered {
		t.Errorf("service deployment %s, alarms %+v", sd.Status, sd.Alarms)
	}
}

func TestTrafficShiftHooksRunAtEveryStep(t *testing.T) {
	const pre, at = "arn:aws:lambda:us-east-1:123456789012:function:pre", "arn:aws:lambda:us-east-1:123456789012:function:at"
	e := newEnv(t)
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	cfg := &types.DeploymentConfiguration{
		Strategy:            types.DeploymentStrategyLinear,
		BakeTimeInMinutes:   aws.Int32(0),
		LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(1)},
	}
	e.createNative(v1, 1, cfg)
	cfg.LifecycleHooks = []types.DeploymentLifecycleHook{
		{HookTargetArn: aws.String(pre), LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStagePreProductionTrafficShift}},
		{HookTargetArn: aws.String(at), LifecycleStages: []types.DeploymentLifecycleHookStage{types.DeploymentLifecycleHookStageProductionTrafficShift}},
	}
	arn := e.updateWith(v2, cfg)
	runs := map[string]map[string]float64{pre: {}, at: {}} // hook ids by target, with green's weight then
	sd := e.watch(arn, time.Second, 1000, finished, func(sd types.ServiceDeployment, _ *types.Service) {
		for _, h := range sd.LifecycleHookDetails {
			if _, seen := runs[aws.ToString(h.TargetArn)][aws.ToString(h.HookId)]; !seen {
				runs[aws.ToString(h.TargetArn)][aws.ToString(h.HookId)] = weight(sd.TargetServiceRevision.RequestedProductionTrafficWeight)
			}
		}
	})
	if sd.Status != types.ServiceDeploymentStatusSuccessful {
		t.Fatalf("ended %s %q", sd.Status, aws.ToString(sd.StatusReason))
	}
	weightsAt := func(target string) []float64 {
		var out []float64
		for _, w := range runs[target] {
			out = append(out, w)
		}
		slices.Sort(out)
		return out
	}
	if got := weightsAt(pre); !slices.Equal(got, []float64{0, 50}) {
		t.Errorf("PRE_PRODUCTION_TRAFFIC_SHIFT hook ran at weights %v, want before each step: [0 50]", got)
	}
	if got := weightsAt(at); !slices.Equal(got, []float64{50, 100}) {
		t.Errorf("PRODUCTION_TRAFFIC_SHIFT hook ran at weights %v, want after each step: [50 100]", got)
	}
}

func TestNativeCircuitBreakerWithoutRollbackStops(t *testing.T) {
	e := newEnv(t, ecssim.WithBehavior("web:2", ecssim.CannotPullImage("web:2")))
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createNative(v1, 2, &types.DeploymentConfiguration{
		Strategy:                 types.DeploymentStrategyBlueGreen,
		BakeTimeInMinutes:        aws.Int32(1),
		DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true},
	})
	updated := e.update(v2)
	sd := e.watch(aws.ToString(updated.CurrentServiceDeployment), 5*time.Second, 720, finished, nil)
	if sd.Status != types.ServiceDeploymentStatusStopped || sd.LifecycleStage != types.ServiceDeploymentLifecycleStageScaleUp {
		t.Errorf("ended %s at %s, want STOPPED at SCALE_UP", sd.Status, sd.LifecycleStage)
	}
	e.clock.Advance(10 * time.Minute)
	s := e.service()
	if p := primary(s); aws.ToString(p.Id) != aws.ToString(updated.Deployments[0].Id) || p.RolloutState != types.DeploymentRolloutStateFailed {
		t.Errorf("deployments %s, want green PRIMARY FAILED", deploymentsString(s))
	}
	if s.RunningCount != 2 || weight(e.describeSD(aws.ToString(updated.CurrentServiceDeployment)).SourceServiceRevisions[0].RequestedProductionTrafficWeight) != 100 {
		t.Errorf("blue should keep serving: running %d", s.RunningCount)
	}
}

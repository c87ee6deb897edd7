package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestDeployFollowsNativeStrategies: a BLUE_GREEN, LINEAR or CANARY
// strategy, set by the service or by the service definition, is followed
// through the simulator's lifecycle stages to SUCCESSFUL: not before the
// bake time is over, noticed within about a second of the end, with one
// UpdateService.
func TestDeployFollowsNativeStrategies(t *testing.T) {
	bake := func(m int32) *types.DeploymentConfiguration {
		return &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(m)}
	}
	for _, c := range []struct {
		name       string
		service    *types.DeploymentConfiguration // set on the running service
		definition string                         // deploymentConfiguration+: in the service definition
		want       string
		atLeast    time.Duration // the bakes
		stages     []string      // among those seen, in this order
	}{
		{name: "service BLUE_GREEN", service: bake(3), want: "BLUE_GREEN", atLeast: 3 * time.Minute,
			stages: []string{"BAKE_TIME", "CLEAN_UP"}},
		{name: "service LINEAR", service: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyLinear, BakeTimeInMinutes: aws.Int32(1),
			LinearConfiguration: &types.LinearConfiguration{StepPercent: aws.Float64(50), StepBakeTimeInMinutes: aws.Int32(2)}},
			want: "LINEAR", atLeast: 3 * time.Minute, stages: []string{"PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"}},
		{name: "definition CANARY", definition: "strategy: 'CANARY', bakeTimeInMinutes: 2, canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 5 }",
			want: "CANARY", atLeast: 7 * time.Minute, stages: []string{"PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"}},
		{name: "definition BLUE_GREEN over a ROLLING service", service: &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyRolling},
			definition: "strategy: 'BLUE_GREEN', bakeTimeInMinutes: 10", want: "BLUE_GREEN", atLeast: 10 * time.Minute, stages: []string{"BAKE_TIME"}},
		{name: "ROLLING", want: "ROLLING"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDeployEnv(t, nil)
			if c.service != nil {
				if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{
					Cluster: aws.String("prod"), Service: aws.String("web"), DeploymentConfiguration: c.service,
				}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := withDeploymentConfiguration(t, e, c.definition)
			e.srv.ResetRequests()
			began := e.clock.Now()
			var events bytes.Buffer
			opts := e.waitOpts(&events)
			opts.Timeout = time.Hour
			res, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: opts})
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if res.Outcome != pipeline.OutcomeSucceeded || res.Wait == nil || res.Wait.Strategy != c.want {
				t.Fatalf("Deploy: outcome %s, wait %+v; want SUCCEEDED followed as %s", res.Outcome, res.Wait, c.want)
			}
			if n := len(e.calls("UpdateService")); n != 1 {
				t.Errorf("%d UpdateService calls, want 1", n)
			}
			sd := describeSD(t, e, res.Wait.ServiceDeploymentArn)
			if sd.Status != types.ServiceDeploymentStatusSuccessful {
				t.Fatalf("the service deployment is %s after Deploy returned", sd.Status)
			}
			finished := aws.ToTime(sd.FinishedAt)
			// A native deployment's end is due when its bakes are over: the
			// follower reads every second then. A rolling one's schedule is
			// jittered (its detection is benchmarked by
			// BenchmarkDeployDetectionShapes): a looser bound.
			bound := 1500 * time.Millisecond
			if c.want == "ROLLING" {
				bound = 3 * time.Second
			}
			if late := e.clock.Now().Sub(finished); late < 0 || late > bound {
				t.Errorf("Deploy returned %s after the service deployment finished", late)
			}
			if took := finished.Sub(began); took < c.atLeast {
				t.Errorf("the deployment took %s, less than its bakes (%s)", took, c.atLeast)
			}
			var seen []string
			for _, st := range res.Wait.Stages {
				seen = append(seen, st.Stage)
			}
			if i := 0; len(c.stages) > 0 {
				for _, st := range seen {
					if i < len(c.stages) && st == c.stages[i] {
						i++
					}
				}
				if i != len(c.stages) {
					t.Errorf("stages seen %v, want %v among them in order", seen, c.stages)
				}
				if !strings.Contains(events.String(), "BAKE_TIME") {
					t.Errorf("no BAKE_TIME in the events:\n%s", events.String())
				}
			}
			reads, _ := readsBetween(e, began, e.clock.Now())
			t.Logf("%s: rollout %s, noticed %s after the end, %d reads, stages %v", c.want, finished.Sub(began), e.clock.Now().Sub(finished), reads, seen)
			if c.atLeast > 0 {
				// A long bake is waited out, not polled: about one read per
				// 3 s on average at most.
				if limit := 25 + int(e.clock.Now().Sub(began)/(3*time.Second)); reads > limit {
					t.Errorf("%d reads over %s, want at most %d", reads, e.clock.Now().Sub(began), limit)
				}
			}
		})
	}
}

// TestDeployNativeAlarmRollback: an alarm that goes off during the bake
// rolls the blue/green deployment back; Deploy reports it rolled back,
// names the alarm, and the service runs the old revision.
func TestDeployNativeAlarmRollback(t *testing.T) {
	e := newDeployEnv(t, nil)
	cfg := withDeploymentConfiguration(t, e, "strategy: 'BLUE_GREEN', bakeTimeInMinutes: 30, alarms: { alarmNames: ['web-5xx'], enable: true, rollback: true }")
	began := e.clock.Now()
	opts := e.waitOpts(nil)
	opts.Timeout = time.Hour
	opts.Clock = alarmClock{simClock{e.clock}, e, began.Add(10 * time.Minute), "web-5xx", new(bool)}
	_, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: opts})
	var de *pipeline.DeploymentError
	if !errors.As(err, &de) || de.Outcome != pipeline.OutcomeRolledBack {
		t.Fatalf("Deploy: %v; want a rolled-back deployment", err)
	}
	if !strings.Contains(err.Error(), "web-5xx") {
		t.Errorf("the error does not name the alarm: %v", err)
	}
	if got := aws.ToString(e.service().TaskDefinition); got != e.v1 {
		t.Errorf("the service runs %s, want %s", got, e.v1)
	}
	if took := e.clock.Now().Sub(began); took > 12*time.Minute {
		t.Errorf("the rollback at 10 min was reported at %s", took)
	}
}

// alarmClock sets an alarm once the clock passes at.
type alarmClock struct {
	simClock
	e     *deployEnv
	at    time.Time
	alarm string
	set   *bool
}

func (c alarmClock) Sleep(ctx context.Context, d time.Duration) error {
	err := c.simClock.Sleep(ctx, d)
	if !*c.set && !c.Now().Before(c.at) {
		*c.set = true
		if err := c.e.srv.Simulator.SetAlarmState(c.alarm, ecssim.AlarmAlarm); err != nil {
			c.e.t.Fatal(err)
		}
	}
	return err
}

// TestDeployNativeUntil: --wait-until ecs:BAKE_TIME returns when the bake
// starts, the deployment going on; paused returns at a PAUSE hook with
// its id, and after ContinueServiceDeployment Wait follows it to the end.
func TestDeployNativeUntil(t *testing.T) {
	e := newDeployEnv(t, nil)
	cfg := withDeploymentConfiguration(t, e, "strategy: 'BLUE_GREEN', bakeTimeInMinutes: 20")
	opts := e.waitOpts(nil)
	opts.Until = "ecs:BAKE_TIME"
	res, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: opts})
	if err != nil {
		t.Fatalf("Deploy until BAKE_TIME: %v", err)
	}
	sd := describeSD(t, e, res.Wait.ServiceDeploymentArn)
	if res.Wait.Stage != "BAKE_TIME" || sd.Status != types.ServiceDeploymentStatusInProgress || sd.LifecycleStage != types.ServiceDeploymentLifecycleStageBakeTime {
		t.Fatalf("returned at stage %q with the service deployment %s at %s; want BAKE_TIME, still in progress", res.Wait.Stage, sd.Status, sd.LifecycleStage)
	}

	e.clock.Advance(time.Hour) // the bake ends
	cfg = withDeploymentConfiguration(t, e, "strategy: 'BLUE_GREEN', bakeTimeInMinutes: 0, lifecycleHooks: [{ targetType: 'PAUSE', lifecycleStages: ['POST_SCALE_UP'] }]")
	opts.Until = "paused"
	res, err = pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: opts})
	if err != nil {
		t.Fatalf("Deploy until paused: %v", err)
	}
	if res.Wait.HookID == "" || res.Wait.Stage != "POST_SCALE_UP" {
		t.Fatalf("paused at %q with hook %q", res.Wait.Stage, res.Wait.HookID)
	}
	if _, err := e.ecs.ContinueServiceDeployment(e.ctx, &ecs.ContinueServiceDeploymentInput{
		ServiceDeploymentArn: aws.String(res.Wait.ServiceDeploymentArn), HookId: aws.String(res.Wait.HookID),
	}); err != nil {
		t.Fatal(err)
	}
	w, err := pipeline.Wait(e.ctx, e.ecs, cfg, pipeline.WaitOptions{Clock: simClock{e.clock}, DeploymentID: res.DeploymentID})
	if err != nil || w.Outcome != pipeline.OutcomeSucceeded {
		t.Fatalf("Wait after continuing: %+v %v", w, err)
	}
}

// describeSD reads one service deployment.
func describeSD(t *testing.T, e *deployEnv, arn string) types.ServiceDeployment {
	t.Helper()
	out, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("describing service deployment %q: %v", arn, err)
	}
	return out.ServiceDeployments[0]
}

// withStrategy returns e's config with a service definition that sets
// strategy, or e's config when strategy is empty.
func withStrategy(t *testing.T, e *deployEnv, strategy types.DeploymentStrategy) *pipeline.Config {
	t.Helper()
	if strategy == "" {
		return withDeploymentConfiguration(t, e, "")
	}
	return withDeploymentConfiguration(t, e, "strategy: '"+string(strategy)+"'")
}

// withDeploymentConfiguration returns e's config with a service
// definition whose deploymentConfiguration adds fields (Jsonnet), or e's
// config when fields is empty.
func withDeploymentConfiguration(t *testing.T, e *deployEnv, fields string) *pipeline.Config {
	t.Helper()
	cfg := *e.cfg
	if fields != "" {
		path := filepath.Join(t.TempDir(), "service-def.jsonnet")
		src := "(import '" + e.cfg.ServiceDefinition + "') + { deploymentConfiguration+: { " + fields + " } }"
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.ServiceDefinition = path
	}
	return &cfg
}

// TestDeployRefusesLifecycleTargetOnRolling: waiting until a lifecycle
// stage or a paused hook needs a native strategy; on a ROLLING service
// (set or by default) Deploy refuses it before anything changes, as
// ecspresso's validateLifecycleStageSupported. A bad value is refused
// before any call at all, naming the flag and the valid values.
func TestDeployRefusesLifecycleTargetOnRolling(t *testing.T) {
	for _, c := range []struct {
		name, until string
		strategy    types.DeploymentStrategy
		want        []string
		noCalls     bool
	}{
		{"stage by default", "ecs:BAKE_TIME", "", []string{"ROLLING strategy", "ecs:BAKE_TIME"}, false},
		{"paused on ROLLING", "paused", types.DeploymentStrategyRolling, []string{"ROLLING strategy", "paused"}, false},
		{"unknown stage", "ecs:BAKING", "", []string{"--wait-until", "ecs:BAKING", "BAKE_TIME", "deployed"}, true},
		{"codedeploy", "codedeploy:AfterAllowTraffic", "", []string{"--wait-until", "CODE_DEPLOY"}, true},
		{"nonsense", "done", types.DeploymentStrategyBlueGreen, []string{"--wait-until", "stable", "paused"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDeployEnv(t, nil)
			cfg := withStrategy(t, e, c.strategy)
			e.srv.ResetRequests()
			opts := e.waitOpts(nil)
			opts.Until = c.until
			_, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: opts})
			if err == nil {
				t.Fatalf("Deploy until %q: no error", c.until)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Deploy until %q: %v; want it to say %q", c.until, err, w)
				}
			}
			if m := e.mutating(); len(m) != 0 {
				t.Errorf("a refused deploy called %v", m)
			}
			if n := len(e.srv.Requests()); c.noCalls && n != 0 {
				t.Errorf("a bad value made %d calls", n)
			}
		})
	}
}

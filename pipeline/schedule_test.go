package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// historyEnv makes a service and deploys it once with each of past, a day
// apart; the next deploy (e.cfg) deploys an image with behaviour next. Each
// revision's tasks drain for drain when replaced.
func historyEnv(t *testing.T, drain time.Duration, past []ecssim.Behavior, next ecssim.Behavior, opts ...ecssim.Option) *deployEnv {
	t.Helper()
	e := newDeployEnv(t, nil, append([]ecssim.Option{ecssim.WithBehavior("registry.example.com/web:v1", ecssim.Behavior{DrainDelay: drain})}, opts...)...)
	for i, b := range append(past, next) {
		image := fmt.Sprintf("registry.example.com/web:v%d", i+2)
		b.DrainDelay = drain
		e.srv.SetBehavior(image, b)
		e.cfg = loadDeployConfig(t, nil, map[string]string{"IMAGE": image})
		if i == len(past) {
			break
		}
		if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)}); err != nil {
			t.Fatalf("deploy %d: %v", i+1, err)
		}
		e.clock.Advance(24 * time.Hour)
	}
	e.srv.ResetRequests()
	return e
}

// deployAndMeasure deploys e.cfg and returns how long after ECS completed
// the deployment Deploy returned, and the reads before the first
// fraction of the rollout and in all.
func deployAndMeasure(t *testing.T, e *deployEnv, first float64) (late time.Duration, early, reads int) {
	t.Helper()
	began := e.clock.Now()
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	end := e.clock.Now()
	out := e.srv.Requests()
	for _, r := range out {
		if !r.Mutating() {
			reads++
		}
	}
	sd, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{res.ServiceDeploymentArn}})
	if err != nil || len(sd.ServiceDeployments) != 1 {
		t.Fatalf("describing service deployment: %v", err)
	}
	finished := aws.ToTime(sd.ServiceDeployments[0].FinishedAt)
	for _, r := range out {
		if !r.Mutating() && r.SimTime.Before(began.Add(time.Duration(first*float64(finished.Sub(began))))) {
			early++
		}
	}
	return end.Sub(finished), early, reads
}

// TestWaitExpectsEndFromHistory: a service whose deployments take 40 s is
// deployed again, read through 3 s of propagation delay. Wait polls
// sparsely for most of the rollout, densely when the end is due, and
// notices it within 1.5 s without trusting a stale read.
func TestWaitExpectsEndFromHistory(t *testing.T) {
	b := ecssim.Behavior{StartDelay: 20 * time.Second, HealthyAfter: 10 * time.Second}
	e := historyEnv(t, 10*time.Second, []ecssim.Behavior{b, b, b}, b, ecssim.WithPropagationDelay(3*time.Second))
	late, early, reads := deployAndMeasure(t, e, 0.8)
	t.Logf("noticed %v late; %d reads in the first 80%% of the rollout, %d in all", late, early, reads)
	if late > 1500*time.Millisecond || late < 0 {
		t.Errorf("completion noticed %v late", late)
	}
	if early > 6 || reads > 14 {
		t.Errorf("%d reads in the first 80%% of the rollout, %d in all", early, reads)
	}
}

// TestWaitOutlastsItsHistory: deployments that took 12 s, then one that
// takes over a minute: Wait follows it past the history's window and
// notices its end within 2 s.
func TestWaitOutlastsItsHistory(t *testing.T) {
	fast := ecssim.Behavior{StartDelay: 2 * time.Second}
	slow := ecssim.Behavior{StartDelay: 60 * time.Second, HealthyAfter: 5 * time.Second}
	e := historyEnv(t, 10*time.Second, []ecssim.Behavior{fast, fast, fast}, slow)
	late, _, reads := deployAndMeasure(t, e, 1)
	t.Logf("noticed %v late; %d reads", late, reads)
	if late > 2*time.Second {
		t.Errorf("completion noticed %v late", late)
	}
}

// TestWaitEndsBeforeItsHistory: deployments that took 70 s, then one that
// takes 12 s: Wait notices its end within its sparse interval.
func TestWaitEndsBeforeItsHistory(t *testing.T) {
	slow := ecssim.Behavior{StartDelay: 60 * time.Second}
	fast := ecssim.Behavior{StartDelay: 2 * time.Second}
	e := historyEnv(t, 10*time.Second, []ecssim.Behavior{slow, slow, slow}, fast)
	late, _, reads := deployAndMeasure(t, e, 1)
	t.Logf("noticed %v late; %d reads", late, reads)
	if late > 9*time.Second {
		t.Errorf("completion noticed %v late", late)
	}
}

// TestWaitFirstDeployFollowsTheDrain: a service's first deployment (no
// history) whose new tasks are healthy within 10 s, then the old ones
// drain for 20 s. Once ECS stops the old tasks Wait polls the service
// deployment about every 1.7 s: it notices the end within 2 s, with fewer
// reads than one a second.
func TestWaitFirstDeployFollowsTheDrain(t *testing.T) {
	e := historyEnv(t, 20*time.Second, nil, ecssim.Behavior{StartDelay: 5 * time.Second, HealthyAfter: 5 * time.Second})
	late, _, reads := deployAndMeasure(t, e, 1)
	t.Logf("noticed %v late; %d reads", late, reads)
	if late > 2*time.Second || late < 0 {
		t.Errorf("completion noticed %v late", late)
	}
	// Deploy's read, ListServiceDeployments, about 6 polls until the old
	// tasks stop, 12 while they drain, 5 for the timeline.
	if reads > 25 {
		t.Errorf("%d reads", reads)
	}
}

package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// The benchmarks run Deploy against ecssim on a manual clock that only
// Wait's sleeps move, so every figure is in simulated seconds, which equal
// real seconds of a real deployment minus the API round trips (tens of
// milliseconds each), which take no simulated time here. The wall-clock
// ns/op only measures the simulator and the SDK.

// serviceDeployment reads a service deployment.
func serviceDeployment(b *testing.B, e *deployEnv, arn string) types.ServiceDeployment {
	b.Helper()
	out, err := e.ecs.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		b.Fatalf("describing service deployment %s: %v", arn, err)
	}
	return out.ServiceDeployments[0]
}

// readsBetween counts the non-mutating ECS calls logged in [from, to] of
// simulated time.
func readsBetween(e *deployEnv, from, to time.Time) (reads, polls int) {
	for _, r := range e.srv.Requests() {
		if r.SimTime.Before(from) || r.SimTime.After(to) || r.Mutating() {
			continue
		}
		reads++
		if r.Operation == "DescribeServices" {
			polls++
		}
	}
	return reads, polls
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkDeployDetection deploys to a service whose new tasks take
// 1-2 min to start and 2.5-3.5 min to pass health checks, and whose old tasks
// drain for 30-90 s (a load balancer's deregistration delay) or 0-10 s:
// deployments of about four to five minutes. It reports how long after ECS
// completed the deployment Deploy returned (median and 90th percentile)
// and how many read calls (Describe* and List*) and DescribeServices polls
// Wait made per 2 s of deployment.
func BenchmarkDeployDetection(b *testing.B) {
	for _, c := range []struct {
		name       string
		drain, add time.Duration
	}{{"drain=30-90s", 30 * time.Second, time.Minute}, {"drain=0-10s", 0, 10 * time.Second}} {
		b.Run(c.name, func(b *testing.B) {
			benchmarkDetection(b, ecssim.Behavior{
				StartDelay:   time.Minute + rand.N(time.Minute),
				HealthyAfter: 150*time.Second + rand.N(time.Minute),
				DrainDelay:   c.drain + rand.N(c.add),
			})
		})
	}
}

func benchmarkDetection(b *testing.B, behavior ecssim.Behavior) {
	var detect, took []time.Duration
	var reads, polls int
	var span time.Duration
	for range b.N {
		b.StopTimer()
		e := newDeployEnv(b, nil)
		e.srv.SetBehavior("registry.example.com/web:v2", behavior)
		began := e.clock.Now()
		b.StartTimer()
		res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: simClock{e.clock}}})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		end := e.clock.Now()
		sd := serviceDeployment(b, e, res.ServiceDeploymentArn)
		finished := aws.ToTime(sd.FinishedAt)
		detect = append(detect, end.Sub(finished))
		took = append(took, finished.Sub(began))
		r, p := readsBetween(e, began, end)
		reads, polls, span = reads+r, polls+p, span+end.Sub(began)
	}
	b.ReportMetric(percentile(detect, 0.5).Seconds(), "median-detect-s")
	b.ReportMetric(percentile(detect, 0.9).Seconds(), "p90-detect-s")
	b.ReportMetric(float64(reads)/span.Seconds()*2, "reads/2s")
	b.ReportMetric(float64(polls)/span.Seconds()*2, "polls/2s")
	b.ReportMetric(percentile(took, 0.5).Minutes(), "median-deploy-min")
}

// BenchmarkDeployFailureDetection deploys tasks that start in 10-70 s and
// fail their health checks 20-120 s later, so the circuit breaker rolls
// back after three failures. It reports the time from the start of the
// rollback (the service deployment's rollback.startedAt) to Deploy
// returning the error, which must quote the stopped tasks' reason.
func BenchmarkDeployFailureDetection(b *testing.B) {
	var detect []time.Duration
	for range b.N {
		b.StopTimer()
		e := newDeployEnv(b, nil)
		fail := ecssim.FailsHealthChecks(20*time.Second + rand.N(100*time.Second))
		fail.StartDelay = 10*time.Second + rand.N(time.Minute)
		e.srv.SetBehavior("registry.example.com/web:v2", fail)
		b.StartTimer()
		res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: simClock{e.clock}}})
		b.StopTimer()
		if err == nil || !strings.Contains(err.Error(), "Task failed ELB health checks") || !strings.Contains(err.Error(), "service runs web:1") {
			b.Fatalf("Deploy: %v", err)
		}
		sd := serviceDeployment(b, e, res.ServiceDeploymentArn)
		if sd.Rollback == nil {
			b.Fatalf("service deployment %s has no rollback", res.ServiceDeploymentArn)
		}
		detect = append(detect, e.clock.Now().Sub(aws.ToTime(sd.Rollback.StartedAt)))
	}
	b.ReportMetric(percentile(detect, 0.5).Seconds(), "median-detect-s")
	b.ReportMetric(percentile(detect, 1).Seconds(), "max-detect-s")
}

// shape is a timeline a 30 s rollout can take, drawn afresh for each
// deployment.
type shape struct {
	name string
	// behavior draws the new tasks' behaviour.
	behavior func() ecssim.Behavior
	// drain draws how long the old tasks take to stop.
	drain func() time.Duration
	// lag is the simulator's propagation delay (eventually consistent
	// DescribeServices).
	lag time.Duration
}

// around returns d ±20%.
func around(d time.Duration) time.Duration { return d*8/10 + rand.N(d*4/10+1) }

func fixed(d time.Duration) func() time.Duration { return func() time.Duration { return around(d) } }

var shapes = []shape{
	// The new tasks run and are healthy well before the end; old tasks
	// drain for the last ~10 s: the counts lead the end.
	{name: "counts-lead", drain: fixed(10 * time.Second), behavior: func() ecssim.Behavior {
		return ecssim.Behavior{StartDelay: around(8 * time.Second), HealthyAfter: around(10 * time.Second)}
	}},
	// Tasks become RUNNING (and healthy) spread over the window and old
	// ones stop at once: the last old task stops as the deployment
	// completes.
	{name: "counts-coincide", drain: fixed(0), behavior: func() ecssim.Behavior {
		return ecssim.Behavior{StartDelay: around(5 * time.Second), StartSpread: around(25 * time.Second)}
	}},
	// Every task change is over in ~5 s; then a long drain.
	{name: "long-drain", drain: fixed(25 * time.Second), behavior: func() ecssim.Behavior {
		return ecssim.Behavior{StartDelay: around(3 * time.Second), HealthyAfter: around(2 * time.Second)}
	}},
	// Tasks run at once, then health checks take most of the window.
	{name: "slow-health", drain: fixed(2 * time.Second), behavior: func() ecssim.Behavior {
		return ecssim.Behavior{StartDelay: around(3 * time.Second), HealthyAfter: around(25 * time.Second)}
	}},
	// counts-lead, read through up to 3 s of propagation delay.
	{name: "jittered-propagation", lag: 3 * time.Second, drain: fixed(10 * time.Second), behavior: func() ecssim.Behavior {
		return ecssim.Behavior{StartDelay: around(8 * time.Second), HealthyAfter: around(10 * time.Second)}
	}},
}

// historyDeploys is how many deployments of the same shape a service has
// had before the measured one in the "history" runs: a service deployed
// from a pipeline has many, all replacing tasks as the measured one does.
const historyDeploys = 5

// shapeEnv makes a service (its creation is the first service deployment),
// deploys it history times with the shape s, days apart, and returns it
// ready for one more deployment of s with e.cfg. Each revision's tasks
// drain, when replaced, as s.drain draws.
func shapeEnv(b *testing.B, s shape, history int) *deployEnv {
	b.Helper()
	opts := []ecssim.Option{ecssim.WithBehavior("registry.example.com/web:v1", ecssim.Behavior{DrainDelay: s.drain()})}
	if s.lag > 0 {
		opts = append(opts, ecssim.WithPropagationDelay(s.lag))
	}
	e := newDeployEnv(b, nil, opts...)
	for v := 2; ; v++ {
		image := fmt.Sprintf("registry.example.com/web:v%d", v)
		beh := s.behavior()
		beh.DrainDelay = s.drain()
		e.srv.SetBehavior(image, beh)
		e.cfg = loadDeployConfig(b, nil, map[string]string{"IMAGE": image})
		if v == history+2 {
			e.srv.ResetRequests()
			return e
		}
		if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: simClock{e.clock}, Timeout: time.Hour}}); err != nil {
			b.Fatalf("deploy %d of the history: %v", v-1, err)
		}
		e.clock.Advance(24 * time.Hour)
	}
}

// BenchmarkDeployDetectionShapes deploys 30 s rollouts of each shape, and
// of a random mix of them, and reports how long after ECS completed the
// deployment Deploy returned (median, 90th percentile) and the read calls
// (Describe*, List*) per deploy (median, 90th percentile): the deploy's
// own, to the end of its wait (the Markdown timeline, read after the end
// in 5 more calls, is left out here: NoTimeline). The
// "history" runs deploy a service that was deployed historyDeploys times
// before with the same shape; the "first-deploy" runs deploy a service
// for the first time since it was created.
func BenchmarkDeployDetectionShapes(b *testing.B) {
	for _, run := range []struct {
		name    string
		history int
	}{{"history", historyDeploys}, {"first-deploy", 0}} {
		for _, sh := range append(slices.Clone(shapes), shape{name: "mix"}) {
			b.Run(run.name+"/"+sh.name, func(b *testing.B) {
				var detect, took []time.Duration
				var reads []float64
				for range b.N {
					s := sh
					if s.name == "mix" {
						s = shapes[rand.N(len(shapes))]
					}
					b.StopTimer()
					e := shapeEnv(b, s, run.history)
					began := e.clock.Now()
					b.StartTimer()
					res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoTimeline: true, Wait: pipeline.WaitOptions{Clock: simClock{e.clock}}})
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					end := e.clock.Now()
					r, _ := readsBetween(e, began, end)
					reads = append(reads, float64(r))
					finished := aws.ToTime(serviceDeployment(b, e, res.ServiceDeploymentArn).FinishedAt)
					detect = append(detect, end.Sub(finished))
					took = append(took, finished.Sub(began))
				}
				slices.Sort(reads)
				b.ReportMetric(percentile(detect, 0.5).Seconds(), "median-detect-s")
				b.ReportMetric(percentile(detect, 0.9).Seconds(), "p90-detect-s")
				b.ReportMetric(reads[len(reads)/2], "median-reads")
				b.ReportMetric(reads[int(float64(len(reads)-1)*0.9)], "p90-reads")
				b.ReportMetric(percentile(took, 0.5).Seconds(), "median-rollout-s")
			})
		}
	}
}

// BenchmarkDeployLongRollout deploys 10-minute rollouts (tasks start in
// about 2 min, pass health checks about 6 min later, old ones drain for
// about 2 min), with and without history, and reports the read calls per
// minute of deployment and the detection delay.
func BenchmarkDeployLongRollout(b *testing.B) {
	long := shape{name: "long", drain: fixed(2 * time.Minute), behavior: func() ecssim.Behavior {
		return ecssim.Behavior{StartDelay: around(2 * time.Minute), HealthyAfter: around(6 * time.Minute)}
	}}
	for _, run := range []struct {
		name    string
		history int
	}{{"history", historyDeploys}, {"first-deploy", 0}} {
		b.Run(run.name, func(b *testing.B) {
			var detect, took []time.Duration
			var perMin []float64
			for range b.N {
				b.StopTimer()
				e := shapeEnv(b, long, run.history)
				began := e.clock.Now()
				b.StartTimer()
				res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: simClock{e.clock}, Timeout: time.Hour}})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				end := e.clock.Now()
				finished := aws.ToTime(serviceDeployment(b, e, res.ServiceDeploymentArn).FinishedAt)
				detect = append(detect, end.Sub(finished))
				took = append(took, finished.Sub(began))
				r, _ := readsBetween(e, began, end)
				perMin = append(perMin, float64(r)/end.Sub(began).Minutes())
			}
			slices.Sort(perMin)
			b.ReportMetric(percentile(detect, 0.5).Seconds(), "median-detect-s")
			b.ReportMetric(percentile(detect, 0.9).Seconds(), "p90-detect-s")
			b.ReportMetric(perMin[len(perMin)/2], "median-reads/min")
			b.ReportMetric(perMin[len(perMin)-1], "max-reads/min")
			b.ReportMetric(percentile(took, 0.5).Minutes(), "median-rollout-min")
		})
	}
}

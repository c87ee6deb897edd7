package pipeline_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// BenchmarkRunReturn measures, on the simulator's clock, how long Run
// takes to return after its one-off task stopped (the median of 10 runs
// lasting 5s to 122s, so that the stop falls at different points of the
// polling) and how many read calls (Describe*, List*, Get*) it makes per
// minute between RunTask and its return. The reads include the trace's
// once the task stopped.
//
//	go test -run '^$' -bench BenchmarkRunReturn -benchtime 1x ./pipeline/
func BenchmarkRunReturn(b *testing.B) {
	e := newTraceEnv(b)
	for b.Loop() {
		var lags []time.Duration
		var reads, describeTasks int
		var waited time.Duration
		for i := range 10 {
			cmd := []string{"job", fmt.Sprint(i)}
			lines := make([]string, 5+13*i) // a line a second: runs 5s to 122s
			for j := range lines {
				lines[j] = fmt.Sprintf("step %d", j)
			}
			e.srv.SetBehavior(ecssim.CommandKey(cmd...), ecssim.ExitsWithLogs(0, lines...))
			e.srv.ResetRequests()
			res, err := pipeline.Run(e.ctx, e.ecs, e.logs, e.cfg, pipeline.RunOptions{
				SkipTaskDefinition: true, Command: cmd, Clock: simClock{e.clock},
			})
			if err != nil {
				b.Fatal(err)
			}
			returned := e.clock.Now()
			lags = append(lags, returned.Sub(res.Tasks[0].StoppedAt))
			var started time.Time
			for _, r := range e.srv.Requests() {
				switch {
				case r.Operation == "RunTask":
					started = r.SimTime
				case !started.IsZero() && !r.Mutating():
					reads++
					if r.Operation == "DescribeTasks" {
						describeTasks++
					}
				}
			}
			waited += returned.Sub(started)
			e.clock.Advance(time.Minute) // the next run starts at a different phase
		}
		slices.Sort(lags)
		b.ReportMetric((lags[4]+lags[5]).Seconds()/2, "median-stop-to-return-s")
		b.ReportMetric(lags[9].Seconds(), "max-stop-to-return-s")
		b.ReportMetric(float64(reads)/waited.Minutes(), "reads/min")
		b.ReportMetric(float64(describeTasks)/waited.Minutes(), "DescribeTasks/min")
	}
}

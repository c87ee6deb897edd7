package pipeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// BenchmarkDeployServices deploys one image to 1, 10 and 50 services of
// one cluster (each the same rollout: two tasks, healthy defaults) on the
// simulator at manyScale, and reports the simulated time of the whole
// call and the describe-like calls (Describe*) it sent, against the
// single-service reads its waits asked for. Run it with -benchtime=1x.
func BenchmarkDeployServices(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				e := newManyEnv(b, n)
				b.StartTimer()
				res, err := pipeline.DeployServices(e.ctx, e.ecs, e.cfgs, e.opts())
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				describes := 0
				for _, r := range e.srv.Requests() {
					if strings.HasPrefix(r.Operation, "Describe") {
						describes++
					}
				}
				st := res.Batch
				b.ReportMetric(res.Elapsed.Seconds(), "sim-s")
				b.ReportMetric(float64(describes), "describe-calls")
				b.ReportMetric(float64(st.DescribeServicesCalls), "DescribeServices")
				b.ReportMetric(float64(st.DescribeServicesAsked), "services-reads")
				b.ReportMetric(float64(st.DescribeServiceDeploymentsCalls), "DescribeServiceDeployments")
				b.ReportMetric(float64(st.DescribeServiceDeploymentsAsked), "sd-reads")
			}
		})
	}
}

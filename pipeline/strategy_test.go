package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestDeployRefusesNativeStrategies: a deployment strategy other than
// ROLLING, set by the service or by the service definition, is refused
// before anything changes, naming the strategy: Wait would follow it as a
// rolling update and misreport it.
func TestDeployRefusesNativeStrategies(t *testing.T) {
	for _, c := range []struct {
		name       string
		service    types.DeploymentStrategy // set on the running service
		definition types.DeploymentStrategy // set in the service definition
		want       string
	}{
		{"service BLUE_GREEN", types.DeploymentStrategyBlueGreen, "", "BLUE_GREEN"},
		{"service LINEAR", types.DeploymentStrategyLinear, "", "LINEAR"},
		{"definition CANARY", "", types.DeploymentStrategyCanary, "CANARY"},
		{"definition BLUE_GREEN over a ROLLING service", types.DeploymentStrategyRolling, types.DeploymentStrategyBlueGreen, "BLUE_GREEN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newDeployEnv(t, nil)
			if c.service != "" {
				if _, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{
					Cluster: aws.String("prod"), Service: aws.String("web"),
					DeploymentConfiguration: &types.DeploymentConfiguration{Strategy: c.service},
				}); err != nil {
					t.Fatal(err)
				}
			}
			cfg := *e.cfg
			if c.definition != "" {
				path := filepath.Join(t.TempDir(), "service-def.jsonnet")
				src := "(import '" + e.cfg.ServiceDefinition + "') + { deploymentConfiguration+: { strategy: '" + string(c.definition) + "' } }"
				if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				cfg.ServiceDefinition = path
			}
			e.srv.ResetRequests()
			_, err := pipeline.Deploy(e.ctx, e.ecs, &cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
			if err == nil || !strings.Contains(err.Error(), c.want+" deployment strategy") || !strings.Contains(err.Error(), "only ROLLING") {
				t.Fatalf("Deploy: %v, want a refusal naming %s", err, c.want)
			}
			if m := e.mutating(); len(m) != 0 {
				t.Errorf("a refused deploy called %v", m)
			}
		})
	}
}

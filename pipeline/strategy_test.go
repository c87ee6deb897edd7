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

// TestDeployFollowsNativeStrategies: a BLUE_GREEN, LINEAR or CANARY
// strategy, set by the service or by the service definition, is no longer
// refused: Deploy updates the service and follows the deployment by its
// service deployment to SUCCESSFUL. (The simulator reports no lifecycle
// stages yet; lifecycle_test.go scripts them.)
func TestDeployFollowsNativeStrategies(t *testing.T) {
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
		{"ROLLING", "", "", "ROLLING"},
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
			cfg := withStrategy(t, e, c.definition)
			e.srv.ResetRequests()
			res, err := pipeline.Deploy(e.ctx, e.ecs, cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
			if err != nil {
				t.Fatalf("Deploy: %v", err)
			}
			if res.Outcome != pipeline.OutcomeSucceeded || res.Wait == nil || res.Wait.Strategy != c.want {
				t.Fatalf("Deploy: outcome %s, wait %+v; want SUCCEEDED followed as %s", res.Outcome, res.Wait, c.want)
			}
			if n := len(e.calls("UpdateService")); n != 1 {
				t.Errorf("%d UpdateService calls, want 1", n)
			}
		})
	}
}

// withStrategy returns e's config with a service definition that sets
// strategy, or e's config when strategy is empty.
func withStrategy(t *testing.T, e *deployEnv, strategy types.DeploymentStrategy) *pipeline.Config {
	t.Helper()
	cfg := *e.cfg
	if strategy != "" {
		path := filepath.Join(t.TempDir(), "service-def.jsonnet")
		src := "(import '" + e.cfg.ServiceDefinition + "') + { deploymentConfiguration+: { strategy: '" + string(strategy) + "' } }"
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

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestDeployBlueGreen deploys, through dagger call, a service that uses
// ECS's own blue/green strategy: --wait-until ecs:BAKE_TIME returns with
// the deployment still baking, and the summary shows the stages passed;
// then a release deployed while the service's alarm is in ALARM is rolled
// back to blue, and the call fails naming the alarm.
func TestDeployBlueGreen(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	path := filepath.Join(app, "ecs-service-def.jsonnet")
	def, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(def), "maximumPercent: 200,",
		"maximumPercent: 200,\n    strategy: 'BLUE_GREEN',\n    bakeTimeInMinutes: 2,\n"+
			"    alarms: { alarmNames: ['hello-5xx'], enable: true, rollback: true },", 1))

	const v2 = "registry.invalid/hello:v2@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	r := daggerCall(t, append(s.args(app), "service", "--image", v2, "deploy", "--wait-until", "ecs:BAKE_TIME", "summary")...)
	if r.err != nil {
		t.Fatalf("deploy until BAKE_TIME: %v\n%s", r.err, tail(r.all(), 40))
	}
	for _, want := range []string{"BLUE_GREEN", "BAKE_TIME", "SCALE_UP"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the summary does not show %s:\n%s", want, r.stdout)
		}
	}
	sd := latestServiceDeployment(t, s)
	if sd.Status != types.ServiceDeploymentStatusInProgress && sd.Status != types.ServiceDeploymentStatusSuccessful {
		t.Errorf("after the wait until BAKE_TIME the service deployment is %s", sd.Status)
	}
	s.waitFor(t, "hello:2")

	const v3 = "registry.invalid/hello:v3@sha256:3333333333333333333333333333333333333333333333333333333333333333"
	if err := s.sim.SetAlarmState("hello-5xx", ecssim.AlarmAlarm); err != nil {
		t.Fatal(err)
	}
	r = daggerCall(t, append(s.args(app), "service", "--image", v3, "deploy", "summary")...)
	if r.err == nil {
		t.Fatalf("a deploy rolled back by an alarm succeeded:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{"hello-5xx", "rolled back", "hello:2"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failed deploy does not say %q:\n%s", want, tail(r.stderr, 40))
		}
	}
	if sd := latestServiceDeployment(t, s); sd.Status != types.ServiceDeploymentStatusRollbackSuccessful {
		t.Errorf("the alarmed deployment ended %s, want ROLLBACK_SUCCESSFUL", sd.Status)
	}
	s.waitFor(t, "hello:2")
	assertNoSecrets(t, r)
}

// latestServiceDeployment is the service's newest service deployment.
func latestServiceDeployment(t *testing.T, s *ecsStandIns) types.ServiceDeployment {
	t.Helper()
	ctx := context.Background()
	list, err := s.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("hello")})
	if err != nil || len(list.ServiceDeployments) == 0 {
		t.Fatalf("listing service deployments: %v", err)
	}
	out, err := s.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{aws.ToString(list.ServiceDeployments[0].ServiceDeploymentArn)},
	})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("describing the newest service deployment: %v", err)
	}
	return out.ServiceDeployments[0]
}

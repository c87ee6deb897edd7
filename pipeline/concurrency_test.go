package pipeline_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestDeployTwiceAtOnce runs a second deploy of the same service (web:3)
// while the first (web:2) is being waited for, from one process. ECS lets
// the second UpdateService replace the first deployment: the first deploy
// must end with ErrDeploymentStopped saying a newer deployment replaced
// it, never success; the second succeeds. Each made one UpdateService.
func TestDeployTwiceAtOnce(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: time.Minute})
	second := loadDeployConfig(t, nil, map[string]string{"IMAGE": "registry.example.com/web:v3"})

	type outcome struct {
		res *pipeline.DeployResult
		err error
	}
	var wg sync.WaitGroup
	var b outcome
	// The second deploy starts once the first is waiting, so which
	// UpdateService comes second is known; then both run at once.
	events := &faultsOnFirstEvent{inject: func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.res, b.err = pipeline.Deploy(e.ctx, e.ecs, second, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
		}()
		// Hold the first deploy's waiter (it sleeps on the shared
		// simulated clock, moving it on) until the second UpdateService
		// landed; otherwise, on a loaded machine, web:2 could complete
		// before it and the first deploy rightly succeed.
		for deadline := time.Now().Add(30 * time.Second); len(e.calls("UpdateService")) < 2 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}}
	var a outcome
	a.res, a.err = pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: simClock{e.clock}, Events: events}})
	wg.Wait()

	t.Logf("first: %v", a.err)
	t.Logf("second: %v", b.err)
	if b.err != nil || b.res.Outcome != pipeline.OutcomeSucceeded || !strings.HasSuffix(b.res.TaskDefinitionArn, "web:3") {
		t.Fatalf("second deploy: %v, %+v; want web:3 SUCCEEDED", b.err, b.res)
	}
	var de *pipeline.DeploymentError
	if !errors.As(a.err, &de) || !errors.Is(a.err, pipeline.ErrDeploymentStopped) {
		t.Fatalf("first deploy: %v, want ErrDeploymentStopped", a.err)
	}
	if a.res == nil || a.res.Outcome != pipeline.OutcomeStopped {
		t.Errorf("first deploy's result %+v, want STOPPED", a.res)
	}
	for _, want := range []string{
		"(web:2) of service \"web\" was stopped (service deployment STOPPED)",
		"A newer service deployment replaced this one",
		fmt.Sprintf("deployment %s (web:3) is now PRIMARY", b.res.DeploymentID),
		"service runs web:3",
	} {
		if !strings.Contains(a.err.Error(), want) {
			t.Errorf("first deploy's error %q lacks %q", a.err, want)
		}
	}
	if s := e.service(); !strings.HasSuffix(aws.ToString(s.TaskDefinition), "web:3") || len(s.Deployments) != 1 {
		t.Errorf("service runs %s with %d deployments, want web:3 alone", aws.ToString(s.TaskDefinition), len(s.Deployments))
	}
	updates := e.calls("UpdateService")
	if len(updates) != 2 || !strings.Contains(string(updates[0].Params), "web:2") || !strings.Contains(string(updates[1].Params), "web:3") {
		t.Errorf("UpdateService calls %v, want one for web:2, then one for web:3", updates)
	}
}

// TestDeployTenServicesInParallel deploys ten services of one cluster at
// once from one process while a fifth of the Describe and List calls are
// throttled: all succeed, none reports throttling, and each service got
// exactly one UpdateService.
func TestDeployTenServicesInParallel(t *testing.T) {
	e := newDeployEnv(t, nil)
	sd, err := e.cfg.RenderServiceDefinition(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 10 {
		name := fmt.Sprintf("api-%d", i)
		create, err := pipeline.ServiceDefinitionInput(sd)
		if err != nil {
			t.Fatal(err)
		}
		create.Cluster, create.ServiceName, create.TaskDefinition, create.DesiredCount = aws.String("prod"), aws.String(name), aws.String(e.v1), aws.Int32(2)
		if _, err := e.ecs.CreateService(e.ctx, create); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	e.clock.Advance(5 * time.Minute) // the first deployments complete
	// Long enough deployments that the waiters poll through the throttling.
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: 2 * time.Minute, HealthyAfter: 5 * time.Minute})
	e.srv.ResetRequests()
	for _, op := range []string{"DescribeServices", "DescribeServiceDeployments", "ListServiceDeployments", "ListTasks", "DescribeTasks"} {
		if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: op, Rate: 0.2}); err != nil {
			t.Fatal(err)
		}
	}

	results := make([]*pipeline.DeployResult, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		cfg := *e.cfg
		cfg.Service = name
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := e.waitOpts(nil)
			// Ten waiters advance one manual clock: time runs up to ten
			// times faster than each waiter's sleeps.
			opts.Timeout = time.Hour
			results[i], errs[i] = pipeline.Deploy(e.ctx, e.ecs, &cfg, pipeline.DeployOptions{Wait: opts})
		}()
	}
	wg.Wait()
	e.srv.ClearFaults()

	throttled, calls := 0, 0
	perService := map[string]int{}
	for _, r := range e.srv.Requests() {
		calls++
		if r.Fault == ecssim.FaultThrottle {
			throttled++
		}
		if r.Operation == "UpdateService" {
			var in struct{ Service string }
			if err := json.Unmarshal(r.Params, &in); err != nil {
				t.Fatal(err)
			}
			perService[in.Service]++
		}
	}
	for i, name := range names {
		if errs[i] != nil {
			t.Errorf("%s: %v", name, errs[i])
			continue
		}
		if results[i].Outcome != pipeline.OutcomeSucceeded {
			t.Errorf("%s: outcome %s", name, results[i].Outcome)
		}
		if perService[name] != 1 {
			t.Errorf("%s: %d UpdateService calls, want 1", name, perService[name])
		}
		out, err := e.ecs.DescribeServices(e.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{name}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("describing %s: %v", name, err)
		}
		s := out.Services[0]
		if aws.ToString(s.TaskDefinition) != results[i].TaskDefinitionArn || len(s.Deployments) != 1 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
			t.Errorf("%s runs %s with %d deployments, deployed %s", name, aws.ToString(s.TaskDefinition), len(s.Deployments), results[i].TaskDefinitionArn)
		}
	}
	if throttled < 20 {
		t.Errorf("only %d of %d calls were throttled; the test means many", throttled, calls)
	}
	t.Logf("%d of %d calls throttled over ten deploys", throttled, calls)
}

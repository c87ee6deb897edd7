package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/internal/registryserver"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

// simTimeScale runs the simulated ECS 20 times faster than real time: a
// rolling deployment of about 40 simulated seconds takes 2 real ones.
const simTimeScale = 20

// ecsStandIns is one AWS endpoint for a whole pipeline: the ECS simulator,
// passing every other service (ECR, STS, ...) to moto, and a registry that
// accepts moto's ECR token. Cluster prod runs service hello on hello:1.
type ecsStandIns struct {
	sim   *ecssimtest.Server
	scale float64 // simulated seconds per real one
	ecs   *ecs.Client
	reg   *registryserver.Registry
	// front (host:port) serves the simulator and, under /v2/, the
	// registry: one address for --endpoint and --registry-endpoint, so a
	// dagger call starts one host tunnel for both, not two (the CLI starts
	// each tunnel argument in turn, about 0.4 s each).
	front string
}

// startECSStandIns starts them; opts come after the defaults (cluster
// prod, time scale simTimeScale), so they may override them.
func startECSStandIns(t testing.TB, opts ...ecssim.Option) *ecsStandIns {
	t.Helper()
	moto := motoserver.Start(t)
	upstream, err := url.Parse(moto)
	if err != nil {
		t.Fatal(err)
	}
	s := &ecsStandIns{
		sim: ecssimtest.NewServer(t, append([]ecssim.Option{ecssim.WithUpstream(upstream), ecssim.WithCluster("prod"), ecssim.WithTimeScale(simTimeScale)}, opts...)...),
		reg: registryserver.Start(t, "AWS", ecrToken(t, moto)),
	}
	s.front = front(t, s.sim.Simulator, s.reg)
	if s.scale = simTimeScale; len(opts) > 0 {
		s.scale = measureScale(s.sim.Simulator)
	}
	s.ecs = s.sim.ECSClient()
	ctx := context.Background()
	_, err = s.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("hello"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:             aws.String("app"),
			Image:            aws.String("registry.invalid/hello:v0@sha256:" + strings.Repeat("0", 64)),
			LogConfiguration: awslogs("/ecs/app"), // as the starter kit's
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("hello"), TaskDefinition: aws.String("hello:1"),
		DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "hello:1")
	s.sim.ResetRequests()
	return s
}

// front serves sim, and the registry under /v2/, on one loopback address.
// The registry sees the Host the client asked for, as behind a load
// balancer.
func front(t testing.TB, sim http.Handler, reg *registryserver.Registry) string {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: reg.Host}
	registry := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/") {
			registry.ServeHTTP(w, r)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// awslogs sends a container's output to group, in streams
// app/CONTAINER/TASK_ID.
func awslogs(group string) *types.LogConfiguration {
	return &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
		"awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app",
	}}
}

// args are the constructor arguments that send every AWS call to the
// simulator and every push to the registry, both through the front.
func (s *ecsStandIns) args(source string) []string {
	return append([]string{"--source", source, "--registry-endpoint", "tcp://" + s.front}, awsArgs("http://"+s.front)...)
}

// service describes service hello.
func (s *ecsStandIns) service(t testing.TB) types.Service {
	t.Helper()
	out, err := s.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"hello"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describing service hello: %v", err)
	}
	return out.Services[0]
}

// waitFor waits until the service runs only the revision, completed.
func (s *ecsStandIns) waitFor(t testing.TB, revision string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		svc := s.service(t)
		if len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
			strings.HasSuffix(aws.ToString(svc.TaskDefinition), ":task-definition/"+revision) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("service hello did not settle on %s: runs %s", revision, aws.ToString(svc.TaskDefinition))
		}
	}
}

// mutating lists the mutating ECS calls the simulator received.
func (s *ecsStandIns) mutating() []string {
	var ops []string
	for _, r := range s.sim.Requests() {
		if r.Mutating() {
			ops = append(ops, r.Operation)
		}
	}
	return ops
}

// updates counts the UpdateService calls the simulator received.
func (s *ecsStandIns) updates() int {
	n := 0
	for _, r := range s.sim.Requests() {
		if r.Operation == "UpdateService" {
			n++
		}
	}
	return n
}

// image is the image of container app in a revision.
func (s *ecsStandIns) image(t testing.TB, revision string) string {
	t.Helper()
	out, err := s.ecs.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(revision)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.ContainerDefinitions[0].Image)
}

// TestShip ships the sample app to the simulated ECS service, then ships a
// release whose tasks fail their health checks, rolls back, deploys without
// waiting, and ships again with nothing changed.
func TestShip(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	repo := s.reg.Host + "/hello"
	ship := append(s.args(app), "ship", "--repository", repo, "summary")

	// 0. A config that names a cluster that does not exist (a missing
	// service deploy would create, as ecspresso's does; never a missing
	// cluster's): ship stops before it pushes or registers anything.
	config, err := os.ReadFile(filepath.Join(app, "ecspresso.yml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(app, "ecspresso-missing.yml"), strings.Replace(string(config), "cluster: prod", "cluster: nope", 1))
	r := daggerCall(t, append(s.args(app), "ship", "--repository", repo, "--config", "ecspresso-missing.yml", "summary")...)
	if r.err == nil || !strings.Contains(r.stderr, `service "hello" not found in cluster "nope"`) {
		t.Fatalf("ship to a missing cluster: %v, want an error naming it\n%s", r.err, tail(r.stderr, 20))
	}
	if catalog, err := s.reg.Get("/v2/_catalog"); err != nil || strings.Contains(string(catalog), "hello") {
		t.Errorf("ship to a missing cluster pushed an image: %s (%v)", catalog, err)
	}
	if m := s.mutating(); len(m) != 0 {
		t.Errorf("ship to a missing cluster made mutating ECS calls: %v", m)
	}

	// 1. A healthy release.
	r = daggerCall(t, ship...)
	if r.err != nil {
		t.Fatalf("ship: %v\n%s", r.err, tail(r.all(), 60))
	}
	assertNoSecrets(t, r)
	s.waitFor(t, "hello:2")
	published := regexp.MustCompile(`published (\S+@sha256:[0-9a-f]{64})`).FindStringSubmatch(r.stderr)
	if published == nil {
		t.Fatalf("ship did not say what it published:\n%s", tail(r.all(), 40))
	}
	if got := s.image(t, "hello:2"); got != published[1] {
		t.Errorf("hello:2 runs %s, want the published %s", got, published[1])
	}
	if digest, err := s.reg.ManifestDigest("hello", published[1][strings.LastIndex(published[1], "@")+1:]); err != nil || digest == "" {
		t.Errorf("the registry does not serve %s: %v", published[1], err)
	}
	for _, want := range []string{"SUCCEEDED", "hello:2"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("ship's result does not say %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "has reached a steady state") {
		t.Errorf("ship did not show the service's events:\n%s", tail(r.stderr, 40))
	}
	if n := s.updates(); n != 1 {
		t.Errorf("ship made %d UpdateService calls, want 1", n)
	}

	// 2. The same source again, but the new revision's tasks fail their
	// health checks: the circuit breaker rolls back and ship fails.
	s.sim.SetBehavior("hello:3", ecssim.FailsHealthChecks(20*time.Second))
	r = daggerCall(t, ship...)
	if r.err == nil {
		t.Fatalf("ship succeeded although ECS rolled the deployment back:\n%s", tail(r.all(), 40))
	}
	for _, want := range []string{"rolled back", "Task failed ELB health checks", "service runs hello:2"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the failed ship does not say %q:\n%s", want, tail(r.stderr, 30))
		}
	}
	if n := s.updates(); n != 2 {
		t.Errorf("after two ships the simulator saw %d UpdateService calls, want 2", n)
	}
	s.waitFor(t, "hello:2")

	// 3. Roll back to the revision before the running one.
	r = daggerCall(t, append(s.args(app), "service", "rollback")...)
	if r.err != nil || !strings.Contains(r.stdout, "hello:1") {
		t.Fatalf("rollback: %v\n%s", r.err, tail(r.all(), 30))
	}
	s.waitFor(t, "hello:1")

	// 4. Deploy the published image without waiting.
	r = daggerCall(t, append(s.args(app), "service", "--image", published[1], "deploy", "--no-wait", "outcome")...)
	if r.err != nil || r.out() != "STARTED" {
		t.Fatalf("deploy --no-wait: %v\n%s", r.err, tail(r.all(), 30))
	}
	s.waitFor(t, "hello:4")

	// 5. Ship again with nothing changed: the same image, deployed again.
	r = daggerCall(t, ship...)
	if r.err != nil {
		t.Fatalf("ship with nothing changed: %v\n%s", r.err, tail(r.all(), 40))
	}
	if again := regexp.MustCompile(`published (\S+)`).FindStringSubmatch(r.stderr); again == nil || again[1] != published[1] {
		t.Errorf("the unchanged source published %v, want %s", again, published[1])
	}
	s.waitFor(t, "hello:5")

	r = daggerCall(t, append(s.args(app), "service", "status")...)
	if r.err != nil || !strings.Contains(r.stdout, "hello:5") {
		t.Errorf("status: %v\n%s", r.err, tail(r.all(), 30))
	}
}

// TestConsumerModuleShips calls ship from another Dagger module that has
// this one as a dependency (testdata/consumer), as a team's own CI module
// would.
func TestConsumerModuleShips(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	r := daggerCallModule(t, filepath.Join(moduleRoot(t), "testdata", "consumer"), "ship-app",
		"--source", app, "--repository", s.reg.Host+"/hello", "--region", "us-east-1",
		"--aws-access-key-id", "env://E2E_AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env://E2E_AWS_SECRET_ACCESS_KEY",
		"--endpoint", "tcp://"+s.front, "--registry-endpoint", "tcp://"+s.front)
	if r.err != nil {
		t.Fatalf("the consumer module's ship-app: %v\n%s", r.err, tail(r.all(), 40))
	}
	if want := "SUCCEEDED arn:aws:ecs:us-east-1:123456789012:task-definition/hello:2"; r.out() != want {
		t.Errorf("ship-app printed %q, want %q", r.out(), want)
	}
	s.waitFor(t, "hello:2")
	assertNoSecrets(t, r)
}

// BenchmarkShip times ship on the sample app against the simulator and
// subtracts the simulator's own deployment time (UpdateService to the
// deployment completing, in real seconds). The first ship is logged apart:
// after `dagger core engine local-cache prune` it is the cold figure; every
// timed ship reruns with nothing changed, so all build and test steps are
// cached. The simulator runs in real time here, with tasks that start
// and pass health checks within seconds: deploy expects a deployment's
// end from the service's previous ones, by ECS's timestamps, which a
// faster simulated clock would put out of step with the wall clock.
//
// engine=pulled runs the engine image as a released module does, pulled
// by reference (published to a registry on 127.0.0.1 first);
// engine=source builds it from this source, as the module does until a
// release pins one.
//
//	go test ./e2e -run '^$' -bench BenchmarkShip -benchtime 5x -v
func BenchmarkShip(b *testing.B) {
	reg := registryserver.StartOpen(b)
	pushed := daggerCall(b, "engine", "publish", "--address", reg.Host+"/ecs-pipeline-engine:bench")
	if pushed.err != nil {
		b.Fatalf("engine publish: %v\n%s", pushed.err, tail(pushed.all(), 30))
	}
	b.Run("engine=pulled", func(b *testing.B) { benchShip(b, "--engine-image", pushed.out()) })
	b.Run("engine=source", func(b *testing.B) { benchShip(b) })
}

// benchShip is BenchmarkShip with the constructor's engine arguments.
func benchShip(b *testing.B, engine ...string) {
	s := startECSStandIns(b, ecssim.WithTimeScale(1),
		ecssim.WithDefaultBehavior(ecssim.Behavior{StartDelay: time.Second, HealthyAfter: time.Second, DrainDelay: time.Second}))
	app := initApp(b)
	ship := append(append(engine, s.args(app)...), "ship", "--repository", s.reg.Host+"/hello", "outcome")
	revision := 1
	run := func() (wall, deploy time.Duration) {
		before := len(s.sim.Requests())
		start := time.Now()
		if r := daggerCall(b, ship...); r.err != nil || r.out() != "SUCCEEDED" {
			b.Fatalf("ship: %v %q\n%s", r.err, r.out(), tail(r.all(), 30))
		}
		wall = time.Since(start)
		revision++
		return wall, s.deployTime(b, before, fmt.Sprintf("hello:%d", revision))
	}
	wall, deploy := run()
	b.Logf("first ship: %.1f s, of which the simulated deployment %.1f s", wall.Seconds(), deploy.Seconds())
	b.ResetTimer()
	var walls, deploys time.Duration
	for range b.N {
		wall, deploy := run()
		walls += wall
		deploys += deploy
	}
	b.ReportMetric(walls.Seconds()/float64(b.N), "ship-s/op")
	b.ReportMetric(deploys.Seconds()/float64(b.N), "sim-deploy-s/op")
	b.ReportMetric((walls-deploys).Seconds()/float64(b.N), "overhead-s/op")
}

// measureScale is the simulator's time scale: simulated time over wall
// time across a short sleep.
func measureScale(sim *ecssim.Simulator) float64 {
	t0, s0 := time.Now(), sim.Now()
	time.Sleep(50 * time.Millisecond)
	return float64(sim.Now().Sub(s0)) / float64(time.Since(t0))
}

// deployTime is how long, in real time, the simulator took from the
// UpdateService call logged after request index from to the deployment of
// revision completing.
func (s *ecsStandIns) deployTime(t testing.TB, from int, revision string) time.Duration {
	t.Helper()
	var update *ecssim.Request
	for _, r := range s.sim.Requests()[from:] {
		if r.Operation == "UpdateService" {
			update = &r
		}
	}
	if update == nil {
		t.Fatal("no UpdateService call")
	}
	for _, d := range s.service(t).Deployments {
		if strings.HasSuffix(aws.ToString(d.TaskDefinition), "/"+revision) && d.RolloutState == types.DeploymentRolloutStateCompleted {
			return time.Duration(float64(aws.ToTime(d.UpdatedAt).Sub(update.SimTime)) / s.scale)
		}
	}
	t.Fatalf("%s did not complete", revision)
	return 0
}

// TestShipUnderFaults ships while the simulated ECS throttles a third of
// the describe calls, answers 500 to some and resets connections and
// delays others: ship still succeeds, with one UpdateService. Then a
// deployment that never finishes ends the call at --timeout with an error
// that says so and names the revision the service runs.
func TestShipUnderFaults(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	app := initApp(t)
	for _, f := range []ecssim.Fault{
		{Kind: ecssim.FaultThrottle, Operation: "DescribeServices", Rate: 0.3},
		{Kind: ecssim.FaultServerError, Operation: "DescribeServices", Count: 2},
		{Kind: ecssim.FaultReset, Operation: "ListServiceDeployments", Count: 1},
		{Kind: ecssim.FaultLatency, Operation: "DescribeServices", Rate: 0.2, Latency: 2 * time.Second},
		{Kind: ecssim.FaultThrottle, Operation: "RegisterTaskDefinition", Count: 1},
	} {
		if err := s.sim.InjectFault(f); err != nil {
			t.Fatal(err)
		}
	}
	ship := append(s.args(app), "ship", "--repository", s.reg.Host+"/hello", "outcome")
	r := daggerCall(t, ship...)
	if r.err != nil || r.out() != "SUCCEEDED" {
		t.Fatalf("ship under faults: %v %q\n%s", r.err, r.out(), tail(r.all(), 30))
	}
	// The test's own reads are not under test: no faults for them.
	s.sim.ClearFaults()
	s.waitFor(t, "hello:2")
	if n := s.updates(); n != 1 {
		t.Errorf("ship under faults made %d UpdateService calls, want 1", n)
	}

	// Tasks that never become healthy, with the circuit breaker slower than
	// the timeout: the call ends at the timeout and says so.
	s.sim.SetBehavior("hello:3", ecssim.Behavior{StartDelay: time.Hour})
	r = daggerCall(t, append(ship[:len(ship)-1], "--timeout", "20s", "outcome")...)
	if r.err == nil {
		t.Fatalf("a deployment that never finishes was reported as %q", r.out())
	}
	for _, want := range []string{"did not finish in time", "0 of 2 tasks running, 2 pending", "service runs hello:3"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the timeout error does not say %q:\n%s", want, tail(r.stderr, 15))
		}
	}
	if n := s.updates(); n != 2 {
		t.Errorf("after two ships the simulator saw %d UpdateService calls, want 2", n)
	}
}

package ecssim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

func TestTaskDefinitions(t *testing.T) {
	e := newEnv(t)
	out, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("api"),
		NetworkMode:          types.NetworkModeAwsvpc,
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("api@sha256:abc"), PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80)}}}},
		EphemeralStorage:     &types.EphemeralStorage{SizeInGiB: 30},
		Tags:                 []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}},
	})
	if err != nil {
		t.Fatalf("registering: %v", err)
	}
	td := out.TaskDefinition
	if got := aws.ToString(td.TaskDefinitionArn); got != "arn:aws:ecs:us-east-1:123456789012:task-definition/api:1" {
		t.Errorf("ARN = %s", got)
	}
	if td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive || td.RegisteredAt == nil || !td.RegisteredAt.Equal(start) || len(td.Compatibilities) == 0 {
		t.Errorf("registered: revision %d status %s at %v compatibilities %v", td.Revision, td.Status, td.RegisteredAt, td.Compatibilities)
	}
	if td.EphemeralStorage == nil || td.EphemeralStorage.SizeInGiB != 30 {
		t.Errorf("ephemeralStorage lost: %+v", td.EphemeralStorage)
	}
	pm := td.ContainerDefinitions[0].PortMappings[0]
	if aws.ToInt32(pm.HostPort) != 80 || pm.Protocol != types.TransportProtocolTcp || !aws.ToBool(td.ContainerDefinitions[0].Essential) {
		t.Errorf("defaults not filled: %+v essential %v", pm, td.ContainerDefinitions[0].Essential)
	}
	e.register("api", "api:2")

	for _, ref := range []string{"api", "api:2", "arn:aws:ecs:us-east-1:123456789012:task-definition/api:2"} {
		d, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil || d.TaskDefinition.Revision != 2 {
			t.Errorf("describing %s: %v", ref, err)
		}
	}
	d, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "team" {
		t.Errorf("describing with tags: %v, tags %v", err, d)
	}
	list, err := e.ecs.ListTaskDefinitions(e.ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("api"), Sort: types.SortOrderDesc})
	if err != nil || len(list.TaskDefinitionArns) != 2 || !strings.HasSuffix(list.TaskDefinitionArns[0], "api:2") {
		t.Errorf("listing: %v %v", err, list)
	}
	if _, err := e.ecs.DeregisterTaskDefinition(e.ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api:2")}); err != nil {
		t.Fatalf("deregistering: %v", err)
	}
	d, err = e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api")})
	if err != nil || d.TaskDefinition.Revision != 1 {
		t.Errorf("family after deregistering its latest: %v %v", err, d)
	}
	d, err = e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("api:2")})
	if err != nil || d.TaskDefinition.Status != types.TaskDefinitionStatusInactive || d.TaskDefinition.DeregisteredAt == nil {
		t.Errorf("deregistered revision: %v %v", err, d)
	}
	fams, err := e.ecs.ListTaskDefinitionFamilies(e.ctx, &ecs.ListTaskDefinitionFamiliesInput{})
	if err != nil || len(fams.Families) != 1 || fams.Families[0] != "api" {
		t.Errorf("families: %v %v", err, fams)
	}

	big := strings.Repeat("x", 70<<10)
	_, err = e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("big"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("big"), Command: []string{big}}},
	})
	if !hasCode(err, "ClientException") || !strings.Contains(err.Error(), "65536") {
		t.Errorf("registering 70 KiB: %v, want ClientException about the size", err)
	}
	if _, err := e.ecs.DescribeTaskDefinition(e.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")}); !hasCode(err, "ClientException") {
		t.Errorf("describing a missing definition: %v", err)
	}
}

func TestClustersServicesAndErrors(t *testing.T) {
	e := newEnv(t)
	dc, err := e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod", "nope"}})
	if err != nil || len(dc.Clusters) != 1 || len(dc.Failures) != 1 || aws.ToString(dc.Failures[0].Reason) != "MISSING" {
		t.Fatalf("describing clusters: %v %+v", err, dc)
	}
	if _, err := e.ecs.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("staging")}); err != nil {
		t.Fatalf("creating cluster: %v", err)
	}
	lc, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{})
	if err != nil || len(lc.ClusterArns) != 2 {
		t.Errorf("listing clusters: %v %v", err, lc.ClusterArns)
	}
	v1 := e.register("web", "web:1")
	_, err = e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("nope"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1)})
	var notFound *types.ClusterNotFoundException
	if !errorsAs(err, &notFound) {
		t.Errorf("creating a service on a missing cluster: %v, want ClusterNotFoundException", err)
	}
	_, err = e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("nope"), ForceNewDeployment: true})
	var svcNotFound *types.ServiceNotFoundException
	if !errorsAs(err, &svcNotFound) {
		t.Errorf("updating a missing service: %v, want ServiceNotFoundException", err)
	}
	e.createService(v1, 1, nil)
	ls, err := e.ecs.ListServices(e.ctx, &ecs.ListServicesInput{Cluster: aws.String("prod")})
	if err != nil || len(ls.ServiceArns) != 1 || ls.ServiceArns[0] != "arn:aws:ecs:us-east-1:123456789012:service/prod/web" {
		t.Errorf("listing services: %v %v", err, ls.ServiceArns)
	}
	// forceNewDeployment redeploys the same definition.
	forced, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil || len(forced.Service.Deployments) != 2 {
		t.Fatalf("forcing a new deployment: %v", err)
	}
	// A desired count alone scales without a new deployment.
	scaled, err := e.ecs.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), DesiredCount: aws.Int32(3)})
	if err != nil || len(scaled.Service.Deployments) != 2 || scaled.Service.DesiredCount != 3 {
		t.Fatalf("scaling: %v", err)
	}
	s := e.stepUntil("scaled", func(s *types.Service) bool { return len(s.Deployments) == 1 && s.RunningCount == 3 })
	tasks, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web")})
	if err != nil || len(tasks.TaskArns) != int(s.RunningCount) {
		t.Errorf("listing running tasks: %v, %d tasks for running count %d", err, len(tasks.TaskArns), s.RunningCount)
	}
	cl, err := e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod"}})
	if err != nil || cl.Clusters[0].RunningTasksCount != 3 || cl.Clusters[0].ActiveServicesCount != 1 {
		t.Errorf("cluster counts: %v %+v", err, cl.Clusters)
	}
	if _, err := e.ecs.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web")}); !hasCode(err, "InvalidParameterException") {
		t.Errorf("deleting a scaled service without force: %v", err)
	}
	if _, err := e.ecs.DeleteService(e.ctx, &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	if s := e.stepUntil("deleted", func(s *types.Service) bool { return aws.ToString(s.Status) == "INACTIVE" }); s.RunningCount != 0 {
		t.Errorf("deleted service still runs %d tasks", s.RunningCount)
	}
	if _, err := e.ecs.TagResource(e.ctx, &ecs.TagResourceInput{ResourceArn: aws.String(v1), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatalf("tagging: %v", err)
	}
	tags, err := e.ecs.ListTagsForResource(e.ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(v1)})
	if err != nil || len(tags.Tags) != 1 {
		t.Errorf("listing tags: %v %v", err, tags)
	}
}

func TestThrottlingIsVisibleAndRetried(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultThrottle, Operation: "ListClusters", Count: 1}); err != nil {
		t.Fatal(err)
	}
	once := e.srv.ECSClient(func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
	_, err := once.ListClusters(e.ctx, &ecs.ListClustersInput{})
	if !hasCode(err, "ThrottlingException") || !strings.Contains(err.Error(), "Rate exceeded") {
		t.Fatalf("with one attempt: %v, want ThrottlingException: Rate exceeded", err)
	}
	if _, err := once.ListClusters(e.ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("after the fault is used up: %v", err)
	}

	e.srv.ResetRequests()
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultThrottle, Count: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("default retryer did not ride out two throttles: %v", err)
	}
	var faults []ecssim.FaultKind
	for _, r := range e.srv.Requests() {
		faults = append(faults, r.Fault)
	}
	if len(faults) != 3 || faults[0] != ecssim.FaultThrottle || faults[1] != ecssim.FaultThrottle || faults[2] != "" {
		t.Errorf("request log faults = %q, want two throttles then a success", faults)
	}
}

func TestServerErrorsAndResets(t *testing.T) {
	e := newEnv(t)
	once := e.srv.ECSClient(func(o *ecs.Options) { o.RetryMaxAttempts = 1 })

	e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultServerError, Count: 1})
	_, err := once.ListClusters(e.ctx, &ecs.ListClustersInput{})
	var resp *awshttp.ResponseError
	if !hasCode(err, "ServerException") || !errorsAs(err, &resp) || resp.HTTPStatusCode() != http.StatusInternalServerError {
		t.Errorf("5xx: %v, want ServerException with status 500", err)
	}

	// A reset UpdateService changes nothing: faults strike before the state.
	v1 := e.register("web", "web:1")
	v2 := e.register("web", "web:2")
	e.createService(v1, 1, nil)
	e.srv.ResetRequests()
	e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultReset, Operation: "UpdateService", Count: 1})
	_, err = once.UpdateService(e.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String(v2)})
	if err == nil {
		t.Fatal("UpdateService survived a connection reset")
	}
	if s := e.service(); aws.ToString(s.TaskDefinition) != v1 || len(s.Deployments) != 1 {
		t.Errorf("reset call changed the service: %s", deploymentsString(s))
	}
	reqs := e.srv.Requests()
	if len(reqs) < 1 || reqs[0].Operation != "UpdateService" || reqs[0].Fault != ecssim.FaultReset || reqs[0].Status != 0 {
		t.Errorf("request log = %+v", reqs)
	}

	e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultReset, Count: 1})
	e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultServerError, Count: 1})
	if _, err := e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Errorf("default retryer did not ride out a reset and a 5xx: %v", err)
	}
}

func TestLatencyFault(t *testing.T) {
	e := newEnv(t)
	e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultLatency, Latency: 300 * time.Millisecond, Count: 1})
	began := time.Now()
	if _, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Errorf("call took %v despite 300ms of injected latency", took)
	}
	if len(e.srv.Faults()) != 0 {
		t.Errorf("faults left: %v", e.srv.Faults())
	}
}

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t)
	post := func(path, body string) *http.Response {
		t.Helper()
		resp, err := http.Post(e.srv.URL+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		resp.Body.Close()
		return resp
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(e.srv.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, err, resp)
		}
		defer resp.Body.Close()
		if v != nil {
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatalf("decoding %s: %v", path, err)
			}
		}
	}
	get("/_sim/healthz", nil)

	if resp := post("/_sim/faults", `{"kind":"bogus"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bogus fault: %s", resp.Status)
	}
	if resp := post("/_sim/faults", `{"kind":"throttle","operation":"DescribeClusters","count":1}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("adding a fault: %s", resp.Status)
	}
	once := e.srv.ECSClient(func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
	if _, err := once.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{}); !hasCode(err, "ThrottlingException") {
		t.Errorf("after POST /_sim/faults: %v", err)
	}

	if resp := post("/_sim/behaviors", `{"key":"web","behavior":{"startDelay":"1s","failure":{"kind":"start","reason":"CannotPullContainerError: pull access denied"}}}`); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("scripting a behaviour: %s", resp.Status)
	}
	v1 := e.register("web", "web:1")
	if _, err := e.ecs.CreateService(e.ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if resp := post("/_sim/clock/advance", `{"duration":"2s"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("advancing the clock: %s", resp.Status)
	}
	stopped := e.stoppedTasks(aws.ToString(e.service().Deployments[0].Id))
	if len(stopped) != 1 || aws.ToString(stopped[0].StoppedReason) != "CannotPullContainerError: pull access denied" || stopped[0].StopCode != types.TaskStopCodeTaskFailedToStart {
		t.Errorf("scripted start failure: %+v", stopped)
	}

	var mutating []ecssim.Request
	get("/_sim/requests?mutating=true", &mutating)
	var ops []string
	for _, r := range mutating {
		ops = append(ops, r.Operation)
	}
	if strings.Join(ops, ",") != "RegisterTaskDefinition,CreateService" {
		t.Errorf("mutating calls = %v", ops)
	}
	if resp := post("/_sim/alarms", `{"alarmName":"web-5xx","state":"ALARM"}`); resp.StatusCode != http.StatusOK {
		t.Errorf("setting an alarm: %s", resp.Status)
	}
	if resp := post("/_sim/alarms", `{"alarmName":"web-5xx","state":"ON_FIRE"}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown alarm state: %s", resp.Status)
	}
	var alarms map[string]string
	get("/_sim/alarms", &alarms)
	if alarms["web-5xx"] != "ALARM" {
		t.Errorf("alarms = %v", alarms)
	}
	if resp := post("/_sim/lambda-hooks", `{"hookTargetArn":"arn:aws:lambda:us-east-1:123456789012:function:f","result":{"delay":"30s","fail":true,"reason":"no"}}`); resp.StatusCode != http.StatusNoContent {
		t.Errorf("scripting a lambda hook: %s", resp.Status)
	}
	var hooks map[string]ecssim.LambdaHook
	get("/_sim/lambda-hooks", &hooks)
	if h := hooks["arn:aws:lambda:us-east-1:123456789012:function:f"]; h.Delay != 30*time.Second || !h.Fail || h.Reason != "no" {
		t.Errorf("lambda hooks = %+v", hooks)
	}

	var clock map[string]time.Time
	get("/_sim/clock", &clock)
	if !clock["now"].Equal(start.Add(2 * time.Second)) {
		t.Errorf("clock = %v", clock["now"])
	}
}

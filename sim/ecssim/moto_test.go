package ecssim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

func TestPassThroughToMoto(t *testing.T) {
	moto, err := url.Parse(motoserver.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := ecssimtest.NewServer(t, ecssim.WithUpstream(moto))
	cfg := srv.AWSConfig()

	tok, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(t.Context(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("ECR GetAuthorizationToken through the simulator: %v", err)
	}
	if len(tok.AuthorizationData) == 0 || aws.ToString(tok.AuthorizationData[0].AuthorizationToken) == "" {
		t.Errorf("no authorization data from moto")
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("STS GetCallerIdentity through the simulator: %v", err)
	}
	if aws.ToString(id.Account) != "123456789012" {
		t.Errorf("account = %s, want moto's 123456789012", aws.ToString(id.Account))
	}
	// ECS calls on the same endpoint stay in the simulator.
	if _, err := srv.ECSClient().CreateCluster(t.Context(), &ecs.CreateClusterInput{ClusterName: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}

	var proxied []string
	for _, r := range srv.Requests() {
		if r.Proxied {
			proxied = append(proxied, fmt.Sprintf("%s=%d", r.Operation, r.Status))
		} else if r.Operation != "CreateCluster" {
			t.Errorf("unexpected ECS call %s", r.Operation)
		}
	}
	if got := strings.Join(proxied, ","); got != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken=200,GetCallerIdentity=200" {
		t.Errorf("proxied calls = %s", got)
	}
}

// recorder keeps the raw JSON response of each ECS operation.
type recorder struct {
	mu     sync.Mutex
	bodies map[string]map[string]any
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var v map[string]any
	if json.Unmarshal(b, &v) == nil {
		op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
		r.mu.Lock()
		r.bodies[op] = v
		r.mu.Unlock()
	}
	return resp, nil
}

// runSequence runs the register/describe/create/update sequence the deploy
// relies on against endpoint and returns the raw responses by operation.
func runSequence(t *testing.T, endpoint string) map[string]map[string]any {
	t.Helper()
	rec := &recorder{bodies: map[string]map[string]any{}}
	client := ecs.New(ecs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   rec,
	})
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s against %s: %v", what, endpoint, err)
		}
	}
	_, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("conf")})
	must("CreateCluster", err)
	register := func(image string) string {
		out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String("conf"),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Memory: aws.Int32(128)}},
			Tags:                 []types.Tag{{Key: aws.String("app"), Value: aws.String("conf")}},
		})
		must("RegisterTaskDefinition", err)
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	register("conf:1")
	v2 := register("conf:2")
	_, err = client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("conf"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	must("DescribeTaskDefinition", err)
	_, err = client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("conf"), ServiceName: aws.String("web"), TaskDefinition: aws.String("conf:1"), DesiredCount: aws.Int32(1), LaunchType: types.LaunchTypeEc2})
	must("CreateService", err)
	_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("conf"), Service: aws.String("web"), TaskDefinition: aws.String(v2)})
	must("UpdateService", err)
	_, err = client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("conf"), Services: []string{"web"}})
	must("DescribeServices", err)
	return rec.bodies
}

// lookup follows a path like "service.deployments.0.id" through decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func TestConformanceWithMoto(t *testing.T) {
	moto := runSequence(t, motoserver.Start(t))
	sim := runSequence(t, ecssimtest.NewServer(t).URL)

	// The fields the pipeline reads, with a pattern both must match ("" for
	// any value of the same JSON type). Where moto 5.2 falls short of real
	// ECS (motoGap), only the simulator is held to the pattern.
	checks := []struct {
		op, path, pattern string
		motoGap           bool
	}{
		{"CreateCluster", "cluster.clusterArn", `^arn:aws:ecs:us-east-1:\d{12}:cluster/conf$`, false},
		{"CreateCluster", "cluster.status", `^ACTIVE$`, false},
		{"RegisterTaskDefinition", "taskDefinition.taskDefinitionArn", `^arn:aws:ecs:us-east-1:\d{12}:task-definition/conf:2$`, false},
		{"RegisterTaskDefinition", "taskDefinition.revision", `^2$`, false},
		{"RegisterTaskDefinition", "taskDefinition.status", `^ACTIVE$`, false},
		{"RegisterTaskDefinition", "taskDefinition.family", `^conf$`, false},
		{"RegisterTaskDefinition", "taskDefinition.containerDefinitions.0.image", `^conf:2$`, false},
		{"RegisterTaskDefinition", "taskDefinition.registeredAt", `^[0-9.e+]+$`, true},
		{"RegisterTaskDefinition", "tags.0.key", `^app$`, true},
		{"DescribeTaskDefinition", "taskDefinition.taskDefinitionArn", `task-definition/conf:2$`, false},
		{"DescribeTaskDefinition", "taskDefinition.revision", `^2$`, false},
		{"DescribeTaskDefinition", "tags.0.value", `^conf$`, false},
		{"CreateService", "service.serviceName", `^web$`, false},
		{"CreateService", "service.serviceArn", `^arn:aws:ecs:us-east-1:\d{12}:service/`, false},
		{"CreateService", "service.status", `^ACTIVE$`, false},
		{"CreateService", "service.desiredCount", `^1$`, false},
		{"UpdateService", "service.taskDefinition", `task-definition/conf:2$`, false},
		{"UpdateService", "service.deployments.0.id", `^ecs-svc/\d+$`, false},
		{"UpdateService", "service.deployments.0.status", `^PRIMARY$`, false},
		{"UpdateService", "service.deployments.0.taskDefinition", `task-definition/conf:2$`, true},
		{"UpdateService", "service.deployments.0.rolloutState", "", false},
		{"UpdateService", "service.deployments.0.createdAt", "", false},
		{"DescribeServices", "services.0.desiredCount", `^1$`, false},
		{"DescribeServices", "services.0.runningCount", "", false},
		{"DescribeServices", "services.0.pendingCount", "", false},
		{"DescribeServices", "services.0.deployments.0.status", `^PRIMARY$`, false},
		{"DescribeServices", "services.0.events", "", false},
		{"DescribeServices", "failures", "", false},
	}
	for _, c := range checks {
		mv, mok := lookup(moto[c.op], c.path)
		sv, sok := lookup(sim[c.op], c.path)
		if c.motoGap {
			if !sok || !regexp.MustCompile(c.pattern).MatchString(fmt.Sprint(sv)) {
				t.Errorf("%s %s: the simulator says %v, want %s", c.op, c.path, sv, c.pattern)
			}
			continue
		}
		switch {
		case !mok || !sok:
			t.Errorf("%s %s: present in moto %v, in the simulator %v", c.op, c.path, mok, sok)
			continue
		case fmt.Sprintf("%T", mv) != fmt.Sprintf("%T", sv):
			t.Errorf("%s %s: moto has %T, the simulator %T", c.op, c.path, mv, sv)
		}
		if c.pattern == "" {
			continue
		}
		re := regexp.MustCompile(c.pattern)
		for who, v := range map[string]any{"moto": mv, "simulator": sv} {
			if s := fmt.Sprint(v); !re.MatchString(s) {
				t.Errorf("%s %s: %s says %q, want %s", c.op, c.path, who, s, c.pattern)
			}
		}
	}
}

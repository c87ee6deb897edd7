package pipeline_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

// project copies testdata/deploy to a temporary directory, replaces or adds
// the given files, and loads it with env.
func project(t *testing.T, files, env map[string]string) *pipeline.Config {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"ecspresso.yml", "ecs-task-def.json", "ecs-service-def.jsonnet"} {
		b, err := os.ReadFile(filepath.Join("testdata/deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, dir, name, string(b))
	}
	for name, content := range files {
		write(t, dir, name, content)
	}
	cfg, err := pipeline.LoadConfig(t.Context(), pipeline.LoadConfigOptions{Dir: dir, LookupEnv: mapEnv(env)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// emptyEnv is a simulator with cluster "prod" and no service.
func emptyEnv(t *testing.T) *deployEnv {
	t.Helper()
	clock := ecssim.NewManualClock(simStart)
	srv := ecssimtest.NewServer(t, ecssim.WithClock(clock), ecssim.WithCluster("prod"))
	client := srv.ECSClient(func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
	return &deployEnv{t: t, ctx: t.Context(), srv: srv, clock: clock, ecs: client}
}

// updateParams is the body of the i-th logged UpdateService call.
func (e *deployEnv) updateParams(i int) map[string]any {
	e.t.Helper()
	calls := e.calls("UpdateService")
	if len(calls) <= i {
		e.t.Fatalf("%d UpdateService calls, want at least %d", len(calls), i+1)
	}
	var m map[string]any
	if err := json.Unmarshal(calls[i].Params, &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// serviceTags reads the service's tags as a map.
func (e *deployEnv) serviceTags() map[string]string {
	e.t.Helper()
	out, err := e.ecs.ListTagsForResource(e.ctx, &ecs.ListTagsForResourceInput{ResourceArn: e.service().ServiceArn})
	if err != nil {
		e.t.Fatal(err)
	}
	m := map[string]string{}
	for _, t := range out.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// taggedService is the deploy fixture's service definition with tags.
func taggedService(tags string) map[string]string {
	b, err := os.ReadFile("testdata/deploy/ecs-service-def.jsonnet")
	if err != nil {
		panic(err)
	}
	return map[string]string{"ecs-service-def.jsonnet": string(b) + " + { tags: " + tags + " }\n"}
}

package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// offline answers every lookup a config can make with an error, so fuzzed
// inputs never reach AWS.
type offline struct{}

var errOffline = errors.New("offline")

func (offline) GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return nil, errOffline
}

func (offline) DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	return nil, errOffline
}

func (offline) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, errOffline
}

// addSeeds adds every file matching the patterns as a seed.
func addSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	n := 0
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b))
			n++
		}
	}
	if n == 0 {
		f.Fatalf("no seeds match %v", patterns)
	}
}

// fuzzLoadConfig loads src as the config file name in a fresh directory
// that also holds a task definition; it must not panic, and an error must
// name the config file.
func fuzzLoadConfig(t *testing.T, name, src string) {
	dir := t.TempDir()
	path := filepath.Join(dir, name)
	write(t, dir, name, src)
	write(t, dir, "ecs-task-def.json", `{"family": "app", "containerDefinitions": [{"name": "app", "image": "app:1"}]}`)
	// Lookups fail at once and nothing may reach the network; the timeout
	// bounds http(s):// tfstate URLs.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cfg, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{
		Path:      path,
		LookupEnv: mapEnv(map[string]string{"IMAGE": "app:1", "AWS_REGION": "us-east-1"}),
		AWS:       &pipeline.AWS{SSM: offline{}, SecretsManager: offline{}, S3: offline{}},
	})
	if err != nil {
		if !strings.Contains(err.Error(), path) {
			t.Fatalf("error does not name %s: %v", path, err)
		}
		return
	}
	if cfg.Path != path || cfg.Cluster == "" {
		t.Fatalf("loaded path %q, cluster %q", cfg.Path, cfg.Cluster)
	}
}

// FuzzLoadConfig loads fuzzed ecspresso.yml files.
func FuzzLoadConfig(f *testing.F) {
	addSeeds(f, "testdata/render/*/ecspresso.yml", "testdata/*/ecspresso.yml")
	f.Add("region: us-east-1\ncluster: {{ must_env `CLUSTER` }}\nservice: web\ntask_definition: ecs-task-def.json\ntimeout: 5m\n")
	f.Add("region: us-east-1\nservice: web\nplugins:\n  - name: tfstate\n    config:\n      url: s3://bucket/key\n")
	f.Add("service: {{ ssm `/app/service` }}\nignore:\n  tags: [a, b]\nrequired_version: '>= 2.0'\n")
	f.Fuzz(func(t *testing.T, src string) { fuzzLoadConfig(t, "ecspresso.yml", src) })
}

// FuzzLoadConfigJsonnet loads fuzzed ecspresso.jsonnet files.
func FuzzLoadConfigJsonnet(f *testing.F) {
	addSeeds(f, "testdata/render/*/ecspresso.jsonnet")
	f.Add(`{region: 'us-east-1', cluster: std.native('env')('CLUSTER', 'prod'), service: 'web', task_definition: 'ecs-task-def.json'}`)
	f.Add(`local svc = std.native('must_env')('SERVICE'); {service: svc, timeout: '{{ env "TIMEOUT" "1m" }}'}`)
	f.Add(`{service: std.extVar('service'), plugins: [{name: 'tfstate', config: {path: 'x.tfstate'}, func_prefix: 'n_'}]}`)
	f.Fuzz(func(t *testing.T, src string) { fuzzLoadConfig(t, "ecspresso.jsonnet", src) })
}

// definitionBody decodes a definition the way rendering does, or reports
// that it is not a JSON object.
func definitionBody(src string) (map[string]any, bool) {
	var v any
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

// taskDefinitionSeeds adds the task definitions of testdata as seeds.
func taskDefinitionSeeds(f *testing.F) {
	addSeeds(f, "testdata/render/*/*task-def*.json", "testdata/render/*/task-definition.golden.json", "testdata/deploy/ecs-task-def.json")
	f.Add(`{"family": "app", "cpu": "0.25 vCPU", "memory": "0.5 GB", "networkMode": "awsvpc", "containerDefinitions": [
	  {"name": "b", "image": "b@sha256:` + strings.Repeat("a", 64) + `", "portMappings": [{"containerPort": 80}, {"containerPort": 81, "protocol": "udp"}],
	   "environment": [{"name": "Z", "value": "1"}, {"name": "A", "value": null}], "essential": false},
	  {"name": "a", "image": "a:1", "mountPoints": [{"sourceVolume": "v", "containerPath": "/b"}, {"sourceVolume": "v", "containerPath": "/a"}]}],
	  "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}], "tags": [{"key": "k", "value": "v"}],
	  "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:1", "revision": 1}`)
	f.Add(`{"Family": "app", "ContainerDefinitions": [{"Name": "app", "Memory": 512, "Cpu": 0}], "ephemeralStorage": {"sizeInGiB": 21}}`)
}

// FuzzTaskDefinitionInput decodes fuzzed task definitions for registration:
// no panic, an error naming the file or an input that encodes within the
// size limit and decodes again to itself.
func FuzzTaskDefinitionInput(f *testing.F) {
	taskDefinitionSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		body, ok := definitionBody(src)
		if !ok {
			return
		}
		const path = "/project/ecs-task-def.json"
		in, err := pipeline.TaskDefinitionInput(&pipeline.Definition{Path: path, Body: body})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name %s: %v", path, err)
			}
			return
		}
		js := canonicalInput(t, in)
		if len(js) > pipeline.MaxTaskDefinitionSize {
			t.Fatalf("accepted %d bytes", len(js))
		}
		again, _ := definitionBody(string(js))
		in2, err := pipeline.TaskDefinitionInput(&pipeline.Definition{Path: path, Body: again})
		if err != nil {
			t.Fatalf("decoding the canonical JSON %s: %v", js, err)
		}
		js2 := canonicalInput(t, in2)
		if !bytes.Equal(js, js2) {
			t.Fatalf("canonical JSON changed on a round trip:\n%s\n%s", js, js2)
		}
	})
}

// canonicalInput encodes in with CanonicalJSON. An input with nothing set
// encodes as null, and one whose only fields hold empty values (such as
// requiresCompatibilities [""]) as {}: both are written {}.
func canonicalInput(t *testing.T, in any) []byte {
	js, err := pipeline.CanonicalJSON(in)
	if err != nil {
		t.Fatalf("encoding the input: %v", err)
	}
	if string(js) == "null" {
		return []byte("{}")
	}
	return js
}

// FuzzNormalizeTaskDefinition normalises fuzzed task definitions: no panic,
// an error naming the file or a result that normalises to itself.
func FuzzNormalizeTaskDefinition(f *testing.F) {
	taskDefinitionSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		body, ok := definitionBody(src)
		if !ok {
			return
		}
		const path = "/project/ecs-task-def.json"
		opts := pipeline.NormalizeOptions{IgnoreTags: []string{"k"}}
		n, err := pipeline.NormalizeTaskDefinition(path, body, opts)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name %s: %v", path, err)
			}
			return
		}
		js, err := pipeline.CanonicalJSON(n)
		if err != nil {
			t.Fatalf("encoding the normalised definition: %v", err)
		}
		again, ok := definitionBody(string(js))
		if !ok {
			t.Fatalf("normalised definition is not an object: %s", js)
		}
		n2, err := pipeline.NormalizeTaskDefinition(path, again, opts)
		if err != nil {
			t.Fatalf("normalising the normalised definition %s: %v", js, err)
		}
		js2, err := pipeline.CanonicalJSON(n2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(js, js2) {
			t.Fatalf("normalising is not idempotent:\n%s\n%s", js, js2)
		}
	})
}

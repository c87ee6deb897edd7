package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestRenderAgainstMoto renders definitions whose values come from SSM,
// Secrets Manager and a tfstate in S3, all served by a real moto server.
func TestRenderAgainstMoto(t *testing.T) {
	ctx := context.Background()
	endpoint := motoserver.Start(t)
	a, err := pipeline.NewAWS(ctx, pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test", EndpointURL: endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}

	// Seed the emulator with clients built from the same config.
	ssmc := ssm.NewFromConfig(a.Config)
	for _, p := range []struct {
		name, value string
		typ         ssmtypes.ParameterType
	}{
		{"/app/log-level", "debug", ssmtypes.ParameterTypeString},
		{"/app/subnets", "subnet-a,subnet-b,subnet-c", ssmtypes.ParameterTypeStringList},
		{"/app/api-key", "s3cr3t", ssmtypes.ParameterTypeSecureString},
	} {
		if _, err := ssmc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(p.name), Value: aws.String(p.value), Type: p.typ}); err != nil {
			t.Fatalf("putting %s: %v", p.name, err)
		}
	}
	secret, err := secretsmanager.NewFromConfig(a.Config).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("app/db"), SecretString: aws.String(`{"password":"x"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(a.Config, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tfstate")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("tfstate"), Key: aws.String("app/terraform.tfstate"), Body: bytes.NewReader(state),
	}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", `region: us-east-1
service: app
task_definition: ecs-task-def.json
service_definition: ecs-service-def.jsonnet
plugins:
  - name: tfstate
    config:
      url: s3://tfstate/app/terraform.tfstate
`)
	write(t, dir, "ecs-task-def.json", `{
  "family": "app",
  "executionRoleArn": "{{ tfstate `+"`aws_iam_role.task_execution.arn`"+` }}",
  "containerDefinitions": [{
    "name": "app",
    "image": "{{ must_env `+"`IMAGE`"+` }}",
    "environment": [
      {"name": "LOG_LEVEL", "value": "{{ ssm `+"`/app/log-level`"+` }}"},
      {"name": "API_KEY", "value": "{{ ssm `+"`/app/api-key`"+` }}"},
      {"name": "SECOND_SUBNET", "value": "{{ ssm `+"`/app/subnets`"+` 1 }}"}
    ],
    "secrets": [{"name": "DB", "valueFrom": "{{ secretsmanager_arn `+"`app/db`"+` }}"}]
  }]
}`)
	write(t, dir, "ecs-service-def.jsonnet", `{
  networkConfiguration: { awsvpcConfiguration: {
    subnets: [std.native('ssm_list')('/app/subnets', 2), std.native('tfstate')('aws_subnet.private[0].id')],
    securityGroups: [std.native('ssm')('/app/log-level')],
  } },
  tags: [{ key: 'secret', value: std.native('secretsmanager_arn')('app/db') }],
}`)

	cfg, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{
		Dir:       dir,
		AWS:       a,
		LookupEnv: mapEnv(map[string]string{"IMAGE": "example.com/app@sha256:8888888888888888888888888888888888888888888888888888888888888888"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	td, err := cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := td.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"value": "debug"`, `"value": "s3cr3t"`, `"value": "subnet-b"`,
		`"valueFrom": "` + aws.ToString(secret.ARN) + `"`,
		`"executionRoleArn": "arn:aws:iam::123456789012:role/app-task-execution"`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("task definition lacks %s:\n%s", want, got)
		}
	}
	sd, err := cfg.RenderServiceDefinition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err = sd.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"subnet-c"`, `"subnet-0a1b2c3d4e5f60700"`, `"debug"`, aws.ToString(secret.ARN)} {
		if !strings.Contains(string(got), want) {
			t.Errorf("service definition lacks %s:\n%s", want, got)
		}
	}

	// Errors from the services name what was asked for.
	write(t, dir, "ecs-task-def.json", `{"family": "{{ ssm `+"`/app/missing`"+` }}"}`)
	if _, err := cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{}); err == nil || !strings.Contains(err.Error(), "ecs-task-def.json:") || !strings.Contains(err.Error(), "/app/missing") {
		t.Errorf("missing parameter: got %v", err)
	}
	write(t, dir, "ecspresso.yml", "service: app\ntask_definition: x.json\nplugins:\n  - name: tfstate\n    config:\n      url: s3://tfstate/nope.tfstate\n")
	if _, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir, AWS: a}); err == nil || !strings.Contains(err.Error(), "s3://tfstate/nope.tfstate") || !strings.Contains(err.Error(), "plugins[0]") {
		t.Errorf("missing state: got %v", err)
	}
}

func write(t testing.TB, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTFStateFileReplacesTheBackend: with TFStateFile, a config whose
// tfstate lives in S3 reads a local copy and never calls S3 (here an
// endpoint that refuses every connection).
func TestTFStateFileReplacesTheBackend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", "region: us-east-1\nservice: app\ntask_definition: td.jsonnet\nplugins:\n  - name: tfstate\n    config:\n      url: s3://tfstate/app/terraform.tfstate\n")
	write(t, dir, "td.jsonnet", "{family: 'app', taskRoleArn: std.native('tfstate')('aws_iam_role.task.arn'), containerDefinitions: [{name: 'app', image: 'busybox'}]}")
	state, err := os.ReadFile("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "local.tfstate", string(state))
	opts := pipeline.LoadConfigOptions{Dir: dir, TFStateFile: filepath.Join(dir, "local.tfstate"),
		AWSOptions: pipeline.AWSOptions{EndpointURL: "http://127.0.0.1:1", AccessKeyID: "x", SecretAccessKey: "x"}}
	if got := roleARN(t, opts); !strings.HasPrefix(got, "arn:aws:iam::") {
		t.Fatalf("taskRoleArn = %q, want the role from the local state", got)
	}
	// Without it, the same config goes to S3, and fails there.
	opts.TFStateFile = ""
	if _, err := pipeline.LoadConfig(ctx, opts); err == nil || !strings.Contains(err.Error(), "s3://tfstate/app/terraform.tfstate") {
		t.Fatalf("LoadConfig without TFStateFile: %v, want an S3 error", err)
	}
}

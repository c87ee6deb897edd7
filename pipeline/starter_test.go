package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline/starter"
)

// readStarter reads the starter kit the module's init function hands out.
func readStarter(t *testing.T) map[string]string {
	t.Helper()
	files, err := starter.Read(os.DirFS(filepath.Join("..", "templates")))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestStarterRenders fills the starter kit, then loads and renders it as a
// deploy would, against a Terraform state fixture.
func TestStarterRenders(t *testing.T) {
	state, err := filepath.Abs("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	files, err := starter.Fill(readStarter(t), starter.Options{
		Cluster: "prod", Service: "hello", Region: "ap-northeast-1", TFStateURL: state,
		Repository: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/hello",
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const image = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/hello:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	ctx := context.Background()
	cfg, err := LoadConfig(ctx, LoadConfigOptions{Dir: dir, LookupEnv: func(k string) (string, bool) {
		return image, k == "IMAGE"
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster != "prod" || cfg.Service != "hello" || cfg.Region != "ap-northeast-1" {
		t.Errorf("config = cluster %q, service %q, region %q", cfg.Cluster, cfg.Service, cfg.Region)
	}
	td, err := cfg.RenderTaskDefinition(ctx, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := TaskDefinitionInput(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(in.ContainerDefinitions[0].Image); got != image {
		t.Errorf("image = %q, want %q", got, image)
	}
	if got := aws.ToString(in.ExecutionRoleArn); !strings.HasPrefix(got, "arn:aws:iam::") {
		t.Errorf("executionRoleArn = %q, want a role ARN from the state", got)
	}
	sd, err := cfg.RenderServiceDefinition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := ServiceDefinitionInput(sd)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(svc.NetworkConfiguration.AwsvpcConfiguration.Subnets); n != 3 {
		t.Errorf("service has %d subnets, want 3", n)
	}
	if !svc.DeploymentConfiguration.DeploymentCircuitBreaker.Rollback {
		t.Error("the starter service must roll back a failing deployment")
	}
}

func TestFillStarterNamesBadArguments(t *testing.T) {
	ok := starter.Options{Cluster: "prod", Service: "hello", Region: "ap-northeast-1", TFStateURL: "s3://b/k",
		Repository: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/hello"}
	for _, c := range []struct {
		edit func(*starter.Options)
		want string
	}{
		{func(o *starter.Options) { o.Cluster = "" }, "--cluster is required"},
		{func(o *starter.Options) { o.Service = "my service" }, `--service "my service"`},
		{func(o *starter.Options) { o.Region = "tokyo" }, `--region "tokyo"`},
		{func(o *starter.Options) { o.Repository = "hello" }, `--repository "hello"`},
		{func(o *starter.Options) { o.TFStateURL = "" }, "--tfstate-url is required"},
	} {
		o := ok
		c.edit(&o)
		if _, err := starter.Fill(map[string]string{"f": "[[ .Service ]]"}, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("starter.Fill(%+v) = %v, want an error saying %s", o, err, c.want)
		}
	}
	if _, err := starter.Fill(map[string]string{"f": "[[ .Nope ]]"}, ok); err == nil {
		t.Error("an unknown placeholder must be an error")
	}
}

package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// writeBigState writes a terraform.tfstate v4 of about 20 MB: 40 services'
// worth of roles, target groups, log groups and parameters, plus filler
// resources as large states have.
func writeBigState(b *testing.B, path string) {
	b.Helper()
	attrs := func(typ, name string, i int) map[string]any {
		return map[string]any{
			"arn":  fmt.Sprintf("arn:aws:%s:us-east-1:123456789012:%s/%s-%d", typ, typ, name, i),
			"id":   fmt.Sprintf("%s-%d", name, i),
			"name": fmt.Sprintf("%s-%d", name, i),
			"tags": map[string]any{"Name": fmt.Sprintf("%s-%d", name, i), "Service": fmt.Sprintf("svc%02d", i%40)},
			// Policies and user data make real states large.
			"policy": strings.Repeat(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`, 40),
		}
	}
	var resources []any
	for i := range 40 {
		for _, typ := range []string{"aws_iam_role", "aws_lb_target_group", "aws_cloudwatch_log_group", "aws_ssm_parameter", "aws_security_group"} {
			resources = append(resources, map[string]any{
				"mode": "managed", "type": typ, "name": fmt.Sprintf("svc%02d", i),
				"provider":  `provider["registry.terraform.io/hashicorp/aws"]`,
				"instances": []any{map[string]any{"schema_version": 0, "attributes": attrs(typ, "svc", i)}},
			})
		}
	}
	for i := 0; len(resources) < 6500; i++ {
		resources = append(resources, map[string]any{
			"module": fmt.Sprintf("module.filler%d", i%50), "mode": "managed", "type": "aws_instance", "name": fmt.Sprintf("node%d", i),
			"provider":  `provider["registry.terraform.io/hashicorp/aws"]`,
			"instances": []any{map[string]any{"schema_version": 1, "attributes": attrs("ec2", "node", i)}},
		})
	}
	state := map[string]any{
		"version": 4, "terraform_version": "1.9.5", "serial": 1, "lineage": "bench",
		"outputs":   map[string]any{"vpc_id": map[string]any{"value": "vpc-1", "type": "string"}},
		"resources": resources,
	}
	js, err := json.Marshal(state)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, js, 0o644); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRenderTfstate renders a 40-container task definition making 200
// tfstate lookups in a ~20 MB state, which is loaded once, outside the loop.
func BenchmarkRenderTfstate(b *testing.B) {
	dir := b.TempDir()
	writeBigState(b, filepath.Join(dir, "terraform.tfstate"))
	var containers []string
	for i := range 40 {
		containers = append(containers, fmt.Sprintf(`{
      "name": "svc%02[1]d",
      "image": "{{ must_env `+"`IMAGE`"+` }}",
      "environment": [
        {"name": "ROLE", "value": "{{ tfstate `+"`aws_iam_role.svc%02[1]d.arn`"+` }}"},
        {"name": "TG", "value": "{{ tfstate `+"`aws_lb_target_group.svc%02[1]d.arn`"+` }}"},
        {"name": "SG", "value": "{{ tfstatef `+"`aws_security_group.svc%%02d.id`"+` %[1]d }}"},
        {"name": "PARAM", "value": "{{ tfstate `+"`aws_ssm_parameter.svc%02[1]d.name`"+` }}"}
      ],
      "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "{{ tfstate `+"`aws_cloudwatch_log_group.svc%02[1]d.name`"+` }}"}}
    }`, i))
	}
	write(b, dir, "ecs-task-def.json", `{"family": "big", "containerDefinitions": [`+strings.Join(containers, ",")+`]}`)
	write(b, dir, "ecspresso.yml", "service: big\ntask_definition: ecs-task-def.json\nplugins:\n  - name: tfstate\n    config:\n      path: terraform.tfstate\n")

	ctx := context.Background()
	cfg, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{Dir: dir, LookupEnv: mapEnv(map[string]string{"IMAGE": "app@sha256:0000"})})
	if err != nil {
		b.Fatal(err)
	}
	td, err := cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if n := strings.Count(mustJSON(b, td), "arn:aws:"); n != 80 {
		b.Fatalf("rendered %d ARNs, want 80", n)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "terraform.tfstate")); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "state-MB")
	}
}

func mustJSON(b *testing.B, d *pipeline.Definition) string {
	js, err := d.JSON()
	if err != nil {
		b.Fatal(err)
	}
	return string(js)
}

package pipeline_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// badInputCase is one broken ecspresso project deployed to the simulator.
type badInputCase struct {
	name string
	// files replace or add to the files of testdata/deploy.
	files map[string]string
	env   map[string]string
	// unset are variables removed from the environment.
	unset []string
	opts  pipeline.DeployOptions
	// want is the error with the project directory written as ".": it names
	// the file and line, or the file and the key or field.
	want string
}

// bq turns ‵ into backquotes, which template arguments in .json files need
// and Go raw strings cannot hold.
func bq(s string) string { return strings.ReplaceAll(s, "‵", "`") }

func badInputCases(t *testing.T) []badInputCase {
	tfstate, err := filepath.Abs("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	config := func(extra string) string {
		return "region: us-east-1\ncluster: prod\nservice: web\ntask_definition: ecs-task-def.json\nservice_definition: ecs-service-def.jsonnet\n" + extra
	}
	taskDef := func(container string) string {
		return `{
  "family": "web",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    ` + container + `
  ]
}
`
	}
	big := make([]string, 0, 700)
	for i := range 700 {
		big = append(big, fmt.Sprintf(`{"name": "VAR_%03d", "value": "%s"}`, i, strings.Repeat("x", 80)))
	}

	return []badInputCase{
		{
			name:  "malformed YAML config",
			files: map[string]string{"ecspresso.yml": "region: us-east-1\ncluster: prod\nservice: web\n  task_definition: ecs-task-def.json\n"},
			want:  "./ecspresso.yml:4: parsing YAML: mapping values are not allowed in this context",
		},
		{
			name:  "config that is a list",
			files: map[string]string{"ecspresso.yml": "- region: us-east-1\n- service: web\n"},
			want:  "./ecspresso.yml: want an object of keys, not array",
		},
		{
			name:  "config that is a number",
			files: map[string]string{"ecspresso.yml": "0\n"},
			want:  "./ecspresso.yml: want an object of keys, not number",
		},
		{
			name:  "malformed JSON task definition",
			files: map[string]string{"ecs-task-def.json": taskDef(`{"name": "app" "image": "registry.example.com/web:v2"}`)},
			// A .json definition is a template, not Jsonnet (ecspresso util.go, readDefinitionFile).
			want: "./ecs-task-def.json:8: invalid character '\"' after object key:value pair",
		},
		{
			name:  "malformed Jsonnet service definition",
			files: map[string]string{"ecs-service-def.jsonnet": "{\n  launchType: 'FARGATE',\n  desiredCount: 1 +,\n}\n"},
			want:  "./ecs-service-def.jsonnet:3:20-21: evaluating Jsonnet: Unexpected: \",\" while parsing terminal",
		},
		{
			name:  "Jsonnet error in task definition",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "ecs-task-def.json", "ecs-task-def.jsonnet", 1), "ecs-task-def.jsonnet": "{\n  family: 'web',\n  cpu: std.native('env')('CPU'),\n}\n"},
			want:  "./ecs-task-def.jsonnet:3:8-32: evaluating Jsonnet: Missing argument: default",
		},
		{
			// An unknown key is a warning, as in ecspresso; the missing key it was meant to be is the error.
			name:  "misspelt task_definition key",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "task_definition:", "task_definiton:", 1)},
			want:  `./ecspresso.yml sets no task_definition (unknown key "task_definiton" is ignored)`,
		},
		{
			name:  "unknown task definition field",
			files: map[string]string{"ecs-task-def.json": taskDef(`{"name": "app", "image": "registry.example.com/web:v2", "portMapping": [{"containerPort": 8080}]}`)},
			want:  `./ecs-task-def.json: unknown key "portMapping"`,
		},
		{
			name:  "unknown service definition field",
			files: map[string]string{"ecs-service-def.jsonnet": "{\n  launchType: 'FARGATE',\n  desiredCnt: 1,\n}\n"},
			want:  `./ecs-service-def.jsonnet: unknown key "desiredCnt"`,
		},
		{
			name:  "task definition field of the wrong type",
			files: map[string]string{"ecs-task-def.json": taskDef(`{"name": "app", "image": "registry.example.com/web:v2", "memory": "512"}`)},
			want:  "./ecs-task-def.json: field containerDefinitions.memory: cannot use string as int32",
		},
		{
			name:  "template parse error in config",
			files: map[string]string{"ecspresso.yml": config("timeout: {{ env `TIMEOUT` `10m` \n")},
			want:  "rendering ./ecspresso.yml: template: ecspresso.yml:7: unclosed action started at ecspresso.yml:6",
		},
		{
			name:  "template parse error in task definition",
			files: map[string]string{"ecs-task-def.json": taskDef(bq(`{"name": "app", "image": "{{ no_such_function ‵IMAGE‵ }}"}`))},
			want:  `rendering ./ecs-task-def.json: template: ecs-task-def.json:8: function "no_such_function" not defined`,
		},
		{
			name:  "template execution error in task definition",
			files: map[string]string{"ecs-task-def.json": taskDef(bq(`{"name": "app", "image": "{{ ssm ‵/web/image‵ 1 2 }}"}`))},
			want:  `rendering ./ecs-task-def.json: template: ecs-task-def.json:8:33: executing "ecs-task-def.json" at <ssm ‵/web/image‵ 1 2>: error calling ssm: ssm /web/image: at most one index allowed`,
		},
		{
			name:  "missing must_env variable",
			files: map[string]string{"ecs-task-def.json": taskDef(bq(`{"name": "app", "image": "{{ must_env ‵IMAGE‵ }}"}`))},
			unset: []string{"IMAGE"},
			want:  `rendering ./ecs-task-def.json: template: ecs-task-def.json:8:33: executing "ecs-task-def.json" at <must_env ‵IMAGE‵>: error calling must_env: environment variable IMAGE is not set`,
		},
		{
			name:  "missing must_env variable in config",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "cluster: prod", "cluster: {{ must_env `CLUSTER` }}", 1)},
			want:  "rendering ./ecspresso.yml: template: ecspresso.yml:2:12: executing \"ecspresso.yml\" at <must_env `CLUSTER`>: error calling must_env: environment variable CLUSTER is not set",
		},
		{
			name: "missing tfstate address",
			files: map[string]string{
				"ecspresso.yml":     config("plugins:\n  - name: tfstate\n    config:\n      path: " + tfstate + "\n"),
				"ecs-task-def.json": taskDef(bq(`{"name": "app", "image": "registry.example.com/web:v2", "environment": [{"name": "ROLE", "value": "{{ tfstate ‵aws_iam_role.nope.arn‵ }}"}]}`)),
			},
			want: `rendering ./ecs-task-def.json: template: ecs-task-def.json:8:106: executing "ecs-task-def.json" at <tfstate ‵aws_iam_role.nope.arn‵>: error calling tfstate: aws_iam_role.nope.arn is not found in tfstate`,
		},
		{
			name:  "oversize task definition",
			files: map[string]string{"ecs-task-def.json": taskDef(`{"name": "app", "image": "registry.example.com/web:v2", "environment": [` + strings.Join(big, ",") + `]}`)},
			want:  "./ecs-task-def.json: task definition is 77198 bytes, over the ECS limit of 65536",
		},
		{
			name: "image that is not a reference",
			env:  map[string]string{"IMAGE": "not a ref!!"},
			want: `./ecs-task-def.json: container "app": image "not a ref!!" is not a valid image reference: could not parse reference: not a ref!!`,
		},
		{
			name: "image with an uppercase repository",
			env:  map[string]string{"IMAGE": "registry.example.com/Web:v2"},
			want: `./ecs-task-def.json: container "app": image "registry.example.com/Web:v2" is not a valid image reference: could not parse reference: registry.example.com/Web:v2`,
		},
		{
			name:  "empty image",
			files: map[string]string{"ecs-task-def.json": taskDef(`{"name": "app", "image": ""}`)},
			want:  `./ecs-task-def.json: container "app": image "" is not a valid image reference: could not parse reference: `,
		},
		{
			name: "image override that is not a reference",
			opts: pipeline.DeployOptions{ImageOverrides: map[string]string{"app": "registry.example.com/web@sha256:short"}},
			want: `./ecs-task-def.json: container "app": image "registry.example.com/web@sha256:short" is not a valid image reference: could not parse reference: registry.example.com/web@sha256:short`,
		},
		{
			name: "image override naming no container",
			opts: pipeline.DeployOptions{ImageOverrides: map[string]string{"web": "registry.example.com/web:v2"}},
			want: `./ecs-task-def.json: image override: no container named "web" (containers: app)`,
		},
		{
			name: "image not pinned by digest",
			env:  map[string]string{"IMAGE": "registry.example.com/web:v2"},
			opts: pipeline.DeployOptions{RequireDigest: true},
			want: `./ecs-task-def.json: container "app": image "registry.example.com/web:v2" is not pinned by digest`,
		},
		{
			name:  "region that is not a region name",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "us-east-1", "tokyo", 1)},
			want:  `./ecspresso.yml: region: "tokyo" is not an AWS region such as ap-northeast-1`,
		},
		{
			name:  "AWS_REGION that is not a region name",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "region: us-east-1\n", "", 1)},
			env:   map[string]string{"AWS_REGION": "US-EAST-1"},
			want:  `./ecspresso.yml: region (from AWS_REGION): "US-EAST-1" is not an AWS region such as ap-northeast-1`,
		},
		{
			name:  "cluster that does not exist",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "cluster: prod", "cluster: staging", 1)},
			want:  `describing service: service not found: service "web" not found in cluster "staging" (no such cluster)`,
		},
		{
			// Deploy creates a missing service (ecspresso v2), from the
			// service definition this config lacks.
			name:  "service that does not exist, and no service definition",
			files: map[string]string{"ecspresso.yml": strings.Replace(strings.Replace(config(""), "service: web", "service: api", 1), "service_definition: ecs-service-def.jsonnet\n", "", 1)},
			want:  `service not found: service "api" not found in cluster "prod", and ./ecspresso.yml sets no service_definition to create it from`,
		},
		{
			name:  "cluster name with characters ECS rejects",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "cluster: prod", "cluster: prod cluster!", 1)},
			want:  `./ecspresso.yml: cluster: "prod cluster!" is not a cluster name or ARN: want up to 255 letters, digits, '-' and '_'`,
		},
		{
			name:  "service name with characters ECS rejects",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "service: web", "service: web/app", 1)},
			want:  `./ecspresso.yml: service: "web/app" is not a service name: want up to 255 letters, digits, '-' and '_'`,
		},
		{
			name:  "no service",
			files: map[string]string{"ecspresso.yml": strings.Replace(config(""), "service: web\n", "", 1)},
			want:  "deploying: ./ecspresso.yml sets no service",
		},
	}
}

// TestDeployBadInput deploys broken projects to the simulator: each must
// fail with an error naming the file and line, key or field, and must not
// have changed anything.
func TestDeployBadInput(t *testing.T) {
	for _, c := range badInputCases(t) {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			e := newDeployEnv(t, nil)
			dir := t.TempDir()
			for _, name := range []string{"ecspresso.yml", "ecs-task-def.json", "ecs-service-def.jsonnet"} {
				b, err := os.ReadFile(filepath.Join("testdata/deploy", name))
				if err != nil {
					t.Fatal(err)
				}
				write(t, dir, name, string(b))
			}
			for name, content := range c.files {
				write(t, dir, name, content)
			}
			env := map[string]string{"IMAGE": "registry.example.com/web:v2"}
			for k, v := range c.env {
				env[k] = v
			}
			for _, k := range c.unset {
				delete(env, k)
			}
			opts := c.opts
			opts.NoWait = true
			err := deployProject(e, dir, env, opts)
			if err == nil {
				t.Fatalf("deployed; want error %q", c.want)
			}
			got := strings.ReplaceAll(err.Error(), dir, ".")
			if want := bq(c.want); !strings.Contains(got, want) {
				t.Errorf("error\n  %s\nwant it to contain\n  %s", got, want)
			}
			if m := e.mutating(); len(m) > 0 {
				t.Errorf("mutating requests sent: %v", m)
			}
		})
	}
}

// deployProject loads the project in dir and deploys it.
func deployProject(e *deployEnv, dir string, env map[string]string, opts pipeline.DeployOptions) error {
	cfg, err := pipeline.LoadConfig(e.ctx, pipeline.LoadConfigOptions{Dir: dir, LookupEnv: mapEnv(env)})
	if err != nil {
		return err
	}
	_, err = pipeline.Deploy(e.ctx, e.ecs, cfg, opts)
	return err
}

// TestLoadConfigNames checks that the name checks of the corpus let through
// what ECS takes: a cluster ARN, names with '-' and '_' and no region at all.
func TestLoadConfigNames(t *testing.T) {
	const arn = "arn:aws:ecs:ap-northeast-1:123456789012:cluster/prod_cluster-1"
	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", "cluster: "+arn+"\nservice: web_app-2\n")
	cfg, err := pipeline.LoadConfig(t.Context(), pipeline.LoadConfigOptions{Dir: dir, LookupEnv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cluster != arn || cfg.Service != "web_app-2" || cfg.Region != "" {
		t.Errorf("cluster %q, service %q, region %q", cfg.Cluster, cfg.Service, cfg.Region)
	}
}

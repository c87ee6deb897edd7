package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// compatCase is testdata/compat/<case>/case.json: an ecspresso v2.8
// user's files, where their style comes from, and what ecspresso's
// documented behaviour makes of them.
type compatCase struct {
	// Source names the ecspresso README section, docs page or test file
	// the case follows.
	Source      string `json:"source"`
	Description string `json:"description"`
	// ConfigFile is the config to load; empty finds ecspresso.yml and the
	// other default names.
	ConfigFile string            `json:"config_file"`
	Env        map[string]string `json:"env"`
	EnvFiles   []string          `json:"envfiles"`
	ExtStr     map[string]string `json:"ext_str"`
	ExtCode    map[string]string `json:"ext_code"`
	// AWS is true when the case looks things up in AWS (moto); otherwise
	// any AWS call fails the case.
	AWS bool `json:"aws"`
	// Error, when set, must appear in the error of loading or rendering.
	Error string `json:"error"`
	// Warnings must each appear in one of the config's warnings, and
	// there must be no others.
	Warnings []string `json:"warnings"`
	// Config holds expected config values: region, cluster, service,
	// timeout (a Go duration string), ignore_tags.
	Config map[string]any `json:"config"`
}

// TestCompatCorpus walks testdata/compat. Each case loads its config,
// renders its task (and service) definitions, and compares them as JSON
// with task.golden.json (and service.golden.json), written by hand from
// ecspresso's documentation and tests; or expects the error it names.
// AWS lookups go to one moto server seeded below.
func TestCompatCorpus(t *testing.T) {
	dirs, err := filepath.Glob("testdata/compat/*")
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && !strings.HasPrefix(filepath.Base(d), "_") {
			cases = append(cases, d)
		}
	}
	if len(cases) < 40 {
		t.Fatalf("found %d cases in testdata/compat, want at least 40", len(cases))
	}
	clients, calls := seedCompatMoto(t)
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var c compatCase
			b, err := os.ReadFile(filepath.Join(dir, "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("case.json: %v", err)
			}
			if c.Source == "" {
				t.Fatal("case.json names no source")
			}
			before := calls()
			abs, _ := filepath.Abs(dir)
			runCompatCase(t, abs, c, clients)
			if n := calls() - before; !c.AWS && n > 0 {
				t.Errorf("made %d AWS calls; the case has no AWS lookups", n)
			}
		})
	}
}

func runCompatCase(t *testing.T, dir string, c compatCase, clients *pipeline.AWS) {
	ctx := context.Background()
	var envFiles []string
	for _, f := range c.EnvFiles {
		envFiles = append(envFiles, filepath.Join(dir, f))
	}
	got := map[string]*pipeline.Definition{}
	opts := pipeline.LoadConfigOptions{
		Dir: dir, LookupEnv: mapEnv(c.Env), EnvFiles: envFiles,
		ExtStr: c.ExtStr, ExtCode: c.ExtCode, AWS: clients,
	}
	if c.ConfigFile != "" {
		opts.Path = filepath.Join(dir, c.ConfigFile)
	}
	cfg, err := pipeline.LoadConfig(ctx, opts)
	if err == nil {
		checkCompatConfig(t, cfg, c)
		if cfg.TaskDefinition != "" {
			var td *pipeline.Definition
			if td, err = cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{}); err == nil {
				got["task.golden.json"] = td
				_, err = pipeline.TaskDefinitionInput(td)
			}
		}
		if err == nil && cfg.ServiceDefinition != "" {
			var sd *pipeline.Definition
			if sd, err = cfg.RenderServiceDefinition(ctx); err == nil {
				got["service.golden.json"] = sd
				_, err = pipeline.ServiceDefinitionInput(sd)
			}
		}
	}
	switch {
	case c.Error != "" && err == nil:
		t.Fatalf("want an error containing %q, got none", c.Error)
	case c.Error != "":
		if !strings.Contains(err.Error(), c.Error) {
			t.Fatalf("error %q lacks %q", err, c.Error)
		}
		return
	case err != nil:
		t.Fatal(err)
	}
	for _, name := range []string{"task.golden.json", "service.golden.json"} {
		want, rerr := os.ReadFile(filepath.Join(dir, name))
		d, ok := got[name]
		switch {
		case rerr != nil && ok:
			t.Errorf("%s: rendered, but there is no golden file", name)
		case rerr == nil && !ok:
			t.Errorf("%s: golden file, but nothing rendered", name)
		case ok:
			compareJSON(t, name, want, d)
		}
	}
}

func checkCompatConfig(t *testing.T, cfg *pipeline.Config, c compatCase) {
	t.Helper()
	for _, w := range c.Warnings {
		found := false
		for _, g := range cfg.Warnings {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("no warning contains %q; warnings: %q", w, cfg.Warnings)
		}
	}
	if len(cfg.Warnings) != len(c.Warnings) {
		t.Errorf("got %d warnings %q, want %d", len(cfg.Warnings), cfg.Warnings, len(c.Warnings))
	}
	gotCfg := map[string]any{
		"region": cfg.Region, "cluster": cfg.Cluster, "service": cfg.Service,
		"timeout": cfg.Timeout.String(), "ignore_tags": cfg.Ignore.Tags,
	}
	for k, want := range c.Config {
		g, _ := json.Marshal(gotCfg[k])
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("config %s = %s, want %s", k, g, w)
		}
	}
}

// compareJSON compares a rendered definition with a golden file as JSON
// values, so the golden file may be laid out by hand. A golden string
// "re:PATTERN" matches strings by regular expression, for values moto
// makes up such as secret ARNs.
func compareJSON(t *testing.T, name string, want []byte, d *pipeline.Definition) {
	t.Helper()
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(js, &g); err != nil {
		t.Fatal(err)
	}
	if !matchJSON(w, g) {
		t.Errorf("%s mismatch\n--- want\n%s\n--- got\n%s", name, want, js)
	}
}

func matchJSON(want, got any) bool {
	switch w := want.(type) {
	case string:
		if p, ok := strings.CutPrefix(w, "re:"); ok {
			g, ok := got.(string)
			return ok && regexp.MustCompile(p).MatchString(g)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !matchJSON(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !matchJSON(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// seedCompatMoto starts moto with what the corpus looks up and returns
// clients for it and a count of the calls made through them.
func seedCompatMoto(t *testing.T) (*pipeline.AWS, func() int) {
	ctx := context.Background()
	endpoint := motoserver.Start(t)
	seed, err := pipeline.NewAWS(ctx, pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test", EndpointURL: endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	sm := ssm.NewFromConfig(seed.Config)
	for _, p := range []struct {
		name, value string
		typ         ssmtypes.ParameterType
	}{
		{"/app/image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + strings.Repeat("a", 64), ssmtypes.ParameterTypeString},
		{"/app/subnets", "subnet-s0,subnet-s1,subnet-s2", ssmtypes.ParameterTypeStringList},
		{"/app/db-password", "p@$$W0RD", ssmtypes.ParameterTypeSecureString},
	} {
		if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(p.name), Value: aws.String(p.value), Type: p.typ}); err != nil {
			t.Fatal(err)
		}
	}
	sec := secretsmanager.NewFromConfig(seed.Config)
	for _, name := range []string{"app/db", "app/prod/api-key"} {
		if _, err := sec.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("s3cr3t")}); err != nil {
			t.Fatal(err)
		}
	}
	cfn := cloudformation.NewFromConfig(seed.Config)
	template := `{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "compat"}}},
	  "Outputs": {
	    "VpcId": {"Value": "vpc-cfn0123"},
	    "SubnetId": {"Value": "subnet-cfn0", "Export": {"Name": "app-subnet"}}}}`
	if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String("app-network"), TemplateBody: aws.String(template)}); err != nil {
		t.Fatal(err)
	}
	s3c := s3.NewFromConfig(seed.Config, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("compat-tfstate")}); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile("testdata/compat/_tfstate/b.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("compat-tfstate"), Key: aws.String("app/terraform.tfstate"), Body: bytes.NewReader(state)}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	n := 0
	cfg := seed.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				mu.Lock()
				n++
				mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	return pipeline.NewAWSFromConfig(cfg), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

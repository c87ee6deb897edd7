package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// EcsService is an ECS service as an ecspresso config in the source describes
// it: the functions on it render, compare, check and deploy it.
type EcsService struct {
	// +private
	Mod *EcsPipeline
	// The ecspresso config, relative to the source; empty finds
	// ecspresso.yml, .yaml, .json or .jsonnet as ecspresso does.
	Config string
	// The image to deploy, a digest-pinned reference from publish: read by
	// definitions as the IMAGE variable (must_env, std.native('must_env'),
	// or the Jsonnet ext var IMAGE).
	Image string
	// Container images set after rendering, as NAME=REFERENCE.
	ContainerImage []string
	// Variables for the templates, as NAME=VALUE.
	Env []string
	// Env files in the source (KEY=VALUE lines), loaded before rendering.
	Envfile []string
	// +private
	SecretEnvfile []*dagger.Secret
	// Jsonnet external variables, as NAME=VALUE and NAME=EXPRESSION.
	ExtStr  []string
	ExtCode []string
}

// Service returns the ECS service an ecspresso config in the source
// describes, to render, diff, verify, deploy, roll back or inspect.
func (m *EcsPipeline) Service(
	// The ecspresso config, relative to the source; found as ecspresso
	// finds it when empty.
	// +optional
	config string,
	// The image to deploy, digest-pinned (repository:tag@sha256:...), as
	// publish prints it. Definitions read it as IMAGE.
	// +optional
	image string,
	// Set a container's image after rendering: NAME=REFERENCE; repeat for
	// several.
	// +optional
	containerImage []string,
	// A variable for the templates (env, must_env): NAME=VALUE; repeat for
	// several. The engine's environment is not visible to the module.
	// Dagger reads each value as CSV: quote one holding a comma or a quote
	// ('"LEVELS=warn,debug"'), or pass it in --secret-envfile.
	// +optional
	env []string,
	// An env file in the source, loaded before rendering; repeat for several.
	// Read literally, as ecspresso reads --envfile.
	// +optional
	envfile []string,
	// Env file lines held in a Dagger secret (file://.env.production,
	// env://APP_ENV, cmd://"sops -d prod.env"), loaded like --envfile
	// after it: values with commas, quotes, newlines or JSON reach the
	// templates unchanged, and never appear in arguments or traces.
	// +optional
	secretEnvfile []*dagger.Secret,
	// A Jsonnet external string variable: NAME=VALUE.
	// +optional
	extStr []string,
	// A Jsonnet external code variable: NAME=EXPRESSION.
	// +optional
	extCode []string,
) *EcsService {
	return &EcsService{Mod: m, Config: config, Image: image, ContainerImage: containerImage,
		Env: env, Envfile: envfile, SecretEnvfile: secretEnvfile, ExtStr: extStr, ExtCode: extCode}
}

// Render the task definition as a deploy would register it (keys sorted,
// nulls and empty lists dropped), or the service definition with
// serviceName set to the config's service, as ecspresso renders it.
// Nothing in AWS changes; lookups (ssm, secretsmanager_arn, s3:// tfstate)
// read it.
// +cache="never"
func (s *EcsService) Render(
	ctx context.Context,
	// What to render: task-definition or service-definition.
	// +default="task-definition"
	what string,
) (string, error) {
	c, err := s.load(ctx)
	if err != nil {
		return "", err
	}
	var def *pipeline.Definition
	switch what {
	case "task-definition":
		def, err = c.cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{ImageOverrides: c.overrides})
	case "service-definition":
		def, err = c.cfg.RenderServiceDefinition(ctx)
	default:
		return "", fmt.Errorf("--what %q: want task-definition or service-definition", what)
	}
	if err != nil {
		return "", inSource(err)
	}
	out, err := def.JSON()
	return string(out), inSource(err)
}

// sourceDir is where the source is written inside the module's container,
// so the library reads it as files.
const sourceDir = "/src"

// loaded is the service's ecspresso config, read from the source, and the
// container images to set after rendering (--container-image).
type loaded struct {
	cfg       *pipeline.Config
	overrides map[string]string
}

// load writes the source out and loads the ecspresso config from it, with
// the service's variables and the module's AWS credentials and endpoint.
func (s *EcsService) load(ctx context.Context) (*loaded, error) {
	overrides, err := keyValues("--container-image", s.ContainerImage)
	if err != nil {
		return nil, err
	}
	if _, err := s.Mod.Source.WithoutDirectory(".git").Export(ctx, sourceDir); err != nil {
		return nil, fmt.Errorf("reading the source: %w", err)
	}
	env, err := keyValues("--env", s.Env)
	if err != nil {
		return nil, err
	}
	extStr, err := keyValues("--ext-str", s.ExtStr)
	if err != nil {
		return nil, err
	}
	extCode, err := keyValues("--ext-code", s.ExtCode)
	if err != nil {
		return nil, err
	}
	for i, secret := range s.SecretEnvfile {
		text, err := secret.Plaintext(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading --secret-envfile %d: %w", i+1, err)
		}
		vars, err := pipeline.ParseEnvFile(fmt.Sprintf("--secret-envfile %d", i+1), strings.NewReader(text))
		if err != nil {
			return nil, err
		}
		maps.Copy(env, vars)
	}
	if s.Image != "" {
		env["IMAGE"] = s.Image
		if _, set := extStr["IMAGE"]; !set {
			extStr["IMAGE"] = s.Image
		}
	}
	opts := pipeline.LoadConfigOptions{
		Dir:       sourceDir,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ExtStr:    extStr,
		ExtCode:   extCode,
	}
	if s.Config != "" {
		opts.Path = sourceDir + "/" + strings.TrimPrefix(s.Config, "/")
		if _, err := os.Stat(opts.Path); err != nil {
			return nil, fmt.Errorf("--config %q: no such file in the source", s.Config)
		}
	}
	if s.Mod.TFStateFile != "" {
		opts.TFStateFile = sourceDir + "/" + strings.TrimPrefix(s.Mod.TFStateFile, "/")
		if _, err := os.Stat(opts.TFStateFile); err != nil {
			return nil, fmt.Errorf("--tfstate %q: no such file in the source", s.Mod.TFStateFile)
		}
	}
	for _, f := range s.Envfile {
		opts.EnvFiles = append(opts.EnvFiles, sourceDir+"/"+strings.TrimPrefix(f, "/"))
	}
	// Lookups run in the config's region; --region stands in for
	// AWS_REGION, which the config falls back to.
	if _, set := env["AWS_REGION"]; !set && s.Mod.Region != "" {
		env["AWS_REGION"] = s.Mod.Region
	}
	if opts.AWSOptions, err = s.Mod.awsOptions(ctx); err != nil {
		return nil, err
	}
	cfg, err := pipeline.LoadConfig(ctx, opts)
	if err != nil {
		return nil, inSource(err)
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", inSource(errors.New(w)))
	}
	return &loaded{cfg: cfg, overrides: overrides}, nil
}

// keyValues parses NAME=VALUE arguments.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want NAME=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// inSource shows paths in an error relative to the source directory, as
// the user knows them.
func inSource(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.ReplaceAll(err.Error(), sourceDir+"/", ""))
}

// Verify that what the definitions refer to exists, changing nothing:
// images in ECR (by digest), the task and execution roles and their trust
// of ecs-tasks.amazonaws.com, log groups, secrets and SSM parameters, the
// cluster, the service and its target groups. Prints one line per check;
// fails when a check fails.
// +cache="never"
func (s *EcsService) Verify(
	ctx context.Context,
	// Output format: text, or markdown for a CI job summary.
	// +default="text"
	format string,
	// Print the report without failing when a check fails.
	// +optional
	allowFailures bool,
) (string, error) {
	if format != "text" && format != "markdown" {
		return "", fmt.Errorf("--format %q: want text or markdown", format)
	}
	c, _, err := s.prepare(ctx, "")
	if err != nil {
		return "", err
	}
	report, err := pipeline.Verify(ctx, c.clients, c.cfg, pipeline.VerifyOptions{ImageOverrides: c.overrides})
	if err != nil {
		return "", inSource(err)
	}
	out := report.String()
	if format == "markdown" {
		out = report.Markdown()
	}
	if !report.OK() && !allowFailures {
		return "", fmt.Errorf("verify found problems:\n%s", report.String())
	}
	return out, nil
}

package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
)

// EcsService is an ECS service as an ecspresso config in the source describes
// it: the functions on it render, compare, check and deploy it.
type EcsService struct {
	// +private
	Mod *EcsPipeline
	// The ecspresso configs, relative to the source; none finds
	// ecspresso.yml, .yaml, .json or .jsonnet as ecspresso does. Only
	// deploy takes several (one service each, deployed together).
	Config []string
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
	// finds it when none. Repeat, or give a glob (services/*/ecspresso.yml),
	// to deploy several services together: one image, one call.
	// +optional
	config []string,
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

// engine is the engine image set up for this service (see container),
// and the global flags for it: the AWS endpoint's and those that name the
// config and its inputs.
func (s *EcsService) engine(ctx context.Context) (*dagger.Container, []string, error) {
	ctr, args, err := s.container(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ctr, append(args, s.flags()...), nil
}

// container is the engine image set up for this service: the module's AWS
// settings, --env as environment variables (what the templates read, as
// ecspresso reads its own environment), the secret env files mounted as
// files; and the AWS endpoint's global flags.
func (s *EcsService) container(ctx context.Context) (*dagger.Container, []string, error) {
	env, err := keyValues("--env", s.Env)
	if err != nil {
		return nil, nil, err
	}
	for flag, kvs := range map[string][]string{"--container-image": s.ContainerImage, "--ext-str": s.ExtStr, "--ext-code": s.ExtCode} {
		if _, err := keyValues(flag, kvs); err != nil {
			return nil, nil, err
		}
	}
	ctr, args, err := s.Mod.awsEngine(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		ctr = ctr.WithEnvVariable(k, env[k])
	}
	for i, secret := range s.SecretEnvfile {
		ctr = ctr.WithMountedSecret(secretEnvfilePath(i), secret)
	}
	return ctr, args, nil
}

// secretEnvfilePath is where the engine finds the i-th secret env file.
func secretEnvfilePath(i int) string {
	return fmt.Sprintf("/run/secrets/ecs-pipeline-envfile-%d", i+1)
}

// flags are the engine's global flags that name the config and its
// inputs, in a container set up by engine.
func (s *EcsService) flags() []string {
	var args []string
	for _, c := range s.Config {
		args = append(args, "--config="+strings.TrimPrefix(c, "/"))
	}
	if s.Mod.TFStateFile != "" {
		args = append(args, "--tfstate="+strings.TrimPrefix(s.Mod.TFStateFile, "/"))
	}
	if s.Image != "" {
		args = append(args, "--image="+s.Image)
	}
	for _, f := range s.Envfile {
		args = append(args, "--envfile="+strings.TrimPrefix(f, "/"))
	}
	for i := range s.SecretEnvfile {
		args = append(args, "--secret-envfile="+secretEnvfilePath(i))
	}
	for _, f := range []struct {
		flag string
		kvs  []string
	}{{"--container-image", s.ContainerImage}, {"--ext-str", s.ExtStr}, {"--ext-code", s.ExtCode}} {
		for _, kv := range f.kvs {
			args = append(args, f.flag+"="+kv)
		}
	}
	return args
}

// run runs one engine command on this service.
func (s *EcsService) run(ctx context.Context, command ...string) (*ran, error) {
	ctr, args, err := s.engine(ctx)
	if err != nil {
		return nil, err
	}
	return run(ctx, ctr, append(args, command...)...)
}

// output runs one engine command on this service and returns what it
// printed.
func (s *EcsService) output(ctx context.Context, command ...string) (string, error) {
	r, err := s.run(ctx, command...)
	if err != nil {
		return "", err
	}
	return r.Stdout, nil
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

// changeFlags are the CLI flags of a change the caller may dry-run, not
// wait for, or bound.
func changeFlags(dryRun, noWait bool, timeout string) []string {
	return slices.Concat(flagIf(dryRun, "--dry-run"), flagIf(noWait, "--no-wait"), flagIf(timeout != "", "--timeout="+timeout))
}

// flagIf is flag when set, else nothing.
func flagIf(set bool, flag string) []string {
	if set {
		return []string{flag}
	}
	return nil
}

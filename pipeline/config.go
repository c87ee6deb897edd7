package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/joho/godotenv"
)

// CompatibleVersion is the ecspresso version whose config files, template
// functions and Jsonnet natives this package implements. A config's
// required_version constraint is checked against it.
const CompatibleVersion = "2.8.0"

// DefaultConfigNames are the file names LoadConfig tries, in order, when no
// path is given.
var DefaultConfigNames = []string{"ecspresso.yml", "ecspresso.yaml", "ecspresso.json", "ecspresso.jsonnet"}

const (
	defaultCluster = "default"
	defaultTimeout = 10 * time.Minute
)

// Config is a loaded ecspresso v2 configuration. Paths are absolute, resolved
// against the directory of the config file.
type Config struct {
	// Path is the config file.
	Path string
	// RequiredVersion is the version constraint from the file, if any.
	RequiredVersion string
	// Region is the AWS region; AWS_REGION when the file does not set it.
	Region string
	// Cluster is the ECS cluster name, "default" when unset.
	Cluster string
	// Service is the ECS service name.
	Service string
	// ServiceDefinition is the service definition file, if any.
	ServiceDefinition string
	// TaskDefinition is the task definition file.
	TaskDefinition string
	// Timeout bounds waiting for a deploy, 10 minutes when unset.
	Timeout time.Duration
	// Plugins are the configured plugins, already loaded.
	Plugins []Plugin
	// Ignore lists what comparisons leave out.
	Ignore Ignore

	r *renderer
}

// Plugin is one entry of the config's plugins list.
type Plugin struct {
	// Name is the plugin name; only "tfstate" is supported.
	Name string `json:"name"`
	// Config is the plugin's settings; tfstate takes "url" or "path".
	Config map[string]any `json:"config"`
	// FuncPrefix is prepended to the names of the plugin's functions.
	FuncPrefix string `json:"func_prefix"`
}

// Ignore lists what comparisons and updates leave out.
type Ignore struct {
	// Tags are tag keys ignored when comparing definitions.
	Tags []string `json:"tags"`
}

// LoadConfigOptions configures LoadConfig. The zero value finds the config
// in the current directory and reads the process environment.
type LoadConfigOptions struct {
	// Path is the config file; empty tries DefaultConfigNames in Dir.
	Path string
	// Dir is where to look when Path is empty; empty means ".".
	Dir string
	// EnvFiles are KEY=VALUE files loaded before anything is rendered; later
	// files override earlier ones and all override the environment, like
	// ecspresso's --envfile.
	EnvFiles []string
	// LookupEnv reads environment variables; nil means os.LookupEnv. The
	// process environment is never modified.
	LookupEnv func(string) (string, bool)
	// ExtStr and ExtCode are Jsonnet external variables (--ext-str, --ext-code).
	ExtStr  map[string]string
	ExtCode map[string]string
	// AWS provides the clients for ssm, secretsmanager_arn and s3:// tfstate
	// lookups; nil builds them on first use with NewAWS and AWSOptions.
	AWS *AWS
	// AWSOptions configure the clients built when AWS is nil; an empty
	// Region means the config's region.
	AWSOptions AWSOptions
	// TFStateFile, when set, is read by every tfstate plugin instead of
	// the url or path its config names: a local copy of the state, for a
	// rehearsal away from the real backend.
	TFStateFile string
}

// rawConfig is the file format; unknown keys are rejected.
type rawConfig struct {
	RequiredVersion   string   `json:"required_version"`
	Region            string   `json:"region"`
	Cluster           string   `json:"cluster"`
	Service           string   `json:"service"`
	ServiceDefinition string   `json:"service_definition"`
	TaskDefinition    string   `json:"task_definition"`
	Timeout           string   `json:"timeout"`
	Plugins           []Plugin `json:"plugins"`
	Ignore            Ignore   `json:"ignore"`
}

// LoadConfig finds, renders, parses and checks an ecspresso config, then
// loads its plugins so that definitions can be rendered with it.
func LoadConfig(ctx context.Context, opts LoadConfigOptions) (*Config, error) {
	path, err := findConfig(opts)
	if err != nil {
		return nil, err
	}
	env, err := loadEnv(opts.EnvFiles, opts.LookupEnv)
	if err != nil {
		return nil, err
	}
	r := newRenderer(env, opts.ExtStr, opts.ExtCode, opts.AWS)
	r.awsOpts = opts.AWSOptions
	r.tfstateFile = opts.TFStateFile
	body, err := r.renderFile(ctx, path)
	if err != nil {
		return nil, err
	}
	var raw rawConfig
	if err := decodeStrict(path, body, &raw); err != nil {
		return nil, err
	}
	c := &Config{
		Path:            path,
		RequiredVersion: raw.RequiredVersion,
		Region:          raw.Region,
		Cluster:         raw.Cluster,
		Service:         raw.Service,
		Timeout:         defaultTimeout,
		Plugins:         raw.Plugins,
		Ignore:          raw.Ignore,
		r:               r,
	}
	regionFrom := "region"
	if c.Region == "" {
		c.Region, _ = env("AWS_REGION")
		regionFrom = "region (from AWS_REGION)"
	}
	if c.Region != "" && !awsRegion.MatchString(c.Region) {
		return nil, fmt.Errorf("%s: %s: %q is not an AWS region such as ap-northeast-1", path, regionFrom, c.Region)
	}
	r.region = c.Region
	if c.Cluster == "" {
		c.Cluster = defaultCluster
	}
	if err := checkNames(c.Cluster, c.Service); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if raw.Timeout != "" {
		if c.Timeout, err = time.ParseDuration(raw.Timeout); err != nil {
			return nil, fmt.Errorf("%s: timeout: %w", path, err)
		}
	}
	if err := checkRequiredVersion(raw.RequiredVersion); err != nil {
		return nil, fmt.Errorf("%s: required_version: %w", path, err)
	}
	c.TaskDefinition = c.resolve(raw.TaskDefinition)
	c.ServiceDefinition = c.resolve(raw.ServiceDefinition)
	for i, p := range c.Plugins {
		if err := r.loadPlugin(ctx, filepath.Dir(path), p); err != nil {
			return nil, fmt.Errorf("%s: plugins[%d]: %w", path, i, err)
		}
	}
	return c, nil
}

// Clients returns the AWS clients the config's lookups use, building them
// on first use for the config's region (see LoadConfigOptions.AWSOptions).
func (c *Config) Clients(ctx context.Context) (*AWS, error) { return c.r.clients(ctx) }

// relative names a file as the user wrote it: relative to the config's
// directory when it lies under it.
func (c *Config) relative(p string) string {
	if rel, err := filepath.Rel(filepath.Dir(c.Path), p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// resolve makes p relative to the config file's directory.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

func findConfig(opts LoadConfigOptions) (string, error) {
	if opts.Path != "" {
		return filepath.Abs(opts.Path)
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	for _, name := range DefaultConfigNames {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("finding config: %w", err)
		}
	}
	return "", fmt.Errorf("finding config: none of %s in %s", strings.Join(DefaultConfigNames, ", "), dir)
}

// loadEnv layers the env files over lookup.
func loadEnv(files []string, lookup func(string) (string, bool)) (func(string) (string, bool), error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if len(files) == 0 {
		return lookup, nil
	}
	vars := map[string]string{}
	for _, f := range files {
		m, err := godotenv.Read(f)
		if err != nil {
			return nil, fmt.Errorf("reading envfile %s: %w", f, err)
		}
		for k, v := range m {
			vars[k] = v
		}
	}
	return func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		return lookup(k)
	}, nil
}

// checkNames rejects cluster and service names ECS would refuse, before any
// call is made with them. A cluster may also be given by its ARN.
func checkNames(cluster, service string) error {
	name := cluster
	if strings.HasPrefix(cluster, "arn:") {
		_, name, _ = strings.Cut(cluster, ":cluster/")
	}
	if !ecsName.MatchString(name) {
		return fmt.Errorf("cluster: %q is not a cluster name or ARN: want up to 255 letters, digits, '-' and '_'", cluster)
	}
	if service != "" && !ecsName.MatchString(service) {
		return fmt.Errorf("service: %q is not a service name: want up to 255 letters, digits, '-' and '_'", service)
	}
	return nil
}

func checkRequiredVersion(constraint string) error {
	if constraint == "" {
		return nil
	}
	cs, err := version.NewConstraint(constraint)
	if err != nil {
		return err
	}
	if !cs.Check(version.Must(version.NewVersion(CompatibleVersion))) {
		return fmt.Errorf("%q is not satisfied by ecspresso %s, the version ecs-pipeline is compatible with", constraint, CompatibleVersion)
	}
	return nil
}

// decodeStrict decodes JSON into v, rejecting unknown keys, with errors that
// name the file and the key or line.
func decodeStrict(path string, body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(path, body, err)
	}
	return nil
}

// jsonError names the file and the line, field or key of a JSON decoding error.
func jsonError(path string, body []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s:%d: %w", path, lineOf(body, syn.Offset), err)
	case errors.As(err, &typ) && typ.Field == "":
		// The whole file: a list or a scalar where an object belongs.
		return fmt.Errorf("%s: want an object of keys, not %s", path, typ.Value)
	case errors.As(err, &typ):
		// The line would point into re-encoded JSON; the field path is exact.
		return fmt.Errorf("%s: field %s: cannot use %s as %s", path, fieldPath(typ.Field), typ.Value, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: unknown key %s", path, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("%s: %w", path, err)
}

// fieldPath spells a Go field path such as ContainerDefinitions.Memory the
// way the files do: containerDefinitions.memory.
func fieldPath(p string) string {
	parts := strings.Split(p, ".")
	for i, s := range parts {
		parts[i] = apiName(s)
	}
	return strings.Join(parts, ".")
}

// lineOf returns the 1-based line of a byte offset.
func lineOf(body []byte, offset int64) int {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	return bytes.Count(body[:offset], []byte("\n")) + 1
}

package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-envparse"
	"github.com/hashicorp/go-version"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// CompatibleVersion is the ecspresso version whose config files, template
// functions and Jsonnet natives this package implements. A config's
// required_version constraint is checked against it. 2.8.5 is the release
// that added tfstate's optional: true (ecspresso CHANGELOG.md), the newest
// loading behaviour followed here.
const CompatibleVersion = "2.8.5"

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
	// CodeDeploy, AppSpec and FilterCommand are accepted as ecspresso
	// accepts them, and not acted on: each one set adds a warning.
	CodeDeploy    *CodeDeploy
	AppSpec       json.RawMessage
	FilterCommand string
	// Warnings are what ecspresso would log as [WARNING] while loading,
	// such as unknown keys, and what this package accepts but ignores.
	// Callers should print them.
	Warnings []string

	r *renderer
}

// CodeDeploy is the config's codedeploy section.
type CodeDeploy struct {
	ApplicationName     string `json:"application_name"`
	DeploymentGroupName string `json:"deployment_group_name"`
}

// Plugin is one entry of the config's plugins list.
type Plugin struct {
	// Name is the plugin: tfstate, cloudformation, ssm or secretsmanager,
	// in any case.
	Name string `json:"name"`
	// Config is the plugin's settings; tfstate takes "path" or "url" and
	// "optional".
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

// rawConfig is the file format, the keys of ecspresso v2.8's Config
// (config.go). Unknown keys are warned about and ignored, as ecspresso's
// unmarshalJSON does.
type rawConfig struct {
	RequiredVersion   string          `json:"required_version"`
	Region            string          `json:"region"`
	Cluster           string          `json:"cluster"`
	Service           string          `json:"service"`
	ServiceDefinition string          `json:"service_definition"`
	TaskDefinition    string          `json:"task_definition"`
	Timeout           json.RawMessage `json:"timeout"`
	Plugins           []Plugin        `json:"plugins"`
	Ignore            *Ignore         `json:"ignore"`
	CodeDeploy        *CodeDeploy     `json:"codedeploy"`
	AppSpec           json.RawMessage `json:"appspec"`
	FilterCommand     string          `json:"filter_command"`
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
	body, err := r.renderConfig(ctx, path)
	if err != nil {
		return nil, err
	}
	var raw rawConfig
	warnings, err := decodeLenient(path, body, &raw)
	if err != nil {
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
		CodeDeploy:      raw.CodeDeploy,
		FilterCommand:   raw.FilterCommand,
		Warnings:        warnings,
		r:               r,
	}
	if raw.Ignore != nil {
		c.Ignore = *raw.Ignore
	}
	if a := bytes.TrimSpace(raw.AppSpec); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		c.AppSpec = a
	}
	c.warnUnused()
	regionFrom := "region"
	if c.Region == "" {
		c.Region, _ = env("AWS_REGION")
		regionFrom = "region (from AWS_REGION)"
	}
	if c.Region != "" && !ref.AWSRegion.MatchString(c.Region) {
		return nil, fmt.Errorf("%s: %s: %q is not an AWS region such as ap-northeast-1", path, regionFrom, c.Region)
	}
	r.region = c.Region
	if c.Cluster == "" {
		c.Cluster = defaultCluster
	}
	if err := checkNames(c.Cluster, c.Service); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(raw.Timeout) > 0 {
		var warn string
		if c.Timeout, warn, err = parseTimeout(raw.Timeout); err != nil {
			return nil, fmt.Errorf("%s: timeout: %w", path, err)
		}
		if warn != "" {
			c.Warnings = append(c.Warnings, path+": timeout: "+warn)
		}
	}
	if err := checkRequiredVersion(raw.RequiredVersion); err != nil {
		return nil, fmt.Errorf("%s: required_version: %w", path, err)
	}
	c.TaskDefinition = c.resolve(raw.TaskDefinition)
	c.ServiceDefinition = c.resolve(raw.ServiceDefinition)
	for i, p := range c.Plugins {
		warn, err := r.loadPlugin(ctx, filepath.Dir(path), p)
		if err != nil {
			return nil, fmt.Errorf("%s: plugins[%d]: %w", path, i, err)
		}
		if warn != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: plugins[%d]: %s", path, i, warn))
		}
	}
	return c, nil
}

// unknownKeysHint recalls the unknown keys, which may be a misspelling of
// a missing one.
func (c *Config) unknownKeysHint() string {
	var keys []string
	for _, w := range c.Warnings {
		if _, rest, ok := strings.Cut(w, ": unknown key "); ok {
			keys = append(keys, "unknown key "+rest)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return " (" + strings.Join(keys, "; ") + ")"
}

// warnUnused adds a warning for each key that is accepted, as ecspresso
// accepts it, but changes nothing here.
func (c *Config) warnUnused() {
	if c.CodeDeploy != nil {
		c.Warnings = append(c.Warnings, c.Path+": codedeploy is accepted but not used: ecs-pipeline does not create CodeDeploy deployments")
	}
	if c.AppSpec != nil {
		c.Warnings = append(c.Warnings, c.Path+": appspec is accepted but not used: ecs-pipeline does not create CodeDeploy deployments")
	}
	if c.FilterCommand != "" {
		// ecspresso v2.8 itself warns that filter_command is deprecated (config.go, Restrict).
		c.Warnings = append(c.Warnings, c.Path+": filter_command is deprecated in ecspresso and not used by ecs-pipeline")
	}
}

// parseTimeout reads timeout as ecspresso v2.8's Duration does
// (duration.go): a string is a Go duration ("10m", "1h30m"); a number is
// a count of nanoseconds, which is almost never what was meant, so it
// comes with a warning.
func parseTimeout(b json.RawMessage) (time.Duration, string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return 0, "", err
	}
	switch v := v.(type) {
	case nil:
		return defaultTimeout, "", nil
	case string:
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, "", fmt.Errorf("%q is not a duration such as \"10m\" or \"1h30m\"", v)
		}
		return d, "", nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return 0, "", err
		}
		d := time.Duration(f)
		return d, fmt.Sprintf("the number %s is %s, read as nanoseconds as ecspresso v2 does; write a string such as \"%ss\" for seconds", v, d, v), nil
	}
	return 0, "", fmt.Errorf("want a duration string such as \"10m\" or a number, not %s", b)
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
		m, err := readEnvFile(f)
		if err != nil {
			return nil, err
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

// readEnvFile parses an envfile with the parser ecspresso v2.8 uses
// (envfile.go: hashicorp/go-envparse): KEY=VALUE lines, an optional
// "export " prefix, # comments, single quotes taken literally, double
// quotes with JSON escapes. Nothing is expanded: "p@$$W0RD" stays as
// written. Errors name the line, never its value.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading envfile %s: %w", path, err)
	}
	defer f.Close()
	return ParseEnvFile(path, f)
}

// ParseEnvFile parses envfile lines read from r as readEnvFile does; name
// says where they came from in errors, which never quote a value.
func ParseEnvFile(name string, r io.Reader) (map[string]string, error) {
	m, err := envparse.Parse(r)
	if err != nil {
		var pe *envparse.ParseError
		if errors.As(err, &pe) && pe.Line > 0 {
			return nil, fmt.Errorf("reading envfile %s:%d: %w", name, pe.Line, pe.Err)
		}
		return nil, fmt.Errorf("reading envfile %s: %w", name, err)
	}
	return m, nil
}

// checkNames rejects cluster and service names ECS would refuse, before any
// call is made with them. A cluster may also be given by its ARN.
func checkNames(cluster, service string) error {
	name := cluster
	if strings.HasPrefix(cluster, "arn:") {
		_, name, _ = strings.Cut(cluster, ":cluster/")
	}
	if !ref.ECSName(name) {
		return fmt.Errorf("cluster: %q is not a cluster name or ARN: want up to 255 letters, digits, '-' and '_'", cluster)
	}
	if service != "" && !ref.ECSName(service) {
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

// decodeLenient decodes a config as ecspresso's unmarshalJSON does
// (ecspresso.go): an unknown key is not an error but a warning naming it,
// and the known keys are still read. Type errors are refused.
func decodeLenient(path string, body []byte, v any) ([]string, error) {
	var warnings []string
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err == nil {
		known := jsonKeys(reflect.TypeOf(v).Elem())
		for _, k := range slices.Sorted(maps.Keys(top)) {
			if !known[k] {
				warnings = append(warnings, fmt.Sprintf("%s: unknown key %q is ignored", path, k))
				delete(top, k)
			}
		}
		if len(warnings) > 0 {
			body, _ = json.Marshal(top)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return warnings, nil
	}
	field, unknown := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !unknown {
		return nil, jsonError(path, body, err)
	}
	// An unknown key below the top level, e.g. in codedeploy.
	warnings = append(warnings, fmt.Sprintf("%s: unknown key %s is ignored", path, field))
	if err := json.Unmarshal(body, v); err != nil {
		return nil, jsonError(path, body, err)
	}
	return warnings, nil
}

// jsonKeys returns the JSON names of a struct type's fields.
func jsonKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
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

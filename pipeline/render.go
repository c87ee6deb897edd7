package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/fujiwara/tfstate-lookup/tfstate"
	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"
	"sigs.k8s.io/yaml"
)

// RenderOptions configures rendering a definition.
type RenderOptions struct {
	// ImageOverrides maps a container name to the image it gets after
	// rendering (typically a digest-pinned reference). Naming a container
	// the task definition lacks is an error. Nil overrides nothing.
	ImageOverrides map[string]string
}

// Definition is a rendered task or service definition.
type Definition struct {
	// Path is the file it was rendered from.
	Path string
	// Body is the rendered object with nulls and empty lists dropped; its
	// keys are as written in the file.
	Body map[string]any
}

// JSON returns the definition as indented JSON with sorted keys, as
// ecspresso's render prints it.
func (d *Definition) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d.Body); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", d.Path, err)
	}
	return buf.Bytes(), nil
}

// RenderTaskDefinition renders the config's task definition file and applies
// opts.ImageOverrides.
func (c *Config) RenderTaskDefinition(ctx context.Context, opts RenderOptions) (*Definition, error) {
	if c.TaskDefinition == "" {
		return nil, fmt.Errorf("rendering task definition: %s sets no task_definition", c.Path)
	}
	d, err := c.RenderFile(ctx, c.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if err := overrideImages(d, opts.ImageOverrides); err != nil {
		return nil, err
	}
	return d, nil
}

// RenderServiceDefinition renders the config's service definition file
// with serviceName set to the config's service, as ecspresso's
// LoadServiceDefinition (ecspresso.go, used by render.go) fills it in. A
// file naming another service is an error, not silently overridden.
func (c *Config) RenderServiceDefinition(ctx context.Context) (*Definition, error) {
	if c.ServiceDefinition == "" {
		return nil, fmt.Errorf("rendering service definition: %s sets no service_definition", c.Path)
	}
	d, err := c.RenderFile(ctx, c.ServiceDefinition)
	if err != nil || c.Service == "" {
		return d, err
	}
	if name, ok := lookupKey(d.Body, "serviceName").(string); ok && name != c.Service {
		return nil, fmt.Errorf("%s: serviceName %q is not the service %q that %s names", d.Path, name, c.Service, c.Path)
	}
	setKey(d.Body, "serviceName", c.Service)
	return d, nil
}

// RenderFile renders any definition file with the config's functions:
// .yml/.yaml as a Go template then YAML; anything else as Jsonnet then a
// Go template, then JSON. Relative paths are relative to the config file.
func (c *Config) RenderFile(ctx context.Context, path string) (*Definition, error) {
	path = c.resolve(path)
	body, err := c.r.renderFile(ctx, path)
	if err != nil {
		return nil, err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, jsonError(path, body, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: definition is not an object", path)
	}
	prune(m, false) // in place: a map stays the same map
	return &Definition{Path: path, Body: m}, nil
}

// overrideImages sets the image of the named containers.
func overrideImages(d *Definition, images map[string]string) error {
	if len(images) == 0 {
		return nil
	}
	containers, _ := lookupKey(d.Body, "containerDefinitions").([]any)
	found := map[string]bool{}
	var names []string
	for _, c := range containers {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		name, _ := lookupKey(cm, "name").(string)
		names = append(names, name)
		image, ok := images[name]
		if !ok {
			continue
		}
		found[name] = true
		setKey(cm, "image", image)
	}
	for _, name := range slices.Sorted(maps.Keys(images)) {
		if !found[name] {
			return fmt.Errorf("%s: image override: no container named %q (containers: %s)", d.Path, name, strings.Join(names, ", "))
		}
	}
	return nil
}

// lookupKey reads a key case-insensitively, as the ECS JSON decoding does.
func lookupKey(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// setKey writes a key, keeping the spelling already used in m.
func setKey(m map[string]any, key string, v any) {
	for k := range m {
		if strings.EqualFold(k, key) {
			m[k] = v
			return
		}
	}
	m[key] = v
}

// prune removes nulls and empty lists, recursively. For comparisons
// (forCompare) it also removes false booleans and empty objects, which the
// ECS API treats as unset.
func prune(v any, forCompare bool) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e = prune(e, forCompare); e == nil {
				delete(v, k)
			} else {
				v[k] = e
			}
		}
		if forCompare && len(v) == 0 {
			return nil
		}
		return v
	case []any:
		out := v[:0]
		for _, e := range v {
			if e = prune(e, forCompare); e != nil {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case bool:
		if forCompare && !v {
			return nil
		}
	}
	return v
}

// renderer renders files with ecspresso's template functions and Jsonnet
// natives.
type renderer struct {
	env     func(string) (string, bool)
	extStr  map[string]string
	extCode map[string]string
	region  string
	// tfstateFile replaces every tfstate plugin's location when set.
	tfstateFile string

	// Functions added by plugins while the config loads.
	pluginFuncs   template.FuncMap
	pluginNatives []*jsonnet.NativeFunction

	awsOnce sync.Once
	awsOpts AWSOptions
	aws     *AWS
	awsErr  error

	mu       sync.Mutex
	ssmCache map[string]*ssm.GetParameterOutput
}

func newRenderer(env func(string) (string, bool), extStr, extCode map[string]string, a *AWS) *renderer {
	return &renderer{
		env: env, extStr: extStr, extCode: extCode, aws: a,
		pluginFuncs: template.FuncMap{},
		ssmCache:    map[string]*ssm.GetParameterOutput{},
	}
}

// funcs returns the template functions; AWS lookups run under ctx.
func (r *renderer) funcs(ctx context.Context) template.FuncMap {
	fm := template.FuncMap{
		"env":         r.envFunc,
		"must_env":    r.mustEnv,
		"json_escape": jsonEscape,
		"ssm": func(name string, index ...int) (string, error) {
			switch len(index) {
			case 0:
				return r.ssm(ctx, name, -1)
			case 1:
				return r.ssm(ctx, name, index[0])
			}
			return "", fmt.Errorf("ssm %s: at most one index allowed", name)
		},
		"secretsmanager_arn": func(name string) (string, error) { return r.secretARN(ctx, name) },
	}
	for k, f := range r.pluginFuncs {
		fm[k] = f
	}
	return fm
}

// natives returns the Jsonnet native functions; AWS lookups run under ctx.
func (r *renderer) natives(ctx context.Context) []*jsonnet.NativeFunction {
	return append([]*jsonnet.NativeFunction{
		{
			// The default may be any Jsonnet value, e.g. env('REPLICAS', 1).
			Name:   "env",
			Params: []ast.Identifier{"name", "default"},
			Func: func(args []any) (any, error) {
				name, ok := args[0].(string)
				if !ok {
					return nil, errors.New("env: argument name must be a string")
				}
				if v, ok := r.env(name); ok {
					return v, nil
				}
				return args[1], nil
			},
		},
		native("must_env", []ast.Identifier{"name"}, func(a []string) (any, error) { return r.mustEnv(a[0]) }),
		native("ssm", []ast.Identifier{"name"}, func(a []string) (any, error) { return r.ssm(ctx, a[0], -1) }),
		{
			Name:   "ssm_list",
			Params: []ast.Identifier{"name", "index"},
			Func: func(args []any) (any, error) {
				name, ok1 := args[0].(string)
				index, ok2 := args[1].(float64)
				if !ok1 || !ok2 {
					return nil, errors.New("ssm_list expects a string name and a number index")
				}
				return r.ssm(ctx, name, int(index))
			},
		},
		native("secretsmanager_arn", []ast.Identifier{"name"}, func(a []string) (any, error) { return r.secretARN(ctx, a[0]) }),
	}, r.pluginNatives...)
}

// native wraps a Jsonnet native function whose arguments are all strings.
func native(name string, params []ast.Identifier, f func([]string) (any, error)) *jsonnet.NativeFunction {
	return &jsonnet.NativeFunction{
		Name:   name,
		Params: params,
		Func: func(args []any) (any, error) {
			s := make([]string, len(args))
			for i, a := range args {
				var ok bool
				if s[i], ok = a.(string); !ok {
					return nil, fmt.Errorf("%s: argument %s must be a string", name, params[i])
				}
			}
			return f(s)
		},
	}
}

// renderFile renders path by its extension into JSON.
func (r *renderer) renderFile(ctx context.Context, path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yml", ".yaml":
		out, err := r.template(ctx, path, src)
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSON(out)
		if err != nil {
			return nil, yamlError(path, err)
		}
		return js, nil
	default:
		out, err := r.jsonnet(ctx, path, src)
		if err != nil {
			return nil, err
		}
		return r.template(ctx, path, out)
	}
}

func (r *renderer) template(ctx context.Context, path string, src []byte) ([]byte, error) {
	t, err := template.New(filepath.Base(path)).Funcs(r.funcs(ctx)).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, nil); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	return buf.Bytes(), nil
}

func (r *renderer) jsonnet(ctx context.Context, path string, src []byte) ([]byte, error) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Dir(path)}})
	for k, v := range r.extStr {
		vm.ExtVar(k, v)
	}
	for k, v := range r.extCode {
		vm.ExtCode(k, v)
	}
	for _, f := range r.natives(ctx) {
		vm.NativeFunction(f)
	}
	out, err := vm.EvaluateAnonymousSnippet(path, string(src))
	if err != nil {
		return nil, jsonnetError(path, err)
	}
	return []byte(out), nil
}

// jsonnetError shortens a go-jsonnet error to "path:line:col: message",
// leaving out the source excerpt and stack trace.
func jsonnetError(path string, err error) error {
	lines := strings.Split(err.Error(), "\n")
	first := strings.TrimSpace(lines[0])
	if msg, ok := strings.CutPrefix(first, "RUNTIME ERROR: "); ok {
		// The location is the first stack frame in this file.
		for _, l := range lines[1:] {
			if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], path+":") {
				return fmt.Errorf("%s: evaluating Jsonnet: %s", f[0], msg)
			}
		}
		return fmt.Errorf("%s: evaluating Jsonnet: %s", path, msg)
	}
	if loc, msg, ok := strings.Cut(first, " "); ok && strings.HasPrefix(loc, path+":") {
		return fmt.Errorf("%s: evaluating Jsonnet: %s", loc, msg)
	}
	return fmt.Errorf("%s: evaluating Jsonnet: %s", path, first)
}

var yamlLine = regexp.MustCompile(`yaml: line (\d+): `)

// yamlError rewrites "yaml: line N: msg" as "path:N: msg".
func yamlError(path string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		return fmt.Errorf("%s:%s: parsing YAML: %s", path, msg[m[2]:m[3]], msg[m[1]:])
	}
	return fmt.Errorf("%s: parsing YAML: %w", path, err)
}

// envFunc is the template function `env NAME... DEFAULT`: the value of the
// first argument naming a non-empty variable, else the last argument
// itself. Like ecspresso (kayac/go-config), every argument, the last
// included, is looked up, so `env "X"` yields "X" when X is unset.
func (r *renderer) envFunc(names ...string) string {
	for _, k := range names {
		if v, ok := r.env(k); ok && v != "" {
			return v
		}
	}
	if len(names) == 0 {
		return ""
	}
	return names[len(names)-1]
}

// mustEnv is `must_env NAME`: the variable's value, an error when it is not
// set (set but empty is allowed, as in ecspresso).
func (r *renderer) mustEnv(name string) (string, error) {
	if v, ok := r.env(name); ok {
		return v, nil
	}
	return "", fmt.Errorf("environment variable %s is not set", name)
}

// jsonEscape escapes s for use inside a JSON string.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// clients returns the AWS clients, building them on first use when none
// were given.
func (r *renderer) clients(ctx context.Context) (*AWS, error) {
	r.awsOnce.Do(func() {
		if r.aws == nil {
			o := r.awsOpts
			if o.Region == "" {
				o.Region = r.region
			}
			r.aws, r.awsErr = NewAWS(ctx, o)
		}
	})
	return r.aws, r.awsErr
}

// ssm reads a parameter with decryption; index >= 0 picks one element of a
// StringList.
func (r *renderer) ssm(ctx context.Context, name string, index int) (string, error) {
	r.mu.Lock()
	out, ok := r.ssmCache[name]
	r.mu.Unlock()
	if !ok {
		a, err := r.clients(ctx)
		if err != nil {
			return "", err
		}
		out, err = a.SSM.GetParameter(ctx, &ssm.GetParameterInput{
			Name:           aws.String(name),
			WithDecryption: aws.Bool(true),
		})
		if err != nil {
			return "", fmt.Errorf("reading SSM parameter %s: %w", name, err)
		}
		r.mu.Lock()
		r.ssmCache[name] = out
		r.mu.Unlock()
	}
	value := aws.ToString(out.Parameter.Value)
	if index < 0 {
		return value, nil
	}
	if out.Parameter.Type != "StringList" {
		return "", fmt.Errorf("reading SSM parameter %s: index %d given but type is %s, not StringList", name, index, out.Parameter.Type)
	}
	items := strings.Split(value, ",")
	if index >= len(items) {
		return "", fmt.Errorf("reading SSM parameter %s: index %d out of range (%d items)", name, index, len(items))
	}
	return items[index], nil
}

func (r *renderer) secretARN(ctx context.Context, name string) (string, error) {
	a, err := r.clients(ctx)
	if err != nil {
		return "", err
	}
	out, err := a.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describing secret %s: %w", name, err)
	}
	return aws.ToString(out.ARN), nil
}

// loadPlugin reads a plugin's data and adds its functions.
func (r *renderer) loadPlugin(ctx context.Context, dir string, p Plugin) error {
	if p.Name != "tfstate" {
		return fmt.Errorf("plugin %q is not supported (only tfstate)", p.Name)
	}
	state, err := r.readTFState(ctx, dir, p.Config)
	if err != nil {
		return err
	}
	name := p.FuncPrefix + "tfstate"
	if _, dup := r.funcs(ctx)[name]; dup {
		return fmt.Errorf("loading tfstate plugin: function %s is already defined; set a distinct func_prefix", name)
	}
	for k, f := range state.FuncMapWithName(ctx, name) {
		r.pluginFuncs[k] = f
	}
	r.pluginNatives = append(r.pluginNatives, state.JsonnetNativeFuncsWithPrefix(ctx, p.FuncPrefix)...)
	return nil
}

// readTFState reads the state named by config.url or config.path. s3:// URLs
// are fetched with our S3 client (so the endpoint override and credentials
// apply) and parsed by tfstate-lookup; other locations are read by
// tfstate-lookup itself.
func (r *renderer) readTFState(ctx context.Context, dir string, cfg map[string]any) (*tfstate.TFState, error) {
	if r.tfstateFile != "" {
		st, err := tfstate.ReadFile(ctx, r.tfstateFile)
		if err != nil {
			return nil, fmt.Errorf("reading tfstate %s: %w", r.tfstateFile, err)
		}
		return st, nil
	}
	loc, _ := cfg["url"].(string)
	if loc == "" {
		loc, _ = cfg["path"].(string)
		if loc == "" {
			return nil, errors.New("loading tfstate plugin: config.url or config.path is required")
		}
		if !filepath.IsAbs(loc) {
			loc = filepath.Join(dir, loc)
		}
		st, err := tfstate.ReadFile(ctx, loc)
		if err != nil {
			return nil, fmt.Errorf("reading tfstate %s: %w", loc, err)
		}
		return st, nil
	}
	if bucket, key, ok := strings.Cut(strings.TrimPrefix(loc, "s3://"), "/"); ok && strings.HasPrefix(loc, "s3://") {
		a, err := r.clients(ctx)
		if err != nil {
			return nil, err
		}
		out, err := a.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("reading tfstate %s: %w", loc, err)
		}
		defer out.Body.Close()
		st, err := tfstate.Read(ctx, out.Body)
		if err != nil {
			return nil, fmt.Errorf("reading tfstate %s: %w", loc, err)
		}
		return st, nil
	}
	if !strings.Contains(loc, "://") && !filepath.IsAbs(loc) {
		loc = filepath.Join(dir, loc)
	}
	st, err := tfstate.ReadURL(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("reading tfstate %s: %w", loc, err)
	}
	return st, nil
}

package pipeline

import (
	"bytes"
	"cmp"
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
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/fujiwara/tfstate-lookup/tfstate"
	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"
	"golang.org/x/sync/singleflight"
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
		return nil, fmt.Errorf("rendering task definition: %s sets no task_definition%s", c.Path, c.unknownKeysHint())
	}
	d, err := c.RenderFile(ctx, c.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if err := unwrapTaskDefinition(d); err != nil {
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
		return nil, fmt.Errorf("rendering service definition: %s sets no service_definition%s", c.Path, c.unknownKeysHint())
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

// RenderFile renders any definition file with the config's functions, as
// ecspresso v2.8 reads definitions (util.go, readDefinitionFile): .jsonnet
// is evaluated as Jsonnet, then rendered as a Go template; any other file,
// .json included, is a Go template only, so templates may stand outside
// strings and wrap {{ if }} blocks around keys. .yml/.yaml files (which
// ecspresso does not read as definitions) are rendered, then parsed as
// YAML. Relative paths are relative to the config file.
func (c *Config) RenderFile(ctx context.Context, path string) (*Definition, error) {
	path = c.resolve(path)
	body, err := c.r.renderDefinition(ctx, path)
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

// unwrapTaskDefinition accepts the output of `aws ecs
// describe-task-definition`, {"taskDefinition": {...}, "tags": [...]}, as
// ecspresso v2.8 does (ecspresso.go LoadTaskDefinition; ecspresso_test.go
// TestLoadTaskDefinitionTags over tests/td-in-tags.json): the inner
// object is the definition and the tags beside it become its tags. The key
// matches in any case, as Go's JSON decoding that ecspresso uses does.
func unwrapTaskDefinition(d *Definition) error {
	inner := lookupKey(d.Body, "taskDefinition")
	if inner == nil {
		return nil
	}
	m, ok := inner.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: taskDefinition: want the task definition object, not %s", d.Path, jsonKind(inner))
	}
	if tags := lookupKey(d.Body, "tags"); tags != nil {
		setKey(m, "tags", tags)
	}
	d.Body = m
	return nil
}

// jsonKind names the JSON type of a decoded value for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
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

	// Function sets of the default plugins (ssm, secretsmanager) and of
	// those the config adds, in order.
	sets []funcSet

	awsOnce sync.Once
	awsOpts AWSOptions
	aws     *AWS
	awsErr  error
	// given are the clients LoadConfig was given, if any.
	given *AWS

	mu         sync.Mutex
	ssmCache   map[string]*ssm.GetParameterOutput
	secretARNs map[string]string
	cfnStacks  map[string]map[string]string
	cfnExports map[string]string
}

// funcSet is the template functions and Jsonnet natives of one plugin,
// built for each render so that AWS lookups run under its context.
type funcSet struct {
	plugin    string
	prefix    string
	templates func(ctx context.Context) template.FuncMap
	natives   func(ctx context.Context) []*jsonnet.NativeFunction
	// skip holds prefixed names already defined by a default plugin: a
	// default plugin named again without a prefix adds nothing.
	skip map[string]bool
}

// defaultPlugins are set up for every config, as ecspresso v2.8 does
// (plugin.go, defaultPluginNames).
var defaultPlugins = []string{"ssm", "secretsmanager"}

func newRenderer(env func(string) (string, bool), extStr, extCode map[string]string, a *AWS) *renderer {
	r := &renderer{
		env: env, extStr: extStr, extCode: extCode, aws: a, given: a,
		ssmCache:   map[string]*ssm.GetParameterOutput{},
		secretARNs: map[string]string{},
		cfnStacks:  map[string]map[string]string{},
	}
	r.sets = []funcSet{r.ssmFuncs(), r.secretsManagerFuncs()}
	return r
}

// funcs returns the template functions: go-config's env, must_env and
// json_escape, then every plugin's. AWS lookups run under ctx.
func (r *renderer) funcs(ctx context.Context) template.FuncMap {
	fm := template.FuncMap{
		"env":         r.envFunc,
		"must_env":    r.mustEnv,
		"json_escape": jsonEscape,
	}
	for _, s := range r.sets {
		for name, f := range s.templates(ctx) {
			if name = s.prefix + name; !s.skip[name] {
				fm[name] = f
			}
		}
	}
	return fm
}

// natives returns the Jsonnet native functions: env and must_env, then
// every plugin's. AWS lookups run under ctx.
func (r *renderer) natives(ctx context.Context) []*jsonnet.NativeFunction {
	out := []*jsonnet.NativeFunction{
		{
			// As ecspresso's env native (DefaultJsonnetNativeFuncs): a
			// variable that is unset or empty yields the default, which may
			// be any Jsonnet value, e.g. env('REPLICAS', 1). The template
			// function env treats an empty variable the same way.
			Name:   "env",
			Params: []ast.Identifier{"name", "default"},
			Func: func(args []any) (any, error) {
				name, ok := args[0].(string)
				if !ok {
					return nil, errors.New("env: argument name must be a string")
				}
				if v, ok := r.env(name); ok && v != "" {
					return v, nil
				}
				return args[1], nil
			},
		},
		native("must_env", []ast.Identifier{"name"}, func(a []string) (any, error) { return r.mustEnv(a[0]) }),
	}
	for _, s := range r.sets {
		for _, f := range s.natives(ctx) {
			name := s.prefix + f.Name
			if s.skip[name] {
				continue
			}
			g := *f
			g.Name = name
			out = append(out, &g)
		}
	}
	return out
}

// ssmFuncs is the ssm plugin (fujiwara/ssm-lookup in ecspresso): template
// `ssm NAME [INDEX]`, natives ssm(name) and ssm_list(name, index).
func (r *renderer) ssmFuncs() funcSet {
	return funcSet{
		plugin: "ssm",
		templates: func(ctx context.Context) template.FuncMap {
			return template.FuncMap{
				"ssm": func(name string, index ...int) (string, error) {
					switch len(index) {
					case 0:
						return r.ssm(ctx, name, -1)
					case 1:
						return r.ssm(ctx, name, index[0])
					}
					return "", fmt.Errorf("ssm %s: at most one index allowed", name)
				},
			}
		},
		natives: func(ctx context.Context) []*jsonnet.NativeFunction {
			return []*jsonnet.NativeFunction{
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
			}
		},
	}
}

// secretsManagerFuncs is the secretsmanager plugin (ecspresso's
// secretsmanager/funcs.go): secretsmanager_arn ID and secretsmanager_arnf
// FORMAT ARGS..., as template functions and natives.
func (r *renderer) secretsManagerFuncs() funcSet {
	return funcSet{
		plugin: "secretsmanager",
		templates: func(ctx context.Context) template.FuncMap {
			return template.FuncMap{
				"secretsmanager_arn": func(id string) (string, error) { return r.secretARN(ctx, id) },
				"secretsmanager_arnf": func(format string, args ...any) (string, error) {
					return r.secretARN(ctx, fmt.Sprintf(format, args...))
				},
			}
		},
		natives: func(ctx context.Context) []*jsonnet.NativeFunction {
			return []*jsonnet.NativeFunction{
				native("secretsmanager_arn", []ast.Identifier{"id"}, func(a []string) (any, error) { return r.secretARN(ctx, a[0]) }),
				{
					Name:   "secretsmanager_arnf",
					Params: []ast.Identifier{"format", "args"},
					Func: func(args []any) (any, error) {
						format, ok := args[0].(string)
						if !ok {
							return nil, errors.New("secretsmanager_arnf: format must be a string")
						}
						// A list of arguments is spread; anything else is one argument.
						fargs, ok := args[1].([]any)
						if !ok {
							fargs = []any{args[1]}
						}
						return r.secretARN(ctx, fmt.Sprintf(format, fargs...))
					},
				},
			}
		},
	}
}

// cloudFormationFuncs is the cloudformation plugin (fujiwara/cfn-lookup in
// ecspresso): cfn_output STACK KEY and cfn_export NAME, as template
// functions and natives.
func (r *renderer) cloudFormationFuncs() funcSet {
	return funcSet{
		plugin: "cloudformation",
		templates: func(ctx context.Context) template.FuncMap {
			return template.FuncMap{
				"cfn_output": func(stack, key string) (string, error) { return r.cfnOutput(ctx, stack, key) },
				"cfn_export": func(name string) (string, error) { return r.cfnExport(ctx, name) },
			}
		},
		natives: func(ctx context.Context) []*jsonnet.NativeFunction {
			return []*jsonnet.NativeFunction{
				native("cfn_output", []ast.Identifier{"stackName", "outputKey"}, func(a []string) (any, error) { return r.cfnOutput(ctx, a[0], a[1]) }),
				native("cfn_export", []ast.Identifier{"exportName"}, func(a []string) (any, error) { return r.cfnExport(ctx, a[0]) }),
			}
		},
	}
}

// tfstateFuncs is the tfstate plugin over a read state: tfstate and
// tfstatef as template functions, tfstate as a native.
func tfstateFuncs(state *tfstate.TFState) funcSet {
	return funcSet{
		plugin:    "tfstate",
		templates: func(ctx context.Context) template.FuncMap { return state.FuncMapWithName(ctx, "tfstate") },
		natives: func(ctx context.Context) []*jsonnet.NativeFunction {
			return state.JsonnetNativeFuncsWithPrefix(ctx, "")
		},
	}
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

// renderConfig renders a config file into JSON as ecspresso v2.8 loads
// configs (config.go, configLoader.Load): .yml/.yaml are Go templates,
// then YAML; .json and .jsonnet are evaluated as Jsonnet, then rendered as
// Go templates. Other extensions are refused.
func (r *renderer) renderConfig(ctx context.Context, path string) ([]byte, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yml", ".yaml":
		return r.renderYAML(ctx, path)
	case ".json", ".jsonnet":
		return r.renderJsonnet(ctx, path)
	default:
		return nil, fmt.Errorf("loading %s: unsupported config file extension %q: want .yml, .yaml, .json or .jsonnet", path, ext)
	}
}

// renderDefinition renders a definition file into JSON as ecspresso v2.8
// reads definitions (util.go, readDefinitionFile): .jsonnet is evaluated as
// Jsonnet, then rendered as a Go template; anything else is a Go template
// only. .yml/.yaml, which ecspresso does not take, are rendered then
// parsed as YAML.
func (r *renderer) renderDefinition(ctx context.Context, path string) ([]byte, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonnet":
		return r.renderJsonnet(ctx, path)
	case ".yml", ".yaml":
		return r.renderYAML(ctx, path)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	return r.template(ctx, path, src)
}

func (r *renderer) renderYAML(ctx context.Context, path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	out, err := r.template(ctx, path, src)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(out)
	if err != nil {
		return nil, yamlError(path, err)
	}
	return js, nil
}

func (r *renderer) renderJsonnet(ctx context.Context, path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	out, err := r.jsonnet(ctx, path, src)
	if err != nil {
		return nil, err
	}
	return r.template(ctx, path, out)
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
	r.mu.Lock()
	arn, ok := r.secretARNs[name]
	r.mu.Unlock()
	if ok {
		return arn, nil
	}
	a, err := r.clients(ctx)
	if err != nil {
		return "", err
	}
	out, err := a.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describing secret %s: %w", name, err)
	}
	arn = aws.ToString(out.ARN)
	r.mu.Lock()
	r.secretARNs[name] = arn
	r.mu.Unlock()
	return arn, nil
}

// cfnOutput returns an output of a CloudFormation stack, describing each
// stack once.
func (r *renderer) cfnOutput(ctx context.Context, stack, key string) (string, error) {
	r.mu.Lock()
	outputs, ok := r.cfnStacks[stack]
	r.mu.Unlock()
	if !ok {
		a, err := r.clients(ctx)
		if err != nil {
			return "", err
		}
		out, err := a.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
		if err != nil {
			return "", fmt.Errorf("describing stack %s: %w", stack, err)
		}
		if len(out.Stacks) == 0 {
			return "", fmt.Errorf("describing stack %s: no such stack", stack)
		}
		outputs = map[string]string{}
		for _, o := range out.Stacks[0].Outputs {
			outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
		}
		r.mu.Lock()
		r.cfnStacks[stack] = outputs
		r.mu.Unlock()
	}
	v, ok := outputs[key]
	if !ok {
		return "", fmt.Errorf("cfn_output: output %s is not found in stack %s", key, stack)
	}
	return v, nil
}

// cfnExport returns a CloudFormation export's value, listing the exports
// once.
func (r *renderer) cfnExport(ctx context.Context, name string) (string, error) {
	r.mu.Lock()
	exports := r.cfnExports
	r.mu.Unlock()
	if exports == nil {
		a, err := r.clients(ctx)
		if err != nil {
			return "", err
		}
		exports = map[string]string{}
		p := cloudformation.NewListExportsPaginator(a.CloudFormation, &cloudformation.ListExportsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return "", fmt.Errorf("listing CloudFormation exports: %w", err)
			}
			for _, e := range page.Exports {
				exports[aws.ToString(e.Name)] = aws.ToString(e.Value)
			}
		}
		r.mu.Lock()
		r.cfnExports = exports
		r.mu.Unlock()
	}
	v, ok := exports[name]
	if !ok {
		return "", fmt.Errorf("cfn_export: export %s is not found", name)
	}
	return v, nil
}

// loadPlugin sets up one plugin of the config as ecspresso v2.8 does
// (plugin.go, Setup): names in any case; a function name already taken is
// an error asking for a func_prefix, except that a default plugin (ssm,
// secretsmanager) named again adds only the names it does not repeat. It
// returns a warning when an optional tfstate could not be read.
func (r *renderer) loadPlugin(ctx context.Context, dir string, p Plugin) (string, error) {
	var set funcSet
	var warning string
	switch strings.ToLower(p.Name) {
	case "tfstate":
		state, warn, err := r.readTFState(ctx, dir, p.Config)
		if err != nil {
			return "", err
		}
		set, warning = tfstateFuncs(state), warn
	case "cloudformation":
		set = r.cloudFormationFuncs()
	case "ssm":
		set = r.ssmFuncs()
	case "secretsmanager":
		set = r.secretsManagerFuncs()
	default:
		return "", fmt.Errorf("name: plugin %q is not available: want tfstate, cloudformation, ssm or secretsmanager", p.Name)
	}
	set.prefix = p.FuncPrefix
	set.skip = map[string]bool{}
	isDefault := slices.Contains(defaultPlugins, strings.ToLower(p.Name))
	templates, natives := r.funcs(ctx), r.natives(ctx)
	for _, name := range slices.Sorted(maps.Keys(set.templates(ctx))) {
		name = set.prefix + name
		if _, taken := templates[name]; taken {
			if isDefault {
				set.skip[name] = true
				continue
			}
			return "", fmt.Errorf("template function %s is already defined: set a func_prefix on the %s plugin", name, set.plugin)
		}
	}
	for _, f := range set.natives(ctx) {
		name := set.prefix + f.Name
		if slices.ContainsFunc(natives, func(g *jsonnet.NativeFunction) bool { return g.Name == name }) {
			if isDefault {
				set.skip[name] = true
				continue
			}
			return "", fmt.Errorf("Jsonnet native function %s is already defined: set a func_prefix on the %s plugin", name, set.plugin)
		}
	}
	r.sets = append(r.sets, set)
	return warning, nil
}

// readTFState reads the state named by config.path or, when path is
// absent, config.url (ecspresso v2.8 plugin.go, setupPluginTFState, path
// first). s3:// URLs are fetched with our S3 client (so the endpoint
// override and credentials apply) and parsed by tfstate-lookup; other
// locations are read by tfstate-lookup itself. With optional: true a
// state that cannot be read is an empty one, whose lookups fail, and a
// warning (ecspresso v2.8.5).
func (r *renderer) readTFState(ctx context.Context, dir string, cfg map[string]any) (*tfstate.TFState, string, error) {
	optional := false
	if v, ok := cfg["optional"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return nil, "", fmt.Errorf("config.optional: want true or false, not %s", jsonKind(v))
		}
		optional = b
	}
	st, loc, err := r.readTFStateAt(ctx, dir, cfg)
	if err != nil && optional && loc != "" {
		empty, _ := tfstate.Read(ctx, strings.NewReader(`{"version":4}`))
		return empty, fmt.Sprintf("tfstate %s is optional and could not be read, so its lookups fail: %v", loc, err), nil
	}
	return st, "", err
}

// readTFStateAt reads the state (once per process, states.read) and
// returns where it looked.
func (r *renderer) readTFStateAt(ctx context.Context, dir string, cfg map[string]any) (*tfstate.TFState, string, error) {
	if r.tfstateFile != "" {
		st, err := states.readFile(ctx, r.tfstateFile)
		if err != nil {
			return nil, r.tfstateFile, fmt.Errorf("reading tfstate %s: %w", r.tfstateFile, err)
		}
		return st, r.tfstateFile, nil
	}
	if v, ok := cfg["path"]; ok && v != nil {
		loc, ok := v.(string)
		if !ok {
			return nil, "", fmt.Errorf("config.path: want a string, not %s", jsonKind(v))
		}
		if !filepath.IsAbs(loc) {
			loc = filepath.Join(dir, loc)
		}
		st, err := states.readFile(ctx, loc)
		if err != nil {
			return nil, loc, fmt.Errorf("reading tfstate %s: %w", loc, err)
		}
		return st, loc, nil
	}
	v, ok := cfg["url"]
	if !ok || v == nil {
		return nil, "", errors.New("loading tfstate plugin: config.path or config.url is required")
	}
	loc, ok := v.(string)
	if !ok {
		return nil, "", fmt.Errorf("config.url: want a string, not %s", jsonKind(v))
	}
	if bucket, key, ok := strings.Cut(strings.TrimPrefix(loc, "s3://"), "/"); ok && strings.HasPrefix(loc, "s3://") {
		st, err := states.read(r.s3StateKey(loc), func() (*tfstate.TFState, error) {
			a, err := r.clients(ctx)
			if err != nil {
				return nil, err
			}
			out, err := a.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return nil, err
			}
			defer out.Body.Close()
			return tfstate.Read(ctx, out.Body)
		})
		if err != nil {
			return nil, loc, fmt.Errorf("reading tfstate %s: %w", loc, err)
		}
		return st, loc, nil
	}
	if !strings.Contains(loc, "://") && !filepath.IsAbs(loc) {
		loc = filepath.Join(dir, loc)
	}
	st, err := states.read(loc, func() (*tfstate.TFState, error) { return tfstate.ReadURL(ctx, loc) })
	if err != nil {
		return nil, loc, fmt.Errorf("reading tfstate %s: %w", loc, err)
	}
	return st, loc, nil
}

// s3StateKey names an S3 state in states: its URL, and the endpoint,
// region, access key and role it is read with (or, for clients given to
// LoadConfig, those clients).
func (r *renderer) s3StateKey(loc string) string {
	if r.given != nil {
		return fmt.Sprintf("%s\x00%p", loc, r.given)
	}
	o := r.awsOpts
	return strings.Join([]string{loc, o.EndpointURL, cmp.Or(o.Region, r.region), o.AccessKeyID, o.AssumeRoleARN}, "\x00")
}

// states are the Terraform states this process has read, by location,
// each read once: ship checks its config, then deploys with the pushed
// image, loading the config twice (the engine server runs a module
// call's dry run and ship in one process), and the configs of a deploy
// of several services often read one state. A local file is read again
// once its size or modification time changes; a remote state is read
// once per process, as ecspresso reads it once per run (plugin.go,
// setupPluginTFState, which loads it when the config's plugins are set
// up).
var states stateCache

type stateCache struct {
	done   sync.Map // key -> *tfstate.TFState
	flight singleflight.Group
}

// read returns the state at key, calling fetch the first time (once for
// concurrent callers); a failed read is not kept, so the next one tries
// again.
func (c *stateCache) read(key string, fetch func() (*tfstate.TFState, error)) (*tfstate.TFState, error) {
	v, err, _ := c.flight.Do(key, func() (any, error) {
		if st, ok := c.done.Load(key); ok {
			return st, nil
		}
		st, err := fetch()
		if err != nil {
			return nil, err
		}
		c.done.Store(key, st)
		return st, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*tfstate.TFState), nil
}

// readFile reads the local state at path, again once it has changed.
func (c *stateCache) readFile(ctx context.Context, path string) (*tfstate.TFState, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.Size(), fi.ModTime().UnixNano())
	return c.read(key, func() (*tfstate.TFState, error) { return tfstate.ReadFile(ctx, path) })
}

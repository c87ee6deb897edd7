package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// CLI is the command line. The global flags come first under ecspresso
// v2.8's names (kayac/ecspresso cli.go, CLIOptions: --config,
// --envfile, --ext-str, --ext-code, --timeout, --debug,
// --assume-role-arn, --filter-command, with its ECSPRESSO_* variables),
// then ours. An `envvar` tag names the environment variables a flag falls
// back to, read through run's lookup (not kong's `env`, which reads the
// process environment directly). An `unsupported` tag marks an ecspresso
// flag we accept without acting on it: "warn" prints a warning, "fail"
// refuses it because ignoring it would be unsafe (saying why, its
// `why` tag).
type CLI struct {
	Config        []string      `short:"c" sep:"none" help:"The ecspresso config; ecspresso.yml, .yaml, .json or .jsonnet when empty. deploy and ship take several (repeat it) and deploy them all." envvar:"ECSPRESSO_CONFIG" placeholder:"FILE"`
	Envfile       []string      `help:"An env file (KEY=VALUE lines) read before rendering; repeat for several." envvar:"ECSPRESSO_ENVFILE" placeholder:"FILE"`
	ExtStr        []string      `name:"ext-str" sep:"none" help:"A Jsonnet external string variable, NAME=VALUE; repeatable." placeholder:"NAME=VALUE"`
	ExtCode       []string      `name:"ext-code" sep:"none" help:"A Jsonnet external code variable, NAME=EXPR; repeatable." placeholder:"NAME=EXPR"`
	Timeout       time.Duration `help:"How long to wait (deploy, rollback, run, logs --follow); the config's timeout when unset." envvar:"ECSPRESSO_TIMEOUT"`
	Debug         bool          `help:"Accepted for ecspresso compatibility; no effect." envvar:"ECSPRESSO_DEBUG"`
	AssumeRoleARN string        `name:"assume-role-arn" help:"Act as this IAM role: every AWS call uses credentials from STS AssumeRole." envvar:"ECSPRESSO_ASSUME_ROLE_ARN" placeholder:"ARN"`
	FilterCommand string        `help:"Not supported (ignored)." envvar:"ECSPRESSO_FILTER_COMMAND" unsupported:"warn"`
	Color         bool          `help:"Accepted for ecspresso compatibility; output has no color." negatable:""`
	LogFormat     string        `help:"Accepted for ecspresso compatibility; no effect." unsupported:"warn"`

	Image          string   `help:"The image to deploy, digest-pinned: sets the IMAGE variable and Jsonnet ext-str IMAGE unless given." placeholder:"REF"`
	ContainerImage []string `sep:"none" help:"Set a container's image after rendering, NAME=REF; repeatable." placeholder:"NAME=REF"`
	TFState        string   `name:"tfstate" help:"A Terraform state file every tfstate lookup reads instead of the config's." placeholder:"FILE"`
	SecretEnvfile  []string `sep:"none" help:"An env file read after --envfile; errors never name its path or values. Repeatable." placeholder:"FILE"`
	EndpointURL    string   `help:"Send every AWS call to this URL." envvar:"AWS_ENDPOINT_URL" placeholder:"URL"`
	Region         string   `help:"The AWS region; also the config's region when it sets none." envvar:"AWS_REGION"`
	Result         string   `help:"Write the command's result as JSON to this file." placeholder:"FILE"`
	ErrorFile      string   `help:"On failure, write the error message to this file." placeholder:"FILE"`
	TimeScale      float64  `hidden:"" default:"1" help:"Let deploy's clock run this many times faster than the wall clock, as a rehearsal's simulator does (its polling, bakes and timeout are then in simulated time)."`

	Render     RenderCmd     `cmd:"" help:"Render the config, service definition or task definition to stdout."`
	Diff       DiffCmd       `cmd:"" help:"Show what a deploy would change."`
	Verify     VerifyCmd     `cmd:"" help:"Verify the resources the definitions refer to."`
	Deploy     DeployCmd     `cmd:"" help:"Deploy the service."`
	Rollback   RollbackCmd   `cmd:"" help:"Roll the service back."`
	Status     StatusCmd     `cmd:"" help:"Show the service's status."`
	Wait       WaitCmd       `cmd:"" help:"Wait for the service's current deployment to end."`
	Tasks      TasksCmd      `cmd:"" help:"List the service's tasks and its family's one-off tasks, or trace one (--trace)."`
	Logs       LogsCmd       `cmd:"" help:"Print the service's log lines."`
	Run        RunCmd        `cmd:"" help:"Run a one-off task."`
	Exec       ExecCmd       `cmd:"" help:"Run a command in a running task (ECS Exec), interactively when stdin is a terminal."`
	Create     CreateCmd     `cmd:"" help:"Create the service."`
	Register   RegisterCmd   `cmd:"" help:"Register the task definition as a new revision."`
	Init       InitCmd       `cmd:"" help:"Write the config and definition files of a service running in ECS."`
	Scale      ScaleCmd      `cmd:"" help:"Set the service's desired count (a deploy that registers nothing)."`
	Refresh    RefreshCmd    `cmd:"" help:"Replace every task of the service with a new deployment of the revision it runs."`
	Delete     DeleteCmd     `cmd:"" help:"Delete the service."`
	Revisions  RevisionsCmd  `cmd:"" help:"List the task definition family's revisions and what uses each, or print one."`
	Deregister DeregisterCmd `cmd:"" help:"Deregister revisions not in use: one (--revision), or all but the newest few (--keeps)."`
	Publish    PublishCmd    `cmd:"" help:"Push an OCI layout tarball to ECR."`
	Ship       ShipCmd       `cmd:"" help:"Push an OCI layout tarball to ECR, then deploy the pushed image: publish and deploy in one run."`
	Rehearsal  RehearsalCmd  `cmd:"" help:"Script a rehearsal's ECS simulator."`
	Version    VersionCmd    `cmd:"" help:"Show the version."`
	Serve      ServeCmd      `cmd:"" hidden:"" help:"Run command lines sent over HTTP (the Dagger module's engine service)."`
}

// app is what the commands run with.
type app struct {
	ctx    context.Context
	cli    *CLI
	lookup func(string) (string, bool)
	stdout io.Writer
	stderr io.Writer
	cwd    string
	// standIn uses the rehearsal's stand-in credentials when the
	// environment has none, so the SDK never looks further.
	standIn bool
	// warned holds the config warnings printed, so that a config loaded
	// twice (ship checks it before pushing) warns once.
	warned map[string]bool
}

// exitCode is what kong's Exit panics with, for run to return.
type exitCode int

// run runs the command line args and returns the exit code: 0 on success,
// 1 on failure after printing "Error: MESSAGE" to stderr and writing
// MESSAGE to --error-file. lookup reads the environment.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) (code int) {
	cwd, _ := os.Getwd()
	a := &app{ctx: ctx, lookup: lookup, stdout: stdout, stderr: stderr, cwd: cwd}
	errorFile := scanFlag(args, "--error-file")
	fail := func(err error) int {
		msg := a.rel(err.Error())
		fmt.Fprintf(stderr, "Error: %s\n", msg)
		if errorFile != "" {
			if werr := os.WriteFile(errorFile, []byte(msg), 0o644); werr != nil {
				fmt.Fprintf(stderr, "warning: writing --error-file: %v\n", werr)
			}
		}
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			c, ok := r.(exitCode)
			if !ok {
				panic(r)
			}
			code = int(c)
		}
	}()
	var cli CLI
	parser, err := kong.New(&cli,
		kong.Name("ecs-pipeline"),
		kong.Description("Deploy to Amazon ECS from an ecspresso config (a drop-in for ecspresso v2)."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(exitCode(c)) }),
		kong.Resolvers(envResolver(lookup)),
	)
	if err != nil {
		return fail(err)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return fail(err)
	}
	if cli.ErrorFile != "" {
		errorFile = cli.ErrorFile
	}
	a.cli = &cli
	if cli.Config, err = expandConfigs(cli.Config); err != nil {
		return fail(err)
	}
	if n := len(cli.Config); n > 1 && kctx.Command() != "deploy" && kctx.Command() != "ship" {
		return fail(fmt.Errorf("--config is given %d times: only deploy and ship take several configs", n))
	}
	if err := a.unsupported(kctx); err != nil {
		return fail(err)
	}
	if err := kctx.Run(a); err != nil {
		return fail(err)
	}
	return 0
}

// scanFlag finds a flag's value in args before parsing, so that a parse
// error still reaches --error-file.
func scanFlag(args []string, flag string) string {
	var v string
	for i, arg := range args {
		if arg == "--" {
			break
		}
		if arg == flag && i+1 < len(args) {
			v = args[i+1]
		} else if s, ok := strings.CutPrefix(arg, flag+"="); ok {
			v = s
		}
	}
	return v
}

// envResolver reads a flag's `envvar` variables through lookup when the
// command line does not set it.
func envResolver(lookup func(string) (string, bool)) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, flag *kong.Flag) (any, error) {
		for _, name := range strings.Split(flag.Tag.Get("envvar"), ",") {
			if name == "" {
				continue
			}
			if v, ok := lookup(name); ok && v != "" {
				return v, nil
			}
		}
		return nil, nil
	})
}

// unsupported warns about, or refuses, the ecspresso flags set that we do
// not act on (their `unsupported` tag), whether set on the command line
// or by an ECSPRESSO_* variable.
func (a *app) unsupported(kctx *kong.Context) error {
	seen := map[string]bool{}
	check := func(f *kong.Flag) error {
		if f == nil || seen[f.Name] {
			return nil
		}
		seen[f.Name] = true
		switch f.Tag.Get("unsupported") {
		case "warn":
			fmt.Fprintf(a.stderr, "warning: --%s is not supported and is ignored\n", f.Name)
		case "fail":
			return fmt.Errorf("--%s is not supported: %s", f.Name, f.Tag.Get("why"))
		}
		return nil
	}
	for _, p := range kctx.Path {
		if err := check(p.Flag); err != nil {
			return err
		}
	}
	// Flags set by a resolver (an ECSPRESSO_* variable) are not on the path.
	for _, f := range kctx.Flags() {
		if f.Tag.Get("unsupported") == "" || seen[f.Name] {
			continue
		}
		if v := f.Target; v.IsValid() && !v.IsZero() && !reflect.DeepEqual(fmt.Sprint(v.Interface()), f.Default) {
			if err := check(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// rel shows paths under the working directory relative to it, as the user
// knows them.
func (a *app) rel(s string) string {
	if a.cwd == "" || a.cwd == "/" {
		return s
	}
	return strings.ReplaceAll(s, a.cwd+string(filepath.Separator), "")
}

// print writes command output to stdout, paths relative.
func (a *app) print(s string) {
	fmt.Fprint(a.stdout, a.rel(s))
}

// warn prints a warning line to stderr.
func (a *app) warn(format string, args ...any) {
	fmt.Fprintf(a.stderr, "warning: "+format+"\n", args...)
}

// writeResult writes v as JSON to --result, when given.
func (a *app) writeResult(v any) error {
	if a.cli.Result == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(a.cli.Result, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing --result: %w", err)
	}
	return nil
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

// awsOptions are the AWS clients' options: credentials from the standard
// variables (the SDK's default chain when absent), --endpoint-url.
func (a *app) awsOptions() pipeline.AWSOptions {
	o := pipeline.AWSOptions{EndpointURL: a.cli.EndpointURL, AssumeRoleARN: a.cli.AssumeRoleARN}
	o.AccessKeyID, _ = a.lookup("AWS_ACCESS_KEY_ID")
	o.SecretAccessKey, _ = a.lookup("AWS_SECRET_ACCESS_KEY")
	o.SessionToken, _ = a.lookup("AWS_SESSION_TOKEN")
	if a.standIn && o.AccessKeyID == "" {
		o.AccessKeyID, o.SecretAccessKey, o.SessionToken = "rehearsal-stand-in", "rehearsal-not-a-secret", ""
	}
	return o
}

// loaded is the config and the container images to set after rendering
// (--container-image).
type loaded struct {
	cfg       *pipeline.Config
	overrides map[string]string
}

// load loads the ecspresso config as the module's service.load did, with
// the process environment for the templates: variables are, from weakest
// to strongest, the environment, --envfile files, --secret-envfile files,
// and --image as IMAGE; --region stands in for an unset AWS_REGION.
func (a *app) load(image string) (*loaded, error) {
	switch len(a.cli.Config) {
	case 0:
		return a.loadPath(image, "")
	case 1:
		return a.loadPath(image, a.cli.Config[0])
	}
	return nil, fmt.Errorf("--config is given %d times: only deploy and ship take several configs", len(a.cli.Config))
}

// loadPath is load of the config file path (found as LoadConfig finds it
// when empty).
func (a *app) loadPath(image, path string) (*loaded, error) {
	c := a.cli
	overrides, err := keyValues("--container-image", c.ContainerImage)
	if err != nil {
		return nil, err
	}
	extStr, err := keyValues("--ext-str", c.ExtStr)
	if err != nil {
		return nil, err
	}
	extCode, err := keyValues("--ext-code", c.ExtCode)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, path := range c.Envfile {
		m, err := readEnvFile(path, path)
		if err != nil {
			return nil, err
		}
		maps.Copy(vars, m)
	}
	for i, path := range c.SecretEnvfile {
		name := fmt.Sprintf("--secret-envfile %d", i+1)
		m, err := readEnvFile(path, name)
		if err != nil {
			return nil, err
		}
		maps.Copy(vars, m)
	}
	if image == "" {
		image = c.Image
	}
	if image != "" {
		vars["IMAGE"] = image
		if _, set := extStr["IMAGE"]; !set {
			extStr["IMAGE"] = image
		}
	}
	lookup := func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		if v, ok := a.lookup(k); ok {
			return v, true
		}
		if k == "AWS_REGION" && c.Region != "" {
			return c.Region, true
		}
		return "", false
	}
	opts := pipeline.LoadConfigOptions{
		Dir:        a.cwd,
		LookupEnv:  lookup,
		ExtStr:     extStr,
		ExtCode:    extCode,
		AWSOptions: a.awsOptions(),
	}
	if path != "" {
		opts.Path = path
		if _, err := os.Stat(opts.Path); err != nil {
			return nil, fmt.Errorf("--config %q: no such file", path)
		}
	}
	if c.TFState != "" {
		opts.TFStateFile = c.TFState
		if _, err := os.Stat(opts.TFStateFile); err != nil {
			return nil, fmt.Errorf("--tfstate %q: no such file", c.TFState)
		}
	}
	cfg, err := pipeline.LoadConfig(a.ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		if w = a.rel(w); !a.warned[w] {
			a.warn("%s", w)
		}
		if a.warned == nil {
			a.warned = map[string]bool{}
		}
		a.warned[w] = true
	}
	return &loaded{cfg: cfg, overrides: overrides}, nil
}

// readEnvFile reads an env file as pipeline.LoadConfig reads --envfile;
// name is what errors call it, never quoting a value.
func readEnvFile(path, name string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		if name != path {
			return nil, fmt.Errorf("reading %s: %w", name, errors.Unwrap(err))
		}
		return nil, fmt.Errorf("reading envfile %s: %w", name, err)
	}
	defer f.Close()
	return pipeline.ParseEnvFile(name, f)
}

// prepared is a loaded config with its AWS clients.
type prepared struct {
	*loaded
	clients *pipeline.AWS
}

// waitOptions are the wait options the global flags give: events to
// stderr as they happen, --timeout, and --time-scale's clock.
func (a *app) waitOptions() (pipeline.WaitOptions, error) {
	wait := pipeline.WaitOptions{Events: a.stderr, Timeout: a.cli.Timeout}
	if a.cli.TimeScale != 1 {
		if a.cli.TimeScale < 1 {
			return wait, fmt.Errorf("--time-scale %v: want 1 or more", a.cli.TimeScale)
		}
		wait.Clock = pipeline.NewScaledClock(a.cli.TimeScale)
	}
	if a.cli.Timeout < 0 {
		return wait, fmt.Errorf("--timeout %s: want a positive duration such as 15m", a.cli.Timeout)
	}
	return wait, nil
}

// prepare loads the config and its AWS clients, and the wait options:
// events stream to stderr as they happen.
func (a *app) prepare(image string) (*prepared, pipeline.WaitOptions, error) {
	wait, err := a.waitOptions()
	if err != nil {
		return nil, wait, err
	}
	l, err := a.load(image)
	if err != nil {
		return nil, wait, err
	}
	clients, err := l.cfg.Clients(a.ctx)
	if err != nil {
		return nil, wait, err
	}
	wait.Logs = clients.CloudWatchLogs // a failed deploy quotes its stopped task's log lines
	return &prepared{loaded: l, clients: clients}, wait, nil
}

// checkFormat accepts the output formats of the reading commands.
func checkFormat(format string) error {
	if format != "text" && format != "markdown" {
		return fmt.Errorf("--format %q: want text or markdown", format)
	}
	return nil
}

// expandConfigs expands each --config that is a glob (services/*/ecspresso.yml)
// into the files it matches, in order; a glob matching nothing is an error.
func expandConfigs(configs []string) ([]string, error) {
	var out []string
	for _, c := range configs {
		if !strings.ContainsAny(c, "*?[") {
			out = append(out, c)
			continue
		}
		m, err := filepath.Glob(c)
		if err != nil {
			return nil, fmt.Errorf("--config %q: %w", c, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("--config %q: no file matches", c)
		}
		out = append(out, m...)
	}
	return out, nil
}

package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-jsonnet/formatter"
	"sigs.k8s.io/yaml"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// RenderCmd is ecspresso's render (kayac/ecspresso render.go,
// RenderOption: targets config, servicedef/service-definition,
// taskdef/task-definition, and --jsonnet). The definitions print as the
// module's Render printed them; config prints as YAML as ecspresso does,
// or JSON with --format json.
type RenderCmd struct {
	Targets []string `arg:"" enum:"config,servicedef,service-definition,taskdef,task-definition" help:"What to render: config, servicedef (service-definition) or taskdef (task-definition)."`
	Jsonnet bool     `help:"Render as Jsonnet (formatted), as ecspresso's --jsonnet."`
	Format  string   `enum:"yaml,json" default:"yaml" help:"How to print config: yaml (as ecspresso) or json."`
}

func (r *RenderCmd) Run(a *app) error {
	l, err := a.load("")
	if err != nil {
		return err
	}
	for _, target := range r.Targets {
		var def *pipeline.Definition
		switch target {
		case "config":
			out, err := renderConfig(l.cfg, r.Format, r.Jsonnet)
			if err != nil {
				return err
			}
			a.print(out)
			continue
		case "taskdef", "task-definition":
			def, err = l.cfg.RenderTaskDefinition(a.ctx, pipeline.RenderOptions{ImageOverrides: l.overrides})
		case "servicedef", "service-definition":
			def, err = l.cfg.RenderServiceDefinition(a.ctx)
		}
		if err != nil {
			return err
		}
		out, err := def.JSON()
		if err != nil {
			return err
		}
		s := string(out)
		if r.Jsonnet {
			if s, err = formatter.Format(target, s, formatter.DefaultOptions()); err != nil {
				return fmt.Errorf("formatting %s as Jsonnet: %w", target, err)
			}
		}
		a.print(s)
	}
	return nil
}

// renderConfig prints the loaded config under the config file's keys, as
// ecspresso's render config prints its Config (YAML by default).
func renderConfig(cfg *pipeline.Config, format string, jsonnet bool) (string, error) {
	b, err := json.MarshalIndent(cfg.Document(), "", "  ")
	if err != nil {
		return "", err
	}
	switch {
	case jsonnet:
		return formatter.Format("config", string(b), formatter.DefaultOptions())
	case format == "json":
		return string(b) + "\n", nil
	}
	y, err := yaml.JSONToYAML(b)
	return string(y), err
}

// DiffCmd is ecspresso's diff (--unified, default true and negatable in
// ecspresso v2's DiffOption); the diff is always unified here.
type DiffCmd struct {
	Unified bool `default:"true" negatable:"" help:"Unified diff (the only format here)."`
}

func (d *DiffCmd) Run(a *app) error {
	if !d.Unified {
		a.warn("--no-unified is not supported: printing a unified diff")
	}
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	diff, err := pipeline.DiffService(a.ctx, c.clients.ECS, c.cfg, pipeline.DiffServiceOptions{ImageOverrides: c.overrides})
	if err != nil {
		return err
	}
	if diff == "" {
		diff = "no changes\n"
	}
	a.print(diff)
	return nil
}

// VerifyCmd is the module's Verify; ecspresso v2's verify flags
// --get-secrets and --put-logs (default true, negatable) are accepted,
// and turning them off warns.
type VerifyCmd struct {
	Format        string `default:"text" help:"Output format: text, or markdown for a CI job summary."`
	AllowFailures bool   `help:"Print the report without failing when a check fails."`
	GetSecrets    bool   `default:"true" negatable:"" hidden:"" help:"ecspresso's; secrets are always checked here."`
	PutLogs       bool   `default:"true" negatable:"" hidden:"" help:"ecspresso's; no log is put here."`
}

func (v *VerifyCmd) Run(a *app) error {
	if err := checkFormat(v.Format); err != nil {
		return err
	}
	if !v.GetSecrets {
		a.warn("--no-get-secrets is not supported and is ignored")
	}
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	report, err := pipeline.Verify(a.ctx, c.clients, c.cfg, pipeline.VerifyOptions{ImageOverrides: c.overrides})
	if err != nil {
		return err
	}
	if !report.OK() && !v.AllowFailures {
		return fmt.Errorf("verify found problems:\n%s", report.String())
	}
	out := report.String()
	if v.Format == "markdown" {
		out = report.Markdown()
	}
	a.print(out)
	return nil
}

// VersionCmd prints the version, as `ecspresso version` does.
type VersionCmd struct{}

func (VersionCmd) Run(a *app) error {
	fmt.Fprintln(a.stdout, "ecs-pipeline", strings.TrimSpace(version()))
	return nil
}

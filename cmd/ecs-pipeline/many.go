package main

import (
	"fmt"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// serviceRow is one service of a deploy of several configs, in --result's
// "services".
type serviceRow struct {
	Config          string  `json:"config"`
	Cluster         string  `json:"cluster"`
	Service         string  `json:"service"`
	TaskDefinition  string  `json:"taskDefinition"`
	Revision        string  `json:"revision"`
	Outcome         string  `json:"outcome"`
	Duration        string  `json:"duration"`
	DurationSeconds float64 `json:"durationSeconds"`
	Reason          string  `json:"reason"`
}

// manyDeployResult is deploy's --result with several configs: the
// single-service fields describe the first service that failed (the
// first service when none did), "summary" is the whole deploy's
// (ManyResult.Markdown: the table, then every service's own summary) and
// "services" has a row per config, in order.
type manyDeployResult struct {
	deployResult
	Services []serviceRow `json:"services"`
}

// runMany deploys every --config with pipeline.DeployServices. They are
// loaded with the same flags and must share a region (one set of clients
// deploys them all). published is as for run.
func (d *DeployCmd) runMany(a *app, published string) error {
	wait, err := a.waitOptions()
	if err != nil {
		return err
	}
	cfgs, overrides, err := d.loadMany(a)
	if err != nil {
		return err
	}
	clients, err := cfgs[0].Clients(a.ctx)
	if err != nil {
		return err
	}
	wait.Logs = clients.CloudWatchLogs
	if d.Diff {
		for _, cfg := range cfgs {
			diff, err := pipeline.DiffService(a.ctx, clients.ECS, cfg, pipeline.DiffServiceOptions{ImageOverrides: overrides})
			if err != nil {
				return err
			}
			if diff == "" {
				diff = "no changes\n"
			}
			fmt.Fprintf(a.stderr, "# %s (%s)\n%s", cfg.Service, a.rel(cfg.Path), a.rel(diff))
		}
	}
	opts := pipeline.DeployManyOptions{
		FailFast:    d.FailFast,
		Concurrency: d.Concurrency,
		Deploy:      d.options(overrides, wait),
	}
	res, err := pipeline.DeployServices(a.ctx, clients.ECS, cfgs, opts)
	if res != nil {
		m := newManyDeployResult(a, cfgs, res)
		m.Image = published
		if werr := a.writeResult(m); werr != nil && err == nil {
			err = werr
		}
		out := ""
		for _, r := range res.Services {
			if d.DryRun && r.Result != nil {
				out += r.Result.Plan
			}
			out += fmt.Sprintf("%s: service %s in cluster %s, task definition %s\n", r.Outcome, r.Service, r.Cluster, r.TaskDefinitionArn)
		}
		a.print(out)
	}
	return err
}

// loadMany loads every --config, which must share a region, and the
// --container-image overrides.
func (d *DeployCmd) loadMany(a *app) ([]*pipeline.Config, map[string]string, error) {
	if d.Concurrency < 0 {
		return nil, nil, fmt.Errorf("--concurrency %d: want 0 (all at once) or more", d.Concurrency)
	}
	var cfgs []*pipeline.Config
	var overrides map[string]string
	for _, path := range a.cli.Config {
		l, err := a.loadPath("", path)
		if err != nil {
			return nil, nil, err
		}
		if len(cfgs) > 0 && l.cfg.Region != cfgs[0].Region {
			return nil, nil, fmt.Errorf("--config %s is in region %s, --config %s in %s: deploy them separately", a.cli.Config[0], cfgs[0].Region, path, l.cfg.Region)
		}
		cfgs = append(cfgs, l.cfg)
		overrides = l.overrides
	}
	return cfgs, overrides, nil
}

func newManyDeployResult(a *app, cfgs []*pipeline.Config, res *pipeline.ManyResult) manyDeployResult {
	m := manyDeployResult{Services: []serviceRow{}}
	lead := -1
	for i, r := range res.Services {
		m.Services = append(m.Services, serviceRow{
			Config: a.rel(cfgs[i].Path), Cluster: r.Cluster, Service: r.Service,
			TaskDefinition: r.TaskDefinitionArn, Revision: r.Revision(), Outcome: string(r.Outcome),
			Duration: r.Duration.Round(time.Millisecond).String(), DurationSeconds: r.Duration.Seconds(),
			Reason: a.rel(r.Reason),
		})
		if lead < 0 && r.Err != nil {
			lead = i
		}
	}
	if lead < 0 {
		lead = 0
	}
	r := res.Services[lead]
	if r.Result != nil {
		m.deployResult = newDeployResult(r.Result)
	} else {
		m.deployResult = deployResult{Cluster: r.Cluster, Service: r.Service, Outcome: string(r.Outcome), Images: []string{}}
	}
	m.Summary = a.rel(res.Markdown())
	return m
}

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/standin"
)

// The rehearsal's stand-in account and default region, as the module's
// rehearse.go has them.
const (
	rehearsalAccount = "123456789012"
	rehearsalRegion  = "ap-northeast-1"
	// failingMigration is the scenario whose --run-before migration fails.
	failingMigration = "failing-migration"
)

// RehearsalCmd groups the rehearsal's steps that talk to the simulator.
type RehearsalCmd struct {
	Setup RehearsalSetupCmd `cmd:"" help:"Seed a running simulator: the service as it was before the change, and the scenario's behaviours."`
}

// RehearsalSetupCmd is what the module's Rehearse did once the simulator
// (cmd/ecssim -standin) was up: push an empty "previous" image to its
// registry, create the service with it (revision 1), advance the clock
// 15 minutes so it is steady, keep revision 1 healthy and script the
// family's next revisions (and the migration, for failing-migration) as
// the scenario says.
type RehearsalSetupCmd struct {
	Sim        string `required:"" help:"The simulator's URL: AWS calls (unless --endpoint-url) and registry pushes go there." placeholder:"URL"`
	Repository string `help:"The ECR repository; 123456789012.dkr.ecr.REGION.amazonaws.com/SERVICE when empty." placeholder:"REPO"`
	Scenario   string `default:"healthy" help:"What the new tasks do: healthy, failing-health-checks, crash-on-start, slow-start, failing-migration."`
	RunBefore  string `help:"The migration command deploy will run (--run-before); ./migrate for failing-migration when empty." placeholder:"CMD"`
}

// rehearsalResult is rehearsal setup's --result.
type rehearsalResult struct {
	TaskDefinition string `json:"taskDefinition"`
	PreviousImage  string `json:"previousImage"`
	Repository     string `json:"repository"`
}

func (r *RehearsalSetupCmd) Run(a *app) error {
	behavior, ok := ecssim.Scenarios[r.Scenario]
	var migration *ecssim.Behavior
	runBefore := r.RunBefore
	if r.Scenario == failingMigration {
		behavior, ok = ecssim.Healthy(), true
		migration = &ecssim.FailingMigration
		runBefore = cmp.Or(runBefore, "./migrate")
	}
	if !ok {
		names := []string{failingMigration}
		for n := range ecssim.Scenarios {
			names = append(names, n)
		}
		slices.Sort(names)
		return fmt.Errorf("--scenario %q: want one of %s", r.Scenario, strings.Join(names, ", "))
	}
	if a.cli.EndpointURL == "" {
		a.cli.EndpointURL = r.Sim
	}
	a.standIn = true

	// Read the config first: a broken one fails before anything changes.
	probe, err := a.load("rehearsal.invalid/placeholder@sha256:" + strings.Repeat("0", 64))
	if err != nil {
		return err
	}
	cfg := probe.cfg
	region := cmp.Or(cfg.Region, rehearsalRegion)
	repository := cmp.Or(r.Repository, rehearsalAccount+".dkr.ecr."+region+".amazonaws.com/"+cfg.Service)
	repo, err := pipeline.ParseRepository(repository)
	if err != nil {
		return err
	}
	opts := a.awsOptions()
	opts.Region = region
	clients, err := pipeline.NewAWS(a.ctx, opts)
	if err != nil {
		return err
	}

	// The service as it would exist before this change: revision 1 of an
	// earlier image, running and steady.
	creds, err := pipeline.ECRLogin(a.ctx, clients.ECR)
	if err != nil {
		return err
	}
	img, err := standin.PreviousImage()
	if err != nil {
		return err
	}
	previous, err := pipeline.PushImage(a.ctx, img, repo.String()+":previous", creds, pipeline.PushOptions{Through: r.Sim})
	if err != nil {
		return err
	}
	seeded, err := a.load(previous)
	if err != nil {
		return err
	}
	created, err := pipeline.Create(a.ctx, clients.ECS, seeded.cfg, pipeline.CreateOptions{ImageOverrides: seeded.overrides})
	if err != nil {
		return err
	}
	family := created.TaskDefinition
	sim := &ecssim.Client{URL: r.Sim}
	if err := sim.AdvanceClock(a.ctx, 15*time.Minute); err != nil {
		return err
	}
	// Revision 1 stays healthy; what follows behaves as the scenario says.
	if err := sim.SetBehavior(a.ctx, family, ecssim.Healthy()); err != nil {
		return err
	}
	name, _, _ := strings.Cut(family, ":")
	if err := sim.SetBehavior(a.ctx, name, behavior); err != nil {
		return err
	}
	if migration != nil {
		if err := sim.SetBehavior(a.ctx, ecssim.CommandKey(pipeline.MigrationCommand(runBefore)...), *migration); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stderr, "Rehearsal: simulated ECS serving service %s in cluster %s, running %s; scenario %s.\n",
		cfg.Service, cfg.Cluster, family, r.Scenario)
	if err := a.writeResult(rehearsalResult{TaskDefinition: family, PreviousImage: previous, Repository: repo.String()}); err != nil {
		return err
	}
	a.print(fmt.Sprintf("created %s\n", family))
	return nil
}

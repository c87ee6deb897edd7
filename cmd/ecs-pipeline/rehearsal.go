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
	// The config's region (else --region, else ap-northeast-1), cluster
	// and service: the simulator's account is set up for them.
	Region  string `json:"region"`
	Cluster string `json:"cluster"`
	Service string `json:"service"`
}

// noAccount is where the rehearsal's config lookups go while it is read:
// nothing listens there, so a lookup that needs AWS fails at once.
const noAccount = "http://127.0.0.1:1"

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
	a.standIn = true

	// Read the config first, with no AWS behind its lookups (nothing
	// listens at noAccount): a broken config, or one that needs an
	// account, fails before anything is set up.
	endpoint := cmp.Or(a.cli.EndpointURL, r.Sim)
	a.cli.EndpointURL = noAccount
	probe, err := a.load("rehearsal.invalid/placeholder@sha256:" + strings.Repeat("0", 64))
	if err != nil && strings.Contains(err.Error(), noAccount) {
		return fmt.Errorf("%w\nA rehearsal has no AWS account: pass --tfstate with a local copy of the Terraform state (terraform state pull > terraform.tfstate), and --env for values the definitions read from SSM or Secrets Manager", err)
	}
	if err != nil {
		return err
	}
	a.cli.EndpointURL = endpoint
	cfg := probe.cfg
	region := cmp.Or(cfg.Region, a.cli.Region, rehearsalRegion)
	repository := cmp.Or(r.Repository, rehearsalAccount+".dkr.ecr."+region+".amazonaws.com/"+cfg.Service)
	repo, err := pipeline.ParseRepository(repository)
	if err != nil {
		return err
	}
	// The account as the config expects it: its region, its cluster.
	sim := &ecssim.Client{URL: r.Sim}
	if err := sim.SetAccount(a.ctx, region, cfg.Cluster); err != nil {
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
	res := rehearsalResult{TaskDefinition: family, PreviousImage: previous, Repository: repo.String(), Region: region, Cluster: cfg.Cluster, Service: cfg.Service}
	if err := a.writeResult(res); err != nil {
		return err
	}
	a.print(fmt.Sprintf("created %s\n", family))
	return nil
}

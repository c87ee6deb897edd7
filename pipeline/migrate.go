package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// MigrationCommand is the command override that runs a RunBefore string:
// the shell runs it, as the shell form of a Dockerfile CMD does.
// ecspresso's run (kayac/ecspresso run.go, --overrides) takes a
// TaskOverride JSON and passes it to RunTask as written, so its users
// spell a shell command as
// {"containerOverrides":[{"name":"app","command":["sh","-c","..."]}]};
// this is that override, built from the string.
func MigrationCommand(cmd string) []string {
	return []string{"sh", "-c", cmd}
}

// migrate runs opts.RunBefore as a one-off task of taskDef, the revision
// about to be deployed, placed as the service's tasks will be (the network
// configuration, capacity providers and platform version the update sets,
// else the service's), and waits for it as Run does, within the deploy's
// timeout; a migration still running then is stopped. It fails unless the
// essential container exited 0.
func migrate(ctx context.Context, api DeployAPI, cfg *Config, opts DeployOptions, svc *types.Service, update *ecs.UpdateServiceInput, taskDef string) (*RunResult, error) {
	where := *svc
	if update.NetworkConfiguration != nil {
		where.NetworkConfiguration = update.NetworkConfiguration
	}
	if len(update.CapacityProviderStrategy) > 0 {
		where.CapacityProviderStrategy = update.CapacityProviderStrategy
	}
	if update.PlatformVersion != nil {
		where.PlatformVersion = update.PlatformVersion
	}
	res, err := runAs(ctx, api, opts.Wait.Logs, cfg, &where, RunOptions{
		TaskDefinition: taskDef,
		Container:      opts.RunBeforeContainer,
		Command:        MigrationCommand(opts.RunBefore),
		Timeout:        opts.Wait.Timeout,
		StopOnTimeout:  true,
		Clock:          opts.Wait.Clock,
	})
	if err != nil {
		return res, fmt.Errorf("running migration %q before updating service %q (left unchanged): %w", opts.RunBefore, cfg.Service, err)
	}
	return res, nil
}

// checkMigration refuses, before anything changes, a RunBefore container
// that the task definition to register lacks (td nil: none registered,
// RunTask will say).
func checkMigration(opts DeployOptions, td *ecs.RegisterTaskDefinitionInput) error {
	if opts.RunBefore == "" {
		if opts.RunBeforeContainer != "" {
			return fmt.Errorf("RunBeforeContainer %q without a RunBefore command", opts.RunBeforeContainer)
		}
		return nil
	}
	if opts.RunBeforeContainer == "" || td == nil {
		return nil
	}
	var names []string
	for _, c := range td.ContainerDefinitions {
		names = append(names, aws.ToString(c.Name))
	}
	if !slices.Contains(names, opts.RunBeforeContainer) {
		return fmt.Errorf("RunBeforeContainer %q is not a container of task definition family %q (it has %v)", opts.RunBeforeContainer, aws.ToString(td.Family), names)
	}
	return nil
}

// migrationPlan describes, for a dry run, the migration Deploy would run
// before its update (taskDef: the revision, or how to name it).
func migrationPlan(opts DeployOptions, taskDef string) string {
	if opts.RunBefore == "" {
		return ""
	}
	container := "its first container"
	if opts.RunBeforeContainer != "" {
		container = fmt.Sprintf("container %q", opts.RunBeforeContainer)
	}
	return fmt.Sprintf("Would run a migration first, as a one-off task of %s placed as the service's tasks, in %s, with command %q, and update the service only if it exits 0\n",
		taskDef, container, MigrationCommand(opts.RunBefore))
}

package main

import (
	"fmt"
	"os"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// InitCmd is ecspresso's init (kayac/ecspresso init.go, InitOption:
// --region, --cluster, --service, --task-definition-path,
// --service-definition-path, --force-overwrite, --jsonnet; the config
// file is --config, ecspresso.yml when empty): the files of a service
// already running, read from ECS. --region is the global one. An existing
// file is overwritten only with --force-overwrite; without it nothing is
// written (ecspresso asks, file by file, and skips the ones declined).
type InitCmd struct {
	Cluster               string `default:"default" help:"The ECS cluster."`
	Service               string `required:"" help:"The ECS service to read."`
	TaskDefinitionPath    string `default:"ecs-task-def.json" help:"The task definition file to write." placeholder:"FILE"`
	ServiceDefinitionPath string `default:"ecs-service-def.json" help:"The service definition file to write." placeholder:"FILE"`
	ForceOverwrite        bool   `help:"Overwrite files that exist."`
	Jsonnet               bool   `help:"Write Jsonnet (.jsonnet) files."`
}

func (i *InitCmd) Run(a *app) error {
	if a.cli.Region == "" {
		return fmt.Errorf("init: give the region (--region or AWS_REGION)")
	}
	config := "ecspresso.yml"
	if len(a.cli.Config) == 1 {
		config = a.cli.Config[0]
	}
	opts := a.awsOptions()
	opts.Region = a.cli.Region
	clients, err := pipeline.NewAWS(a.ctx, opts)
	if err != nil {
		return err
	}
	files, err := pipeline.InitFromService(a.ctx, clients.ECS, pipeline.InitOptions{
		Region: a.cli.Region, Cluster: i.Cluster, Service: i.Service,
		ConfigPath: config, ServiceDefinitionPath: i.ServiceDefinitionPath, TaskDefinitionPath: i.TaskDefinitionPath,
		Jsonnet: i.Jsonnet,
	})
	if err != nil {
		return err
	}
	if !i.ForceOverwrite {
		for _, f := range files {
			if _, err := os.Stat(f.Path); err == nil {
				return fmt.Errorf("init: %s exists: give --force-overwrite to replace it (nothing was written)", f.Path)
			}
		}
	}
	for _, f := range files {
		if err := os.WriteFile(f.Path, f.Content, 0o644); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		a.print(fmt.Sprintf("saved %s\n", f.Path))
	}
	return nil
}

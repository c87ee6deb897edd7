// A Dagger module that reuses ecs-pipeline as a dependency, as an
// application team's own CI module would: its one function ships an
// application and reports how the deploy ended.
package main

import (
	"context"
	"fmt"

	"dagger/consumer/internal/dagger"
)

type Consumer struct{}

// ShipApp ships the application in source to ECS with ecs-pipeline and
// returns the deploy's outcome and task definition.
func (m *Consumer) ShipApp(
	ctx context.Context,
	// The application's source, with its Dockerfile and ecspresso files.
	source *dagger.Directory,
	// ECR repository to publish to.
	repository string,
	// AWS region.
	region string,
	// AWS credentials.
	awsAccessKeyID *dagger.Secret,
	awsSecretAccessKey *dagger.Secret,
	// Where AWS is, for a rehearsal against stand-ins.
	// +optional
	endpoint *dagger.Service,
	// Where to push instead of the repository's host, for a local stand-in
	// for ECR.
	// +optional
	registryEndpoint *dagger.Service,
) (string, error) {
	deployment := dag.EcsPipeline(dagger.EcsPipelineOpts{
		Source:             source,
		Region:             region,
		AwsAccessKeyID:     awsAccessKeyID,
		AwsSecretAccessKey: awsSecretAccessKey,
		Endpoint:           endpoint,
		RegistryEndpoint:   registryEndpoint,
	}).Ship(repository)
	outcome, err := deployment.Outcome(ctx)
	if err != nil {
		return "", err
	}
	taskDefinition, err := deployment.TaskDefinition(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s\n", outcome, taskDefinition), nil
}

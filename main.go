// Ship containers to Amazon ECS the same way on a laptop and in CI: build
// an application's Dockerfile, run its tests, publish the image to ECR,
// render the ecspresso task and service definitions with the image pinned
// by digest, deploy, and follow the deployment to its true end.
//
// ship does it all in one call; build, test, publish and service (render,
// diff, verify, deploy, rollback, status) are its steps; init hands out a
// starter kit; rehearse runs ship against a simulated ECS, ECR and STS that
// the module builds and runs itself, with no AWS account. Build and test
// steps whose inputs did not change are not run again; whatever reads or
// changes AWS is never cached (ship and deploy only within one session, so
// a caller reading several fields deploys once).
//
// Whatever talks to AWS runs the ecs-pipeline command (cmd/ecs-pipeline, a
// drop-in for the ecspresso binary) in a container, the engine image, so
// the module itself is small and loads fast.
package main

import "github.com/ecs-pipeline/ecs-pipeline/internal/dagger"

// EcsPipeline holds what every step needs: the application's source, the
// AWS region and credentials, and where AWS is.
type EcsPipeline struct {
	// The application's source directory (holds its Dockerfile).
	Source *dagger.Directory
	// AWS region, such as ap-northeast-1.
	Region string
	// +private
	AwsAccessKeyID *dagger.Secret
	// +private
	AwsSecretAccessKey *dagger.Secret
	// +private
	AwsSessionToken *dagger.Secret
	// +private
	Endpoint *dagger.Service
	// +private
	EndpointURL string
	// +private
	RegistryEndpoint *dagger.Service
	// +private
	TFStateFile string
	// +private
	RegistryURL string
	// +private
	EngineImage string
	// +private
	EngineFromSource bool
}

// New configures the pipeline for an application: its source, the AWS
// region and credentials, and optionally where AWS is.
func New(
	// The application's source directory, holding its Dockerfile. Pass
	// `--source .` from the application's repository.
	// +defaultPath="/"
	// +ignore=[".git/objects", ".git/lfs"]
	source *dagger.Directory,
	// AWS region, such as ap-northeast-1. An ECR repository's own region
	// wins over it when publishing.
	// +optional
	region string,
	// AWS access key id, such as env://AWS_ACCESS_KEY_ID. Without it, no
	// AWS call can be made.
	// +optional
	awsAccessKeyID *dagger.Secret,
	// AWS secret access key, such as env://AWS_SECRET_ACCESS_KEY.
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// AWS session token for temporary credentials (OIDC, SSO, assumed
	// roles), such as env://AWS_SESSION_TOKEN.
	// +optional
	awsSessionToken *dagger.Secret,
	// Send every AWS call to this service instead of AWS, to rehearse the
	// pipeline against moto or LocalStack: tcp://localhost:4566.
	// +optional
	endpoint *dagger.Service,
	// Send every AWS call to this URL instead of AWS (an alternative to
	// --endpoint for a URL the engine can reach).
	// +optional
	endpointURL string,
	// Push images through this service instead of to the repository's
	// host, from the engine image rather than Dagger: a local stand-in for
	// ECR, such as tcp://localhost:5001.
	// +optional
	registryEndpoint *dagger.Service,
	// The engine image to run (the ecs-pipeline command and the ECS
	// simulator), such as one a team mirrors: registry/ecs-pipeline-engine@sha256:....
	// Default: the release pinned in this module.
	// +optional
	engineImage string,
	// Build the engine image from this module's source instead of pulling
	// the released one.
	// +optional
	engineFromSource bool,
) *EcsPipeline {
	return &EcsPipeline{
		Source:             source,
		Region:             region,
		AwsAccessKeyID:     awsAccessKeyID,
		AwsSecretAccessKey: awsSecretAccessKey,
		AwsSessionToken:    awsSessionToken,
		Endpoint:           endpoint,
		EndpointURL:        endpointURL,
		RegistryEndpoint:   registryEndpoint,
		EngineImage:        engineImage,
		EngineFromSource:   engineFromSource,
	}
}

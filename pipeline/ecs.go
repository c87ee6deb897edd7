package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ServiceDescriber is the part of the ECS client that reads services.
type ServiceDescriber interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// ServiceDeploymentReader is the part of the ECS client that reads the
// service deployment history, the authoritative outcome of a deployment,
// and the service revisions that say what each one deployed.
type ServiceDeploymentReader interface {
	ListServiceDeployments(ctx context.Context, in *ecs.ListServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
	DescribeServiceRevisions(ctx context.Context, in *ecs.DescribeServiceRevisionsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
}

// TaskReader is the part of the ECS client that finds stopped tasks and
// their reasons.
type TaskReader interface {
	ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// TaskDefinitionRegistrar is the part of the ECS client that registers
// task definitions and looks up their revisions.
type TaskDefinitionRegistrar interface {
	TaskDefinitionDescriber
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// ServiceUpdater is the part of the ECS client that updates a service.
type ServiceUpdater interface {
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
}

// ResourceTagger is the part of the ECS client that tags resources.
type ResourceTagger interface {
	TagResource(ctx context.Context, in *ecs.TagResourceInput, optFns ...func(*ecs.Options)) (*ecs.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *ecs.UntagResourceInput, optFns ...func(*ecs.Options)) (*ecs.UntagResourceOutput, error)
}

// WaitAPI is what Wait calls.
type WaitAPI interface {
	ServiceDescriber
	ServiceDeploymentReader
	TaskReader
}

// DeployAPI is what Deploy calls; it creates a missing service and runs
// the RunBefore migration.
type DeployAPI interface {
	WaitAPI
	TaskDefinitionRegistrar
	ServiceUpdater
	ResourceTagger
	CreateAPI
	RunAPI
}

// RollbackAPI is what Rollback calls.
type RollbackAPI interface {
	DeployAPI
	StopServiceDeployment(ctx context.Context, in *ecs.StopServiceDeploymentInput, optFns ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
}

// ECSAPI is every ECS call the pipeline makes; *ecs.Client implements it.
type ECSAPI interface {
	RollbackAPI
	CreateAPI
	RunAPI
	DescribeClusters(ctx context.Context, in *ecs.DescribeClustersInput, optFns ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
}

// describeService reads one ACTIVE service, with the optional fields
// named in include (TAGS).
func describeService(ctx context.Context, api ServiceDescriber, cluster, service string, include ...types.ServiceField) (*types.Service, error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}, Include: include})
	if err != nil {
		var nf *types.ClusterNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("describing service: %w: service %q not found in cluster %q (%w)", ErrServiceNotFound, service, cluster, ErrClusterNotFound)
		}
		return nil, fmt.Errorf("describing service %q: %w", service, err)
	}
	for i := range out.Services {
		if s := &out.Services[i]; aws.ToString(s.ServiceName) == service && aws.ToString(s.Status) != "INACTIVE" {
			return s, nil
		}
	}
	return nil, fmt.Errorf("describing service: %w: service %q not found in cluster %q", ErrServiceNotFound, service, cluster)
}

// shortTaskDefinition turns a task definition ARN into "family:revision".
func shortTaskDefinition(arn string) string {
	if i := strings.LastIndex(arn, ":task-definition/"); i >= 0 {
		return arn[i+len(":task-definition/"):]
	}
	return arn
}

// primaryDeployment returns the service's PRIMARY deployment, or nil.
func primaryDeployment(s *types.Service) *types.Deployment {
	for i := range s.Deployments {
		if aws.ToString(s.Deployments[i].Status) == "PRIMARY" {
			return &s.Deployments[i]
		}
	}
	return nil
}

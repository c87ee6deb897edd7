package pipeline

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
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

// TaskDefinitionDescriber is the part of the ECS client that reads a running
// task definition.
type TaskDefinitionDescriber interface {
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
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

// TaskStopper is the part of the ECS client that stops tasks.
type TaskStopper interface {
	StopTask(ctx context.Context, in *ecs.StopTaskInput, optFns ...func(*ecs.Options)) (*ecs.StopTaskOutput, error)
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

// CreateAPI is what Create calls.
type CreateAPI interface {
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	CreateService(ctx context.Context, in *ecs.CreateServiceInput, optFns ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error)
}

// RegisterAPI is what Register calls.
type RegisterAPI interface {
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
}

// RunAPI is the part of the ECS client that Run calls.
type RunAPI interface {
	TraceAPI
	TaskStopper
	RunTask(ctx context.Context, in *ecs.RunTaskInput, optFns ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
}

// TraceAPI is the part of the ECS client that Trace calls: the task, its
// service's events and its task definition's log settings.
type TraceAPI interface {
	TaskReader
	ServiceDescriber
	TaskDefinitionDescriber
}

// TimelineAPI is the part of the ECS client that Timeline calls: the
// service (its events), its service deployment and its tasks.
type TimelineAPI interface {
	ServiceDescriber
	TaskReader
	DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
}

// LogsAPI is the part of the ECS client that Logs calls: the service and
// the task definitions of its deployments.
type LogsAPI interface {
	ServiceDescriber
	TaskDefinitionDescriber
}

// DiffAPI is what DiffService calls.
type DiffAPI interface {
	ServiceDescriber
	TaskDefinitionDescriber
}

// RevisionsAPI is what Revisions, DescribeRevision and Deregister call.
type RevisionsAPI interface {
	ServiceDescriber
	TaskReader
	TaskDefinitionDescriber
	ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	DeleteTaskDefinitions(ctx context.Context, in *ecs.DeleteTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.DeleteTaskDefinitionsOutput, error)
}

// DeleteAPI is what DeleteService calls.
type DeleteAPI interface {
	ServiceDescriber
	DeleteService(ctx context.Context, in *ecs.DeleteServiceInput, optFns ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error)
}

// ECSAPI is every ECS call the pipeline makes; *ecs.Client implements it.
type ECSAPI interface {
	RollbackAPI
	CreateAPI
	RunAPI
	RevisionsAPI
	DeleteAPI
	DescribeClusters(ctx context.Context, in *ecs.DescribeClustersInput, optFns ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
}

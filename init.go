package main

import (
	"embed"
	"io/fs"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/starter"
)

// starterKit is templates/: what a user copies into an application
// repository.
//
//go:embed all:templates
var starterKit embed.FS

// Init returns the starter kit for an application repository, filled in:
// ecspresso.yml, ecs-task-def.jsonnet and ecs-service-def.jsonnet (reading
// Terraform state and the published image). Export it into the repository:
// `init ... export --path .`.
func (m *EcsPipeline) Init(
	// ECS cluster name.
	cluster string,
	// ECS service name (also the task definition family).
	service string,
	// ECR repository images are published to, without tag.
	repository string,
	// Terraform state the definitions read: s3://bucket/key or a path in the
	// application repository.
	tfstateURL string,
	// AWS region of the cluster; the module's --region when empty.
	// +optional
	region string,
) (*dagger.Directory, error) {
	if region == "" {
		region = m.Region
	}
	kit, err := fs.Sub(starterKit, "templates")
	if err != nil {
		return nil, err
	}
	files, err := starter.Read(kit)
	if err != nil {
		return nil, err
	}
	filled, err := starter.Fill(files, starter.Options{
		Cluster: cluster, Service: service, Repository: repository, Region: region, TFStateURL: tfstateURL,
	})
	if err != nil {
		return nil, err
	}
	dir := dag.Directory()
	for p, content := range filled {
		dir = dir.WithNewFile(p, content)
	}
	return dir, nil
}

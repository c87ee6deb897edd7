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

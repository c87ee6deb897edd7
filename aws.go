package main

import (
	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"

	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// awsConfig builds the AWS configuration for a region (the module's own
// when empty) from the module's secrets and endpoint override.
func (m *EcsPipeline) awsConfig(ctx context.Context, region string) (aws.Config, error) {
	o := pipeline.AWSOptions{Region: region, EndpointURL: m.EndpointURL}
	if o.Region == "" {
		o.Region = m.Region
	}
	for _, s := range []struct {
		secret *dagger.Secret
		into   *string
	}{
		{m.AwsAccessKeyID, &o.AccessKeyID},
		{m.AwsSecretAccessKey, &o.SecretAccessKey},
		{m.AwsSessionToken, &o.SessionToken},
	} {
		if s.secret == nil {
			continue
		}
		v, err := s.secret.Plaintext(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("reading AWS credentials: %w", err)
		}
		*s.into = v
	}
	if m.Endpoint != nil {
		if _, err := m.Endpoint.Start(ctx); err != nil {
			return aws.Config{}, fmt.Errorf("starting the AWS endpoint service: %w", err)
		}
		url, err := m.Endpoint.Endpoint(ctx, dagger.ServiceEndpointOpts{Scheme: "http"})
		if err != nil {
			return aws.Config{}, fmt.Errorf("resolving the AWS endpoint service: %w", err)
		}
		o.EndpointURL = url
	}
	return pipeline.LoadAWSConfig(ctx, o)
}

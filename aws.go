package main

import (
	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"

	"context"
	"errors"
	"fmt"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// aws builds the AWS clients for a region (the module's own when empty)
// from the module's secrets and endpoint override.
func (m *EcsPipeline) aws(ctx context.Context, region string) (*pipeline.AWS, error) {
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
			return nil, fmt.Errorf("reading AWS credentials: %w", err)
		}
		*s.into = v
	}
	if m.Endpoint != nil {
		if _, err := m.Endpoint.Start(ctx); err != nil {
			return nil, fmt.Errorf("starting the AWS endpoint service: %w", err)
		}
		url, err := m.Endpoint.Endpoint(ctx, dagger.ServiceEndpointOpts{Scheme: "http"})
		if err != nil {
			return nil, fmt.Errorf("resolving the AWS endpoint service: %w", err)
		}
		o.EndpointURL = url
	}
	if o.Region == "" {
		return nil, errors.New("no AWS region: pass --region")
	}
	return pipeline.NewAWS(ctx, o)
}

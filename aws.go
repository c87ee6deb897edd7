package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// awsOptions turns the module's secrets and endpoint override into options
// for the library's AWS clients, with no region set.
func (m *EcsPipeline) awsOptions(ctx context.Context) (pipeline.AWSOptions, error) {
	o := pipeline.AWSOptions{EndpointURL: m.EndpointURL}
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
			return o, fmt.Errorf("reading AWS credentials: %w", err)
		}
		*s.into = v
	}
	if m.Endpoint != nil {
		if _, err := m.Endpoint.Start(ctx); err != nil {
			return o, fmt.Errorf("starting the AWS endpoint service: %w", err)
		}
		url, err := m.Endpoint.Endpoint(ctx, dagger.ServiceEndpointOpts{Scheme: "http"})
		if err != nil {
			return o, fmt.Errorf("resolving the AWS endpoint service: %w", err)
		}
		o.EndpointURL = url
	}
	return o, nil
}

// aws builds the AWS clients for a region (the module's own when empty).
func (m *EcsPipeline) aws(ctx context.Context, region string) (*pipeline.AWS, error) {
	o, err := m.awsOptions(ctx)
	if err != nil {
		return nil, err
	}
	if o.Region = region; o.Region == "" {
		o.Region = m.Region
	}
	if o.Region == "" {
		return nil, errors.New("no AWS region: pass --region")
	}
	return pipeline.NewAWS(ctx, o)
}

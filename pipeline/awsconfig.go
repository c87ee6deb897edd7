package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// AWSOptions says how to reach AWS. The zero value uses the SDK's default
// credential chain and the region from the environment.
type AWSOptions struct {
	// Region, such as ap-northeast-1. Empty means AWS_REGION.
	Region string
	// Static credentials. When AccessKeyID is empty the default chain is used.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// EndpointURL, when set, sends every AWS call to this URL instead of
	// AWS, so a pipeline can rehearse against moto or LocalStack.
	EndpointURL string
}

// LoadAWSConfig builds the one aws.Config from which every client is made.
func LoadAWSConfig(ctx context.Context, o AWSOptions) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.AccessKeyID != "" || o.SecretAccessKey != "" {
		if o.AccessKeyID == "" || o.SecretAccessKey == "" {
			return aws.Config{}, errors.New("loading AWS config: an access key id needs a secret access key and the other way round")
		}
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	if o.EndpointURL != "" {
		u, err := url.Parse(o.EndpointURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return aws.Config{}, fmt.Errorf("loading AWS config: endpoint %q is not an http(s) URL", o.EndpointURL)
		}
		opts = append(opts, config.WithBaseEndpoint(o.EndpointURL))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("loading AWS config: no region (pass a region or set AWS_REGION)")
	}
	return cfg, nil
}

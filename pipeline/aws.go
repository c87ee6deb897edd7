package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AWSOptions configures NewAWS. The zero value uses the default credential
// chain and region resolution of the AWS SDK.
type AWSOptions struct {
	// Region overrides the region; empty uses AWS_REGION or the shared config.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken set static credentials
	// when AccessKeyID is not empty; otherwise the default chain is used.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// RequestTimeout bounds one HTTP attempt of a call; a stalled attempt
	// fails and is retried like any transient error. Zero means 60s.
	RequestTimeout time.Duration
	// EndpointURL, when set, sends every service's requests to this URL
	// (S3 with path-style addressing), e.g. a local emulator such as moto.
	EndpointURL string
	// AssumeRoleARN, when set, is a role every client acts as: its
	// credentials come from STS AssumeRole, made with the credentials
	// above (or the default chain's), and are renewed before they expire
	// (ecspresso's --assume-role-arn).
	AssumeRoleARN string
}

// SSMAPI is the part of the SSM client that rendering calls.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// SecretsManagerAPI is the part of the Secrets Manager client that rendering calls.
type SecretsManagerAPI interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
}

// CloudFormationAPI is the part of the CloudFormation client that the
// cloudformation plugin's cfn_output and cfn_export call.
type CloudFormationAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	ListExports(ctx context.Context, in *cloudformation.ListExportsInput, optFns ...func(*cloudformation.Options)) (*cloudformation.ListExportsOutput, error)
}

// S3API is the part of the S3 client used to fetch tfstate files; the object
// body is handed to tfstate-lookup's reader.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// IAMAPI is the part of the IAM client that verify calls: roles, and the
// policies of a task role that ECS Exec needs.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, optFns ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
}

// CloudWatchLogsAPI is the part of the CloudWatch Logs client that verify,
// trace and logs call.
type CloudWatchLogsAPI interface {
	DescribeLogGroups(ctx context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error)
	LogStreamReader
	LogFilterer
}

// ELBv2API is the part of the Elastic Load Balancing v2 client that verify calls.
type ELBv2API interface {
	DescribeTargetGroups(ctx context.Context, in *elasticloadbalancingv2.DescribeTargetGroupsInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetGroupsOutput, error)
}

// AWS holds every AWS client the pipeline uses, all built from one aws.Config.
// Fields are interfaces so tests and callers may replace single clients.
type AWS struct {
	// Config is the configuration every client was built from.
	Config aws.Config
	// EndpointURL is the endpoint override, empty when AWS endpoints are used.
	EndpointURL string

	// ECR logs in to registries and creates repositories for publish.
	ECR ECRAPI
	// ECS registers task definitions and deploys, waits for and rolls back services.
	ECS ECSAPI
	// SSM reads parameters for the ssm template function and natives.
	SSM SSMAPI
	// SecretsManager resolves secret ARNs for secretsmanager_arn.
	SecretsManager SecretsManagerAPI
	// CloudFormation reads stack outputs and exports for cfn_output and cfn_export.
	CloudFormation CloudFormationAPI
	// S3 fetches s3:// tfstate files.
	S3 S3API
	// IAM looks up task and execution roles for verify.
	IAM IAMAPI
	// CloudWatchLogs looks up log groups for verify and reads task logs.
	CloudWatchLogs CloudWatchLogsAPI
	// ELBv2 looks up target groups for verify.
	ELBv2 ELBv2API
}

// defaultRequestTimeout bounds one HTTP attempt of any AWS call, including
// reading a tfstate file from S3.
const defaultRequestTimeout = 60 * time.Second

// NewAWS loads one aws.Config from opts and builds every client from it.
func NewAWS(ctx context.Context, opts AWSOptions) (*AWS, error) {
	// A connection that stalls without closing (a proxy or tunnel that
	// swallows a reset) would otherwise hang a call, and a wait, forever;
	// AWS API calls answer in well under a second.
	timeout := opts.RequestTimeout
	if timeout == 0 {
		timeout = defaultRequestTimeout
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(timeout)),
	}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if (opts.AccessKeyID == "") != (opts.SecretAccessKey == "") {
		return nil, errors.New("loading AWS config: an access key id needs a secret access key and the other way round")
	}
	if opts.EndpointURL != "" {
		if u, err := url.Parse(opts.EndpointURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("loading AWS config: endpoint %q is not an http(s) URL", opts.EndpointURL)
		}
	}
	if opts.AccessKeyID != "" {
		loadOpts = append(loadOpts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, opts.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS config: %w", err)
	}
	if opts.EndpointURL != "" {
		// BaseEndpoint applies to every service client built from cfg.
		cfg.BaseEndpoint = aws.String(opts.EndpointURL)
	}
	if opts.AssumeRoleARN != "" {
		if _, err := arn.Parse(opts.AssumeRoleARN); err != nil || !strings.Contains(opts.AssumeRoleARN, ":role/") {
			return nil, fmt.Errorf("--assume-role-arn %q: want a role ARN, arn:aws:iam::ACCOUNT:role/NAME", opts.AssumeRoleARN)
		}
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), opts.AssumeRoleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "ecs-pipeline" }))
	}
	return NewAWSFromConfig(cfg), nil
}

// NewAWSFromConfig builds every client from cfg. When cfg.BaseEndpoint is
// set, S3 uses path-style addressing so emulators work without DNS tricks.
func NewAWSFromConfig(cfg aws.Config) *AWS {
	a := &AWS{Config: cfg}
	if cfg.BaseEndpoint != nil {
		a.EndpointURL = *cfg.BaseEndpoint
	}
	a.ECR = ecr.NewFromConfig(cfg)
	a.ECS = ecs.NewFromConfig(cfg)
	a.SSM = ssm.NewFromConfig(cfg)
	a.SecretsManager = secretsmanager.NewFromConfig(cfg)
	a.CloudFormation = cloudformation.NewFromConfig(cfg)
	a.IAM = iam.NewFromConfig(cfg)
	a.CloudWatchLogs = cloudwatchlogs.NewFromConfig(cfg)
	a.ELBv2 = elasticloadbalancingv2.NewFromConfig(cfg)
	a.S3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = a.EndpointURL != ""
		// tfstate objects often lack checksums; the skip is not worth a log line.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return a
}

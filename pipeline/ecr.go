package pipeline

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// ECRAPI is the part of the ECR client that publishing and verify need.
type ECRAPI interface {
	BatchGetImage(context.Context, *ecr.BatchGetImageInput, ...func(*ecr.Options)) (*ecr.BatchGetImageOutput, error)
	GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
	DescribeRepositories(context.Context, *ecr.DescribeRepositoriesInput, ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(context.Context, *ecr.CreateRepositoryInput, ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

// Repository is an image repository without tag or digest (see package
// ref, which the module shares without the AWS SDK).
type Repository = ref.Repository

// ParseRepository parses a repository reference; see ref.ParseRepository.
func ParseRepository(s string) (Repository, error) { return ref.ParseRepository(s) }

// RegistryCredentials are a user name and password for a registry. The
// password is never formatted: print the value freely.
type RegistryCredentials struct {
	Username  string
	Password  string
	ExpiresAt time.Time
}

// String returns the user name only.
func (c RegistryCredentials) String() string { return c.Username + ":<redacted>" }

// GoString keeps %#v from printing the password.
func (c RegistryCredentials) GoString() string { return "RegistryCredentials{" + c.String() + "}" }

// ECRLogin asks ECR for registry credentials (GetAuthorizationToken). The
// token is valid for every repository of the account in the client's region.
func ECRLogin(ctx context.Context, api ECRAPI) (RegistryCredentials, error) {
	out, err := api.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && (resp.HTTPStatusCode() == http.StatusUnauthorized || resp.HTTPStatusCode() == http.StatusForbidden) {
		return RegistryCredentials{}, fmt.Errorf("getting ECR authorization token: AWS refused the credentials (HTTP %d): check the access key, secret key and session token, and that they have not expired: %w", resp.HTTPStatusCode(), err)
	}
	if err != nil {
		return RegistryCredentials{}, fmt.Errorf("getting ECR authorization token: %w", err)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return RegistryCredentials{}, errors.New("getting ECR authorization token: the response holds no token")
	}
	data := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
	if err != nil {
		return RegistryCredentials{}, errors.New("getting ECR authorization token: the token is not base64")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || pass == "" {
		return RegistryCredentials{}, errors.New("getting ECR authorization token: the token is not user:password")
	}
	return RegistryCredentials{Username: user, Password: pass, ExpiresAt: aws.ToTime(data.ExpiresAt)}, nil
}

// EnsureRepository creates the ECR repository unless it exists, and reports
// whether it created it. New repositories scan images on push.
func EnsureRepository(ctx context.Context, api ECRAPI, repo Repository) (bool, error) {
	in := &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo.Name}}
	if repo.AccountID != "" {
		in.RegistryId = aws.String(repo.AccountID)
	}
	_, err := api.DescribeRepositories(ctx, in)
	var notFound *types.RepositoryNotFoundException
	switch {
	case err == nil:
		return false, nil
	case !errors.As(err, &notFound):
		return false, fmt.Errorf("looking up ECR repository %q: %w", repo.Name, err)
	}
	_, err = api.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(repo.Name),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
	})
	var exists *types.RepositoryAlreadyExistsException
	if errors.As(err, &exists) { // created by a concurrent publish
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating ECR repository %q: %w", repo.Name, err)
	}
	return true, nil
}

// PushError explains a failed push of ref. The engine's message is kept
// whole, as text: the registry's own words are the most precise.
func PushError(ref string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "401 Unauthorized") || strings.Contains(msg, "403 Forbidden"):
		return fmt.Errorf("pushing %s: the registry refused the credentials from ECR (is the repository in the account and region of the credentials?): %s", ref, msg)
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") || strings.Contains(msg, "i/o timeout"):
		return fmt.Errorf("pushing %s: cannot reach the registry: %s", ref, msg)
	}
	return fmt.Errorf("pushing %s: %s", ref, msg)
}

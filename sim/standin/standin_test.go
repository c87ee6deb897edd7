package standin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"

	"github.com/ecs-pipeline/ecs-pipeline/sim/standin"
)

// TestUnservedCallsSayWhat: an ECR call the stand-in does not serve is an
// error naming it, and anything that is not ECR, STS or the registry goes to
// the wrapped handler.
func TestUnservedCallsSayWhat(t *testing.T) {
	var passed []string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		passed = append(passed, r.Header.Get("X-Amz-Target"))
		w.WriteHeader(http.StatusTeapot)
	})
	srv := httptest.NewServer(standin.New(next, "123456789012", "eu-west-1"))
	defer srv.Close()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test-key-id", "test-secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	_, err = client.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" || !strings.Contains(apiErr.ErrorMessage(), "DescribeRepositories") {
		t.Fatalf("DescribeRepositories = %v, want UnknownOperationException naming it", err)
	}
	if len(passed) != 0 {
		t.Fatalf("an ECR call reached the wrapped handler: %v", passed)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot || len(passed) != 1 {
		t.Fatalf("an ECS call got %d and reached the wrapped handler %d times", resp.StatusCode, len(passed))
	}
	if got := standin.New(next, "123456789012", "eu-west-1").RegistryHost(); got != "123456789012.dkr.ecr.eu-west-1.amazonaws.com" {
		t.Fatalf("RegistryHost = %s", got)
	}
}

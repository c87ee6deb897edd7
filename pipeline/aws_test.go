package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssimtest"
)

// TestNewAWSRequestTimeout: an attempt that stalls ends at RequestTimeout
// instead of hanging the call.
func TestNewAWSRequestTimeout(t *testing.T) {
	srv := ecssimtest.NewServer(t, ecssim.WithCluster("prod"))
	if err := srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultLatency, Operation: "DescribeClusters", Latency: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	clients, err := pipeline.NewAWS(context.Background(), pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test", EndpointURL: srv.URL,
		RequestTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = clients.ECS.DescribeClusters(context.Background(), &ecs.DescribeClustersInput{Clusters: []string{"prod"}},
		func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
	// The caller's context has no deadline: a deadline error is the client's
	// timeout, and it came before the 2 s the server stalls for.
	timedOut := err != nil && (errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout exceeded"))
	if !timedOut || time.Since(start) >= 2*time.Second {
		t.Fatalf("DescribeClusters on a stalled connection: %v after %v, want a client timeout", err, time.Since(start))
	}
}

// TestAssumeRoleARN: with AssumeRoleARN every client acts as the role,
// through STS AssumeRole made with the given keys (moto's STS); a value
// that is not a role ARN is refused before any call.
func TestAssumeRoleARN(t *testing.T) {
	moto := motoserver.Start(t)
	role := "arn:aws:iam::123456789012:role/deploy"
	clients, err := pipeline.NewAWS(t.Context(), pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "AKIDBASE", SecretAccessKey: "base-secret", EndpointURL: moto,
		AssumeRoleARN: role,
	})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := clients.Config.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID == "AKIDBASE" || creds.SessionToken == "" || !creds.CanExpire {
		t.Errorf("credentials are not the role's: key %q, session token set %v, expire %v", creds.AccessKeyID, creds.SessionToken != "", creds.CanExpire)
	}
	id, err := sts.NewFromConfig(clients.Config).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(id.Arn); !strings.Contains(got, ":assumed-role/deploy/ecs-pipeline") {
		t.Errorf("caller is %s, want the assumed role deploy, session ecs-pipeline", got)
	}

	for _, bad := range []string{"deploy", "arn:aws:iam::123456789012:user/deploy"} {
		_, err := pipeline.NewAWS(t.Context(), pipeline.AWSOptions{Region: "us-east-1", AccessKeyID: "a", SecretAccessKey: "b", AssumeRoleARN: bad})
		if err == nil || !strings.Contains(err.Error(), "--assume-role-arn") {
			t.Errorf("AssumeRoleARN %q: %v, want an error naming --assume-role-arn", bad, err)
		}
	}
}

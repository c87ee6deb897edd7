package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

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

package ecssim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestCredentialCheck refuses calls signed with a key the check declares
// expired, with ExpiredTokenException and without touching the state, and
// serves the others.
func TestCredentialCheck(t *testing.T) {
	var seen []string
	e := newEnv(t, ecssim.WithCredentialCheck(func(key string) bool {
		seen = append(seen, key)
		return key == "EXPIRED"
	}))
	cfg := e.srv.AWSConfig()
	cfg.Credentials = credentials.NewStaticCredentialsProvider("EXPIRED", "secret", "token")
	expired := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })

	_, err := expired.CreateCluster(e.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("other")})
	if !hasCode(err, "ExpiredTokenException") {
		t.Fatalf("CreateCluster with expired credentials: %v, want ExpiredTokenException", err)
	}
	out, err := e.ecs.ListClusters(e.ctx, &ecs.ListClustersInput{})
	if err != nil || len(out.ClusterArns) != 1 {
		t.Fatalf("ListClusters: %v %v, want only prod", out, err)
	}
	if len(seen) != 2 || seen[0] != "EXPIRED" || seen[1] != "test" {
		t.Errorf("check saw keys %v, want EXPIRED then test", seen)
	}
	if log := e.srv.Requests(); len(log) != 2 || log[0].ErrorCode != "ExpiredTokenException" || log[0].Status != 400 {
		t.Errorf("request log %+v", log)
	}
}

package ecssim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestSetAccount: the region and clusters a test sets through the admin
// endpoint appear in ARNs; the region cannot change once ARNs naming it
// were handed out.
func TestSetAccount(t *testing.T) {
	e := newEnv(t)
	admin := &ecssim.Client{URL: e.srv.URL}
	if err := admin.SetAccount(e.ctx, "eu-west-1", "staging"); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Simulator.Region(); got != "eu-west-1" {
		t.Fatalf("Region() = %q", got)
	}
	out, err := e.ecs.DescribeClusters(e.ctx, &ecs.DescribeClustersInput{Clusters: []string{"prod", "staging"}})
	if err != nil || len(out.Clusters) != 2 {
		t.Fatalf("clusters: %v %v", out, err)
	}
	for _, c := range out.Clusters {
		if want := "arn:aws:ecs:eu-west-1:123456789012:cluster/" + aws.ToString(c.ClusterName); aws.ToString(c.ClusterArn) != want {
			t.Errorf("cluster ARN %q, want %q", aws.ToString(c.ClusterArn), want)
		}
	}
	if arn := e.register("web", "registry.example.com/web:v1"); !strings.HasPrefix(arn, "arn:aws:ecs:eu-west-1:") {
		t.Errorf("task definition ARN %q", arn)
	}
	err = admin.SetAccount(e.ctx, "us-west-2")
	if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "task definitions are registered") {
		t.Fatalf("changing the region after a registration: %v", err)
	}
	if err := admin.SetAccount(e.ctx, "eu-west-1", "staging"); err != nil {
		t.Fatalf("the same region again: %v", err)
	}
}

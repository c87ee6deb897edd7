package pipeline

import (
	"context"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
)

// TestECRAgainstMoto runs the ECR calls publish makes against moto's ECR,
// through an endpoint override as a rehearsal would.
func TestECRAgainstMoto(t *testing.T) {
	ctx := context.Background()
	clients, err := NewAWS(ctx, AWSOptions{
		Region: "ap-northeast-1", AccessKeyID: "AKIDMOTO", SecretAccessKey: "moto-secret", EndpointURL: motoserver.Start(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	api := clients.ECR

	creds, err := ECRLogin(ctx, api)
	if err != nil {
		t.Fatalf("ECRLogin: %v", err)
	}
	if creds.Username != "AWS" || creds.Password == "" {
		t.Errorf("ECRLogin = user %q, password of %d bytes; want AWS and a password", creds.Username, len(creds.Password))
	}

	repo, err := ParseRepository("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/team/app")
	if err != nil {
		t.Fatal(err)
	}
	for i, wantCreated := range []bool{true, false} {
		created, err := EnsureRepository(ctx, api, repo)
		if err != nil || created != wantCreated {
			t.Errorf("EnsureRepository #%d = %v, %v; want %v, nil", i+1, created, err, wantCreated)
		}
	}
}

func TestNewAWSRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		o    AWSOptions
		want string
	}{
		{AWSOptions{Region: "us-east-1", EndpointURL: "localhost:4566"}, `endpoint "localhost:4566" is not an http(s) URL`},
		{AWSOptions{Region: "us-east-1", AccessKeyID: "AKID"}, "an access key id needs a secret access key"},
	} {
		if _, err := NewAWS(ctx, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewAWS(%+v) = %v, want an error saying %q", c.o, err, c.want)
		}
	}
}

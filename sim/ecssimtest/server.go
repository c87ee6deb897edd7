// Package ecssimtest serves the ECS simulator (package ecssim) over HTTP
// on 127.0.0.1 for the length of a test, as net/http/httptest does for a
// handler. It is the only part of the simulator that imports testing.
package ecssimtest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// Server is a Simulator served over HTTP on 127.0.0.1 for a test.
type Server struct {
	*ecssim.Simulator
	// URL is the endpoint to give AWS clients, e.g. "http://127.0.0.1:41234".
	URL string
}

// NewServer starts a simulator configured by opts on a free loopback port
// and stops it when the test ends.
func NewServer(t testing.TB, opts ...ecssim.Option) *Server {
	t.Helper()
	sim := ecssim.New(opts...)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	return &Server{Simulator: sim, URL: hs.URL}
}

// AWSConfig returns a configuration whose clients, of any service, call the
// server with static test credentials.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       s.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.URL),
	}
}

// ECSClient returns an unmodified ECS client that calls the server.
func (s *Server) ECSClient(optFns ...func(*ecs.Options)) *ecs.Client {
	return ecs.NewFromConfig(s.AWSConfig(), optFns...)
}

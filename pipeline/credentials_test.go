package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// sessions issues short-lived credentials, a new access key each time, and
// tells the simulator which keys have expired. Expiry is in wall time,
// the time the SDK's credentials cache judges it by.
type sessions struct {
	mu       sync.Mutex
	lifetime time.Duration
	expires  map[string]time.Time
	issued   int
}

func newSessions(lifetime time.Duration) *sessions {
	return &sessions{lifetime: lifetime, expires: map[string]time.Time{}}
}

// Retrieve issues a new session, as an STS AssumeRole would.
func (s *sessions) Retrieve(context.Context) (aws.Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.issued++
	key := fmt.Sprintf("ASIATEST%d", s.issued)
	exp := time.Now().Add(s.lifetime)
	s.expires[key] = exp
	return aws.Credentials{AccessKeyID: key, SecretAccessKey: "secret", SessionToken: "token", CanExpire: true, Expires: exp, Source: "test sessions"}, nil
}

// expired is the simulator's credential check: keys past their expiry and
// unknown keys are refused, but for the static key "test" of the env's
// own client, which sets up and inspects the simulator.
func (s *sessions) expired(key string) bool {
	if key == "test" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.expires[key]
	return !ok || !time.Now().Before(exp)
}

// pacedClock is simClock that also sleeps a 200th of each sleep in wall
// time, so that wall-clock credential lifetimes pass during a wait: a
// five-minute deployment takes 1.5 s.
type pacedClock struct{ simClock }

func (p pacedClock) Sleep(ctx context.Context, d time.Duration) error {
	time.Sleep(d / 200)
	return p.simClock.Sleep(ctx, d)
}

// credentialsEnv is a deploy env whose simulator refuses expired
// credentials, with a client that signs with creds, and a five-minute
// deployment of web:2.
func credentialsEnv(t *testing.T, s *sessions, creds aws.CredentialsProvider) (*deployEnv, *ecs.Client) {
	e := newDeployEnv(t, nil, ecssim.WithCredentialCheck(s.expired))
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: 4 * time.Minute})
	return e, ecsClientWith(e, creds)
}

func ecsClientWith(e *deployEnv, creds aws.CredentialsProvider) *ecs.Client {
	cfg := e.srv.AWSConfig()
	cfg.Credentials = creds
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
}

func newSessionCache(s *sessions, window time.Duration) *aws.CredentialsCache {
	return aws.NewCredentialsCache(s, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = window })
}

// TestDeployOutlastsCredentials waits five simulated minutes (1.5 s) with
// sessions of 400 ms, refreshed by the SDK's credentials cache 200 ms
// before they expire: every call is signed with a live session and the
// deploy succeeds.
func TestDeployOutlastsCredentials(t *testing.T) {
	s := newSessions(400 * time.Millisecond)
	e, api := credentialsEnv(t, s, newSessionCache(s, 200*time.Millisecond))
	began := time.Now()
	res, err := pipeline.Deploy(e.ctx, api, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: pacedClock{simClock{e.clock}}}})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Outcome != pipeline.OutcomeSucceeded || !strings.HasSuffix(aws.ToString(e.service().TaskDefinition), "web:2") {
		t.Errorf("outcome %s, service runs %s", res.Outcome, aws.ToString(e.service().TaskDefinition))
	}
	if issued := s.issued; issued < 4 {
		t.Errorf("%d sessions issued in %v; the test means to outlast several", issued, time.Since(began))
	}
	for _, r := range e.srv.Requests() {
		if r.ErrorCode == "ExpiredTokenException" {
			t.Errorf("%s at %s was refused for expired credentials", r.Operation, r.SimTime)
		}
	}
	if n := len(e.calls("UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	t.Logf("%d sessions over %v of wall time, %d polls", s.issued, time.Since(began).Round(time.Millisecond), res.Wait.Polls)
}

// TestDeployCredentialsExpire waits with credentials that expire after
// 300 ms of wall time (a minute of the paced wait) and cannot be
// refreshed: the deploy fails with ErrCredentialsExpired, saying where the
// deployment was when last seen, and never reports success.
func TestDeployCredentialsExpire(t *testing.T) {
	s := newSessions(300 * time.Millisecond)
	fixed, err := s.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	static := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return fixed, nil })
	e, api := credentialsEnv(t, s, static)
	res, err := pipeline.Deploy(e.ctx, api, e.cfg, pipeline.DeployOptions{Wait: pipeline.WaitOptions{Clock: pacedClock{simClock{e.clock}}}})
	if !errors.Is(err, pipeline.ErrCredentialsExpired) {
		t.Fatalf("Deploy: %v, want ErrCredentialsExpired", err)
	}
	t.Log(err)
	if res != nil && res.Outcome == pipeline.OutcomeSucceeded {
		t.Errorf("outcome %s", res.Outcome)
	}
	for _, want := range []string{"waiting for deployment ecs-svc/", "(web:2)", "last seen PRIMARY IN_PROGRESS with", "of 2 tasks running", "service running web:2", "the deployment goes on in ECS", "AWS credentials expired after", "ExpiredTokenException"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if res == nil || res.DeploymentID == "" || !strings.Contains(err.Error(), res.DeploymentID) {
		t.Errorf("result %+v does not name the deployment of the error", res)
	}
	if n := len(e.calls("UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
	// ECS goes on: the deployment completes without the waiter.
	e.clock.Advance(10 * time.Minute)
	if got := aws.ToString(e.service().TaskDefinition); !strings.HasSuffix(got, "web:2") {
		t.Errorf("service runs %s", got)
	}
}

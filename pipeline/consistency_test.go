package pipeline_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// tamper sits between the ECS client and the simulator and lets a test
// change what the client is told, after the simulator has acted: an
// answer lost to a 5xx, a stale read, a history that lags.
type tamper struct {
	next *http.Client
	mu   sync.Mutex
	// answer gets the operation and the simulator's answer and returns
	// the status and body the client sees.
	answer func(op string, status int, body []byte) (int, []byte)
}

func (t *tamper) Do(r *http.Request) (*http.Response, error) {
	resp, err := t.next.Do(r)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	t.mu.Lock()
	resp.StatusCode, body = t.answer(op, resp.StatusCode, body)
	t.mu.Unlock()
	resp.Status = http.StatusText(resp.StatusCode)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (e *deployEnv) tampered(answer func(op string, status int, body []byte) (int, []byte)) *ecs.Client {
	return e.srv.ECSClient(func(o *ecs.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = &tamper{next: http.DefaultClient, answer: answer}
	})
}

var serverError = []byte(`{"__type":"ServerException","message":"Service unavailable."}`)

// TestDeployUpdateAppliedDespiteStaleReads: UpdateService is applied but
// answered by a 5xx, and the next two DescribeServices still show the
// service as it was before (reads are eventually consistent). Deploy must
// find and follow the deployment the update started, without a second
// UpdateService.
func TestDeployUpdateAppliedDespiteStaleReads(t *testing.T) {
	e := newDeployEnv(t, nil)
	var before []byte
	stale := 0
	api := e.tampered(func(op string, status int, body []byte) (int, []byte) {
		switch {
		case op == "UpdateService":
			stale = 2
			return http.StatusInternalServerError, serverError
		case op == "DescribeServices" && stale > 0:
			stale--
			return http.StatusOK, before
		case op == "DescribeServices":
			before = body
		}
		return status, body
	})
	res, err := pipeline.Deploy(e.ctx, api, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	s := e.service()
	if res.Outcome != pipeline.OutcomeSucceeded || res.DeploymentID != aws.ToString(s.Deployments[0].Id) || !strings.HasSuffix(aws.ToString(s.TaskDefinition), "web:2") {
		t.Errorf("outcome %s following %s; the service runs %s in %s", res.Outcome, res.DeploymentID, aws.ToString(s.TaskDefinition), aws.ToString(s.Deployments[0].Id))
	}
	if n := len(e.calls("UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// TestDeployUpdateNotAppliedIsBounded: a 5xx on an UpdateService that was
// not applied (the simulator faults it before acting) ends in ErrUpdateNotApplied after a bounded number of reads,
// without a second UpdateService.
func TestDeployUpdateNotAppliedIsBounded(t *testing.T) {
	e := newDeployEnv(t, nil)
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "UpdateService", Count: 1}); err != nil {
		t.Fatal(err)
	}
	began := e.clock.Now()
	_, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if !errors.Is(err, pipeline.ErrUpdateNotApplied) {
		t.Fatalf("Deploy: %v, want ErrUpdateNotApplied", err)
	}
	reads := len(e.calls("DescribeServices"))
	if took := e.clock.Now().Sub(began); reads < 3 || reads > 30 || took > time.Minute {
		t.Errorf("%d DescribeServices over %v before giving up", reads, took)
	}
	if n := len(e.calls("UpdateService")); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// TestWaitSuccessNeedsSuccessfulServiceDeployment: the deployment's
// rollout state is COMPLETED but its service deployment says IN_PROGRESS
// for five more reads. Success is declared only once it says SUCCESSFUL,
// however many reads that takes.
func TestWaitSuccessNeedsSuccessfulServiceDeployment(t *testing.T) {
	e := newDeployEnv(t, nil)
	lag := 5
	api := e.tampered(func(op string, status int, body []byte) (int, []byte) {
		if op == "DescribeServiceDeployments" && lag > 0 && bytes.Contains(body, []byte(`"status":"SUCCESSFUL"`)) {
			lag--
			return status, bytes.ReplaceAll(body, []byte(`"status":"SUCCESSFUL"`), []byte(`"status":"IN_PROGRESS"`))
		}
		return status, body
	})
	res, err := pipeline.Deploy(e.ctx, api, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if res.Outcome != pipeline.OutcomeSucceeded || res.Wait.ServiceDeploymentStatus != "SUCCESSFUL" || lag != 0 {
		t.Errorf("outcome %s with service deployment %s, %d lagging reads left", res.Outcome, res.Wait.ServiceDeploymentStatus, lag)
	}
}

// TestWaitFindsServiceDeploymentByRevision starts two deployments of the
// same revision a second apart, the second replacing the first (whose
// service deployment ends STOPPED), then waits for the second: Wait must
// find the second's service deployment and see it SUCCESSFUL.
func TestWaitFindsServiceDeploymentByRevision(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: 20 * time.Second, HealthyAfter: 10 * time.Second})
	first, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	second, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true, SkipTaskDefinition: true, ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	if first.ServiceDeploymentArn == "" || first.ServiceDeploymentArn == second.ServiceDeploymentArn || first.TaskDefinitionArn != second.TaskDefinitionArn {
		t.Fatalf("service deployments %q and %q of %s and %s", first.ServiceDeploymentArn, second.ServiceDeploymentArn, first.TaskDefinitionArn, second.TaskDefinitionArn)
	}
	wr, err := pipeline.Wait(e.ctx, e.ecs, e.cfg, pipeline.WaitOptions{DeploymentID: second.DeploymentID, Clock: simClock{e.clock}})
	if err != nil || wr.Outcome != pipeline.OutcomeSucceeded || wr.ServiceDeploymentArn != second.ServiceDeploymentArn || wr.ServiceDeploymentStatus != "SUCCESSFUL" {
		t.Fatalf("Wait: %v %+v; want service deployment %s", err, wr, second.ServiceDeploymentArn)
	}
}

package pipeline

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// DeploymentError is a deployment that did not succeed.
type DeploymentError struct {
	// Outcome is how it ended; never OutcomeSucceeded.
	Outcome Outcome
	// Service is the service name.
	Service string
	// DeploymentID is the ECS deployment, e.g. "ecs-svc/1234567890123456789".
	DeploymentID string
	// TaskDefinition is what the deployment deployed, "family:revision".
	TaskDefinition string
	// Status is the service deployment status (ROLLBACK_SUCCESSFUL, ...),
	// empty when unknown.
	Status string
	// Reason is what ECS said, or for a timeout what was still missing.
	Reason string
	// RunningTaskDefinition is what the service runs now, "family:revision".
	RunningTaskDefinition string
	// StoppedTasks are the de-duplicated reasons of the deployment's
	// stopped tasks.
	StoppedTasks []StoppedTasks
	// Trace is the trace of the deployment's most recently stopped task
	// (TraceTask) with its last log lines; empty when none could be read.
	Trace string
}

// StoppedTasks is one reason tasks stopped for and how many did.
type StoppedTasks struct {
	// Reason joins the task's stopped reason and its containers' reasons
	// and non-zero exit codes.
	Reason string
	// Count is how many tasks stopped for it.
	Count int
}

func (e *DeploymentError) Error() string {
	var b strings.Builder
	what := e.Outcome.describe()
	if e.Outcome == OutcomeRolledBack && (e.Status == "ROLLBACK_REQUESTED" || e.Status == "ROLLBACK_IN_PROGRESS") {
		what = "failed and is being rolled back"
	}
	fmt.Fprintf(&b, "deployment %s (%s) of service %q %s", e.DeploymentID, e.TaskDefinition, e.Service, what)
	if e.Status != "" {
		fmt.Fprintf(&b, " (service deployment %s)", e.Status)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	for i, s := range e.StoppedTasks {
		if i == 0 {
			b.WriteString("; stopped tasks: ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", s.Reason)
		if s.Count > 1 {
			fmt.Fprintf(&b, " (%d tasks)", s.Count)
		}
	}
	if e.RunningTaskDefinition != "" {
		fmt.Fprintf(&b, "; service runs %s", e.RunningTaskDefinition)
	}
	if e.Trace != "" {
		b.WriteString("\n" + strings.TrimRight(e.Trace, "\n"))
	}
	return b.String()
}

// Unwrap returns the sentinel error of the outcome.
func (e *DeploymentError) Unwrap() error {
	switch e.Outcome {
	case OutcomeRolledBack:
		return ErrRolledBack
	case OutcomeRollbackFailed:
		return ErrRollbackFailed
	case OutcomeFailed:
		return ErrDeploymentFailed
	case OutcomeTimedOut:
		return ErrTimeout
	}
	return ErrDeploymentStopped
}

// Sentinel errors a *DeploymentError unwraps to, one per failed outcome.
var (
	ErrRolledBack        = errors.New("deployment rolled back")
	ErrRollbackFailed    = errors.New("deployment and rollback failed")
	ErrDeploymentFailed  = errors.New("deployment failed")
	ErrDeploymentStopped = errors.New("deployment stopped")
	ErrTimeout           = errors.New("deployment timed out")
)

// ErrCredentialsExpired is returned (wrapped) when a wait ends because the
// AWS credentials expired (ExpiredTokenException) before the deployment
// did.
var ErrCredentialsExpired = errors.New("AWS credentials expired")

// expiredCredentials reports whether err says the request's credentials
// (a session token) have expired.
func expiredCredentials(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ExpiredTokenException", "ExpiredToken":
		return true
	}
	return false
}

// ErrServiceNotFound is returned (wrapped) when the config's service does
// not exist or is no longer ACTIVE.
var ErrServiceNotFound = errors.New("service not found")

// ErrClusterNotFound is returned (wrapped, with ErrServiceNotFound) when
// the config's cluster does not exist: Deploy creates a missing service,
// never a missing cluster's.
var ErrClusterNotFound = errors.New("no such cluster")

// ErrUpdateNotApplied is returned (wrapped) when UpdateService got no
// clear answer (a 5xx, a broken connection) and the service shows no new
// deployment of the task definition. Deploy never repeats such a call: it
// may have been applied, and a second one would start a second deployment.
var ErrUpdateNotApplied = errors.New("service update not applied")

// ErrTaskFailed is returned (wrapped) when a task of Run stopped with an
// essential container that exited non-zero or never ran.
var ErrTaskFailed = errors.New("task failed")

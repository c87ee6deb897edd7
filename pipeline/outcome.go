package pipeline

// Outcome says how a deployment ended, or what a verb did.
type Outcome string

const (
	// OutcomeSucceeded: the deployment completed and ECS reported it
	// successful.
	OutcomeSucceeded Outcome = "SUCCEEDED"
	// OutcomeRolledBack: the deployment failed and ECS rolled the service
	// back (circuit breaker or a stop request).
	OutcomeRolledBack Outcome = "ROLLED_BACK"
	// OutcomeRollbackFailed: the deployment failed and so did the rollback.
	OutcomeRollbackFailed Outcome = "ROLLBACK_FAILED"
	// OutcomeFailed: the deployment failed and was not rolled back.
	OutcomeFailed Outcome = "FAILED"
	// OutcomeStopped: the deployment was stopped or replaced by another.
	OutcomeStopped Outcome = "STOPPED"
	// OutcomeTimedOut: the deployment had not ended by the deadline.
	OutcomeTimedOut Outcome = "TIMED_OUT"
	// OutcomeStarted: the deployment was started and not waited for.
	OutcomeStarted Outcome = "STARTED"
	// OutcomeDryRun: nothing was changed.
	OutcomeDryRun Outcome = "DRY_RUN"
)

// describe ends the sentence DeploymentError.Error says of the outcome.
func (o Outcome) describe() string {
	switch o {
	case OutcomeRolledBack:
		return "failed and was rolled back"
	case OutcomeRollbackFailed:
		return "failed and its rollback failed"
	case OutcomeFailed:
		return "failed"
	case OutcomeTimedOut:
		return "did not finish in time"
	}
	return "was stopped"
}

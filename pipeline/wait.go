package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Polling strategy of Wait (schedule.go tells when it polls and what).
//
//   - With history (the service's previous successful deployments), Wait
//     polls every pollSlow or so until the end is due by their durations,
//     then densely (about every 1.4 s) on the service deployment itself,
//     whose SUCCESSFUL ends the wait. Past the history's window, or
//     without history, the interval grows by half each poll up to
//     pollSlow (4 s) until ECS begins replacing the old tasks (they run
//     fewer, below the healthy floor) or only draining remains; from then
//     it is pollFast once, then pollDue (1.7 s) on the service deployment,
//     and past 25 s a fifteenth of how long that has lasted (up to 4 s).
//     Failed tasks make it poll every pollFailure (0.9 s) from just before
//     the next failure (which may trip the circuit breaker) is due.
//     Intervals off the window's grid get ±10% jitter so parallel deploys
//     do not poll in step.
//   - A token bucket caps the average: pollRate polls per second (one per
//     3 s), starting with pollInitial tokens and saving up to pollBurst.
//     Sparse phases save tokens that the dense polls near the end spend,
//     so over any wait of t seconds Wait polls at most
//     pollInitial + t/3 times.
//   - Throttling, 5xx and broken connections are waited out with
//     exponential backoff and full jitter (1-2 s doubling to 15-30 s); they
//     never fail the wait, and nothing is ever updated again.
//   - The last poll happens at the deadline, not before it. Reads after
//     it (how the deployment ended, why its tasks stopped) are retried
//     for postDeadlineGrace at most.
//
// Besides the polls, Wait makes one ListServiceDeployments call (for the
// history; it also finds the service deployment when UpdateService did
// not name it, with one DescribeServiceDeployments and one
// DescribeServiceRevisions call); one DescribeServiceDeployments call to
// confirm an outcome seen through DescribeServices (one a poll while the
// history lags); one DescribeServices call after a success seen through
// the service deployment when the events are followed, and after a
// failure; and, on failure or timeout, ListTasks and DescribeTasks for the
// stopped tasks' reasons.
const (
	pollFast        = time.Second
	pollSlow        = 4 * time.Second
	pollGrowth      = 1.5
	pollRate        = 1.0 / 3
	pollBurst       = 60
	pollInitial     = 20
	maxMissingPolls = 3
)

// postDeadlineGrace is how long past the timeout Wait may spend reading
// how the deployment ended (its status, the stopped tasks' reasons),
// whatever fails: the timeout is a hard bound.
const postDeadlineGrace = 5 * time.Second

// WaitOptions configures Wait, and the waiting of Deploy and Rollback.
type WaitOptions struct {
	// DeploymentID is the deployment to follow; empty follows the current
	// PRIMARY one. Deploy and Rollback set it themselves.
	DeploymentID string
	// Timeout bounds the wait; zero uses the config's timeout (10m when
	// unset).
	Timeout time.Duration
	// Events receives the service events that appear while waiting, one
	// line each ("2006-01-02T15:04:05Z message"), oldest first, without
	// duplicates and without events older than the deployment. Nil
	// discards them.
	Events io.Writer
	// Clock paces polling and measures the timeout; nil is SystemClock.
	Clock Clock
	// Logs reads the log lines a failed deployment's error quotes from its
	// stopped task's trace; nil quotes none.
	Logs LogStreamReader
	// PollTick, when above zero, delays every poll to the next multiple of
	// it (by Clock, since the Unix epoch), so that waits running side by
	// side poll at the same instants and a BatchingECS coalesces their
	// reads. DeployServices sets it.
	PollTick time.Duration
	// Until is where the wait ends (ecspresso's deploy --wait-until):
	// "" or UntilDeployed, when the deployment ends; UntilStable, the same
	// and, for a rolling deployment, once it runs its desired count (as
	// ECS's services-stable waiter, which ecspresso's scale waits with: a
	// change of the desired count alone starts no deployment, and the one
	// that ended stays COMPLETED while the new tasks start); UntilPaused, when a PAUSE lifecycle
	// hook awaits action; "ecs:STAGE" (UntilStagePrefix), when the service
	// deployment, still in progress, is at that lifecycle stage or a later
	// one (ECS's order). The last two need a BLUE_GREEN, LINEAR or CANARY
	// strategy and are refused before anything changes otherwise; a
	// deployment that ends first succeeds when it succeeded, and a
	// rollback is an error.
	Until string
}

// WaitResult is how a followed deployment ended.
type WaitResult struct {
	// Outcome is OutcomeSucceeded, or the outcome of the returned error.
	Outcome Outcome
	// DeploymentID is the followed deployment.
	DeploymentID string
	// ServiceDeploymentArn is its service deployment, empty if not found.
	ServiceDeploymentArn string
	// ServiceDeploymentStatus is the last status read, empty if unknown.
	ServiceDeploymentStatus string
	// TaskDefinition is the deployment's task definition ARN.
	TaskDefinition string
	// RunningTaskDefinition is the task definition ARN the service runs.
	RunningTaskDefinition string
	// Polls counts the DescribeServices calls made.
	Polls int
	// Elapsed is the time waited, by the options' clock.
	Elapsed time.Duration
	// Strategy is the deployment strategy followed (ROLLING, BLUE_GREEN,
	// LINEAR, CANARY).
	Strategy string
	// Stages are the lifecycle stages of a native strategy's service
	// deployment, in the order reads showed them (a short stage may pass
	// unseen); nil for ROLLING.
	Stages []PassedStage
	// Stage is the lifecycle stage of the last read: where a wait until
	// "ecs:STAGE" or "paused" stopped.
	Stage string
	// HookID is the PAUSE lifecycle hook awaiting action where a wait
	// until "paused" stopped; continue it with ContinueServiceDeployment.
	HookID string
}

// Wait follows a deployment of the config's service until it ends. It
// succeeds only when that deployment completed as the PRIMARY one (and,
// where available, its service deployment is SUCCESSFUL); a service that
// is stable after a rollback is a failure. Failures and timeouts are a
// *DeploymentError naming the reasons the deployment's tasks stopped for
// and the revision the service runs now; the result is returned with it.
// A BLUE_GREEN, LINEAR or CANARY deployment is followed by its service
// deployment alone, through its lifecycle stages, to its end or to
// opts.Until (lifecycle.go).
func Wait(ctx context.Context, api WaitAPI, cfg *Config, opts WaitOptions) (*WaitResult, error) {
	svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
	if err != nil {
		return nil, fmt.Errorf("waiting: %w", err)
	}
	var dep *types.Deployment
	if opts.DeploymentID == "" {
		dep = primaryDeployment(svc)
	} else {
		dep = findDeployment(svc, opts.DeploymentID)
	}
	if dep == nil {
		return nil, fmt.Errorf("waiting: service %q has no deployment %q", cfg.Service, opts.DeploymentID)
	}
	if _, err := checkUntil(opts.Until, serviceStrategy(svc)); err != nil {
		return nil, fmt.Errorf("waiting: %w", err)
	}
	// The service's current service deployment need not be dep's (dep may
	// be an older one, or a rollback): find it.
	return follow(ctx, api, cfg, opts, serviceStrategy(svc), *dep, "")
}

// follow waits for dep, deployed with strategy; sdArn is the service
// deployment whose target it is, if known.
func follow(ctx context.Context, api WaitAPI, cfg *Config, opts WaitOptions, strategy types.DeploymentStrategy, dep types.Deployment, sdArn string) (*WaitResult, error) {
	return followServiceDeployment(ctx, api, cfg, opts, strategy, dep, sdArn, false)
}

// followServiceDeployment waits for dep, the target of the service
// deployment sdArn or, with rollback, the deployment rolling sdArn back
// (whose success is sdArn's ROLLBACK_SUCCESSFUL). A native strategy's
// deployment is followed by its service deployment alone (lifecycle.go).
func followServiceDeployment(ctx context.Context, api WaitAPI, cfg *Config, opts WaitOptions, strategy types.DeploymentStrategy, dep types.Deployment, sdArn string, rollback bool) (*WaitResult, error) {
	target, err := checkUntil(opts.Until, strategy)
	if err != nil {
		return nil, fmt.Errorf("waiting: %w", err)
	}
	w := &waiter{
		api:        api,
		clock:      opts.Clock,
		events:     opts.Events,
		cluster:    cfg.Cluster,
		service:    cfg.Service,
		dep:        dep,
		sdArn:      sdArn,
		sdRollback: rollback,
		seen:       map[string]bool{},
		tick:       opts.PollTick,
		steady:     target.until == UntilStable,
	}
	if w.clock == nil {
		w.clock = SystemClock{}
	}
	if w.events == nil {
		w.events = io.Discard
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = cfg.Timeout
	}
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	var res *WaitResult
	if nativeStrategy(strategy) {
		res, err = w.runNative(ctx, timeout, target, strategy)
	} else if res, err = w.run(ctx, timeout); res != nil {
		res.Strategy = string(cmp.Or(strategy, types.DeploymentStrategyRolling))
	}
	if de := (*DeploymentError)(nil); errors.As(err, &de) {
		// The trace reads within what is left of the deadline's grace, so
		// that it never stretches the timeout.
		budget := min(maxDeploymentTrace, w.until.Sub(w.clock.Now()))
		de.Trace = traceDeployment(ctx, api, opts.Logs, w.clock, budget, w.cluster, w.id())
	}
	return res, err
}

// waiter follows one deployment.
type waiter struct {
	api              WaitAPI
	clock            Clock
	events           io.Writer
	cluster, service string
	dep              types.Deployment // as first seen
	sdArn            string
	sdRollback       bool // dep rolls sdArn back rather than being its target
	sdStatus         string
	seen             map[string]bool
	polls            int
	missing          int
	start            time.Time
	until            time.Time // retries end here, by clock: deadline + grace

	depStart      time.Time     // when the deployment started
	window        *endWindow    // when its end is due, from the history; nil if unknown
	draining      bool          // the last read showed only draining left
	othersRunning int32         // the most tasks the other deployments ran, as read
	replacing     bool          // they ran fewer since: ECS is replacing them
	dueSince      time.Time     // since when draining or replacing, as seen without history
	failedTasks   int32         // the most failed tasks a read showed
	running       int32         // its running tasks, as last read
	runningAfter  time.Time     // a task last became RUNNING after this
	runningBy     time.Time     // and by this
	lifetime      time.Duration // how long, at least, its first failed task lived
	runAge        time.Duration // and how long, at least, it was RUNNING
	lastFailure   time.Time     // the last failure happened after this
	sdPollOff     bool          // the service deployment cannot be polled
	sdEnded       bool          // it ended unsuccessfully: poll the service for how
	tick          time.Duration // polls fall on its multiples (WaitOptions.PollTick)
	steady        bool          // the end needs the deployment's running count at its desired count (UntilStable)
}

// begin starts a wait of timeout: its deadline, w.until (the deadline and
// the grace for reading how it ended), and a context that cuts off, by the
// same bound in wall time, calls that hang or that the SDK keeps retrying;
// cut tells whether that bound (not the caller) ended the context.
func (w *waiter) begin(parent context.Context, timeout time.Duration) (ctx context.Context, cancel context.CancelFunc, deadline time.Time, cut func() bool) {
	w.start = w.clock.Now()
	deadline = w.start.Add(timeout)
	w.until = deadline.Add(postDeadlineGrace)
	ctx, cancel = context.WithTimeout(parent, timeout+postDeadlineGrace)
	cut = func() bool { return ctx.Err() != nil && parent.Err() == nil }
	return ctx, cancel, deadline, cut
}

func (w *waiter) run(parent context.Context, timeout time.Duration) (*WaitResult, error) {
	ctx, cancel, deadline, cut := w.begin(parent, timeout)
	defer cancel()
	bucket := tokenBucket{tokens: pollInitial, last: w.start}
	var list *ecs.ListServiceDeploymentsOutput
	if w.sdArn == "" {
		w.sdArn, w.sdRollback, list = w.findServiceDeployment(ctx)
	}
	w.depStart = w.start
	if c := aws.ToTime(w.dep.CreatedAt); !c.IsZero() && !c.After(w.start) {
		w.depStart = c
	}
	w.readHistory(ctx, list)
	interval := pollFast
	sdPoll := false
	// The deployment was just read (or started): the first poll waits
	// pollFast, or with history as long as the history says.
	sleep := jitter(pollFast, 0.1)
	if w.window != nil {
		var exact bool
		interval, sdPoll, exact = w.plan(w.start, pollSlow)
		if sleep = interval; !exact {
			sleep = jitter(interval, 0.1)
		}
	}
	var svc *types.Service
	var prevPoll time.Time
	failures := 0
	for first := true; ; first = false {
		if !first || sleep > 0 {
			now := w.clock.Now()
			if !now.Before(deadline) {
				return w.timedOut(ctx, svc, timeout)
			}
			sleep = alignedSleep(now, max(sleep, bucket.wait(now)), w.tick)
			if now.Add(sleep).After(deadline) {
				sleep = deadline.Sub(now)
			}
			if err := w.clock.Sleep(ctx, sleep); err != nil {
				if cut() {
					return w.timedOut(ctx, svc, timeout)
				}
				return nil, fmt.Errorf("waiting for deployment %s: %w", w.id(), err)
			}
		}
		now := w.clock.Now()
		bucket.take(now)
		w.polls++
		var err error
		if sdPoll && w.sdArn != "" && !w.sdPollOff && !w.sdEnded {
			var sd *types.ServiceDeployment
			sd, err = w.readServiceDeployment(ctx)
			switch {
			case err == nil && sd == nil:
				w.sdPollOff = true // not found: follow the service alone
			case err == nil:
				succeeded, running := w.sdOutcomeStatuses()
				switch {
				case slices.Contains(succeeded, sd.Status):
					return w.succeeded(ctx, svc), nil
				case slices.Contains(running, sd.Status):
					if cb, t := sd.DeploymentCircuitBreaker, sd.TargetServiceRevision; cb != nil && t != nil {
						w.tasksSeen(t.RunningTaskCount, cb.FailureCount, now, prevPoll)
					}
					w.sdSeen(sd)
				default:
					// It failed, stopped or is rolling back: the service
					// tells how. A rollback's status alone is the outcome;
					// otherwise the service must show it.
					w.sdEnded = true
					s, rerr := retryingUntil(ctx, w.clock, w.until, transientIn(ctx), func() (*types.Service, error) {
						return describeService(ctx, w.api, w.cluster, w.service)
					})
					if rerr == nil {
						svc = s
						w.stream(s.Events)
						if res, done, err := w.check(ctx, s); done {
							return res, err
						}
						if strings.HasPrefix(string(sd.Status), "ROLLBACK_") {
							res, _, err := w.failed(ctx, s, findDeployment(s, w.id()))
							return res, err
						}
					}
				}
			}
		} else {
			var s *types.Service
			s, err = describeService(ctx, w.api, w.cluster, w.service)
			if err == nil {
				svc = s
				w.stream(s.Events)
				if res, done, err := w.check(ctx, s); done {
					return res, err
				}
				if d := findDeployment(s, w.id()); d != nil {
					w.tasksSeen(d.RunningCount, d.FailedTasks, now, prevPoll)
				}
				w.serviceSeen(s)
			}
		}
		prevPoll = now
		switch {
		case err != nil && cut():
			return w.timedOut(ctx, svc, timeout)
		case err != nil && sdPoll && !transient(ctx, err):
			// The service deployment cannot be read: follow the service.
			w.sdPollOff = true
			sdPoll, sleep = false, 0
		case err != nil && !transient(ctx, err):
			return nil, w.aborted(svc, err)
		case err != nil:
			failures++
			sleep = errorBackoff(failures)
		default:
			failures = 0
			var exact bool
			interval, sdPoll, exact = w.plan(w.clock.Now(), interval)
			if sleep = interval; !exact {
				sleep = jitter(interval, 0.1)
			}
		}
	}
}

// readServiceDeployment reads the followed service deployment once; nil
// without an error when ECS does not know it.
func (w *waiter) readServiceDeployment(ctx context.Context) (*types.ServiceDeployment, error) {
	out, err := w.api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{w.sdArn}})
	if err != nil {
		return nil, err
	}
	if len(out.ServiceDeployments) == 0 {
		return nil, nil
	}
	sd := &out.ServiceDeployments[0]
	w.sdStatus = string(sd.Status)
	return sd, nil
}

// succeeded is the result of a deployment whose service deployment
// succeeded: the service runs its task definition. When the events are
// followed, one more read streams the last ones (the completion).
func (w *waiter) succeeded(ctx context.Context, svc *types.Service) *WaitResult {
	if w.events != io.Discard {
		if s, err := describeService(ctx, w.api, w.cluster, w.service); err == nil {
			w.stream(s.Events)
		}
	}
	return &WaitResult{
		Outcome:                 OutcomeSucceeded,
		DeploymentID:            w.id(),
		ServiceDeploymentArn:    w.sdArn,
		ServiceDeploymentStatus: w.sdStatus,
		TaskDefinition:          aws.ToString(w.dep.TaskDefinition),
		RunningTaskDefinition:   aws.ToString(w.dep.TaskDefinition),
		Polls:                   w.polls,
		Elapsed:                 w.clock.Now().Sub(w.start),
	}
}

func (w *waiter) id() string { return aws.ToString(w.dep.Id) }

// aborted builds the error for a wait that a call failed for good, with
// the deployment as last seen (s, nil before the first poll): the
// deployment goes on in ECS, and the user needs to know where it was.
func (w *waiter) aborted(s *types.Service, err error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "waiting for deployment %s (%s)", w.id(), shortTaskDefinition(aws.ToString(w.dep.TaskDefinition)))
	if expiredCredentials(err) {
		err = fmt.Errorf("%w after %s (use credentials that are refreshed, such as a role, or that outlast the timeout): %w", ErrCredentialsExpired, w.clock.Now().Sub(w.start).Round(time.Second), err)
	}
	if s != nil {
		b.WriteString("; last seen")
		if d := findDeployment(s, w.id()); d != nil {
			fmt.Fprintf(&b, " %s %s with %d of %d tasks running, %d pending, %d failed", aws.ToString(d.Status), d.RolloutState, d.RunningCount, d.DesiredCount, d.PendingCount, d.FailedTasks)
		} else {
			b.WriteString(" no longer listed")
		}
		fmt.Fprintf(&b, ", service running %s; the deployment goes on in ECS", shortTaskDefinition(aws.ToString(s.TaskDefinition)))
	}
	return fmt.Errorf("%s: %w", b.String(), err)
}

// check decides whether the deployment has ended.
func (w *waiter) check(ctx context.Context, s *types.Service) (*WaitResult, bool, error) {
	dep := findDeployment(s, w.id())
	if dep == nil && w.missing < maxMissingPolls {
		// DescribeServices is eventually consistent: a deployment just
		// started may not be listed yet. Gone for good is confirmed later.
		w.missing++
		return nil, false, nil
	}
	if dep != nil && aws.ToString(dep.Status) == "PRIMARY" && dep.RolloutState != types.DeploymentRolloutStateFailed {
		completed := dep.RolloutState == types.DeploymentRolloutStateCompleted ||
			// Without a rollout state (not the ECS controller) fall back to
			// "ours is the only deployment and all its tasks run".
			(dep.RolloutState == "" && len(s.Deployments) == 1 && dep.RunningCount == dep.DesiredCount)
		if !completed || (w.steady && dep.RunningCount != dep.DesiredCount) {
			return nil, false, nil
		}
		succeeded, running := w.sdOutcomeStatuses()
		switch sd := w.describeServiceDeployment(ctx); {
		case sd == nil, slices.Contains(succeeded, sd.Status):
		case slices.Contains(running, sd.Status):
			// The history may lag the deployment: only its SUCCESSFUL
			// ends the wait, however many reads it takes (the deadline
			// bounds them).
			return nil, false, nil
		default:
			return w.failed(ctx, s, dep)
		}
		return w.result(s, OutcomeSucceeded), true, nil
	}
	return w.failed(ctx, s, dep)
}

// failed builds the error for a deployment that failed, was rolled back,
// stopped or replaced; dep is nil when it is no longer listed.
func (w *waiter) failed(ctx context.Context, s *types.Service, dep *types.Deployment) (*WaitResult, bool, error) {
	e := &DeploymentError{
		Service:               w.service,
		DeploymentID:          w.id(),
		TaskDefinition:        shortTaskDefinition(aws.ToString(w.dep.TaskDefinition)),
		RunningTaskDefinition: shortTaskDefinition(aws.ToString(s.TaskDefinition)),
	}
	var reasons []string
	if dep != nil && aws.ToString(dep.RolloutStateReason) != "" {
		reasons = append(reasons, aws.ToString(dep.RolloutStateReason))
	}
	failed := dep != nil && dep.RolloutState == types.DeploymentRolloutStateFailed
	primary := primaryDeployment(s)
	stillPrimary := primary != nil && aws.ToString(primary.Id) == w.id()
	sd := w.describeServiceDeployment(ctx)
	status := ""
	if sd != nil {
		status = string(sd.Status)
		e.Status = status
		if r := aws.ToString(sd.StatusReason); r != "" && !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	switch {
	case w.sdRollback && status == "ROLLBACK_FAILED":
		e.Outcome = OutcomeFailed // dep is the rollback, and it failed
	case !w.sdRollback && status == "ROLLBACK_FAILED":
		e.Outcome = OutcomeRollbackFailed
	case !w.sdRollback && strings.HasPrefix(status, "ROLLBACK_"):
		e.Outcome = OutcomeRolledBack
	case failed && stillPrimary:
		e.Outcome = OutcomeFailed
	case status == "" && failed && primary != nil:
		e.Outcome = OutcomeRolledBack // a new PRIMARY took over from our failed deployment
	default:
		e.Outcome = OutcomeStopped
		if !stillPrimary && primary != nil {
			reasons = append(reasons, fmt.Sprintf("deployment %s (%s) is now PRIMARY", aws.ToString(primary.Id), shortTaskDefinition(aws.ToString(primary.TaskDefinition))))
		}
	}
	e.Reason = strings.Join(reasons, "; ")
	e.StoppedTasks = w.stoppedTasks(ctx)
	return w.result(s, e.Outcome), true, e
}

// timeoutError is the error of a wait that timed out, before what the
// last reads tell is added.
func (w *waiter) timeoutError(timeout time.Duration) *DeploymentError {
	return &DeploymentError{
		Outcome:        OutcomeTimedOut,
		Service:        w.service,
		DeploymentID:   w.id(),
		TaskDefinition: shortTaskDefinition(aws.ToString(w.dep.TaskDefinition)),
		Reason:         fmt.Sprintf("still in progress after %s", timeout),
	}
}

// timedOut builds the error for a deployment that had not ended in time.
func (w *waiter) timedOut(ctx context.Context, s *types.Service, timeout time.Duration) (*WaitResult, error) {
	e := w.timeoutError(timeout)
	res := &WaitResult{Outcome: OutcomeTimedOut, DeploymentID: w.id(), TaskDefinition: aws.ToString(w.dep.TaskDefinition), Polls: w.polls, Elapsed: w.clock.Now().Sub(w.start)}
	if s != nil {
		res = w.result(s, OutcomeTimedOut)
		e.RunningTaskDefinition = shortTaskDefinition(aws.ToString(s.TaskDefinition))
		if d := findDeployment(s, w.id()); d != nil {
			e.Reason += fmt.Sprintf(": %d of %d tasks running, %d pending, %d failed", d.RunningCount, d.DesiredCount, d.PendingCount, d.FailedTasks)
			if r := aws.ToString(d.RolloutStateReason); r != "" {
				e.Reason += "; " + r
			}
		}
	}
	if sd := w.describeServiceDeployment(ctx); sd != nil {
		e.Status = string(sd.Status)
	}
	e.StoppedTasks = w.stoppedTasks(ctx)
	return res, e
}

func (w *waiter) result(s *types.Service, o Outcome) *WaitResult {
	return &WaitResult{
		Outcome:                 o,
		DeploymentID:            w.id(),
		ServiceDeploymentArn:    w.sdArn,
		ServiceDeploymentStatus: w.sdStatus,
		TaskDefinition:          aws.ToString(w.dep.TaskDefinition),
		RunningTaskDefinition:   aws.ToString(s.TaskDefinition),
		Polls:                   w.polls,
		Elapsed:                 w.clock.Now().Sub(w.start),
	}
}

// stream writes the events not written yet that are not older than the
// deployment, oldest first. ECS lists at most 100 events, newest first.
func (w *waiter) stream(events []types.ServiceEvent) {
	since := aws.ToTime(w.dep.CreatedAt)
	var fresh []types.ServiceEvent
	for _, e := range slices.Backward(events) {
		id := aws.ToString(e.Id)
		if w.seen[id] || aws.ToTime(e.CreatedAt).Before(since) {
			continue
		}
		w.seen[id] = true
		fresh = append(fresh, e)
	}
	slices.SortStableFunc(fresh, func(a, b types.ServiceEvent) int {
		return aws.ToTime(a.CreatedAt).Compare(aws.ToTime(b.CreatedAt))
	})
	for _, e := range fresh {
		fmt.Fprintf(w.events, "%s %s\n", aws.ToTime(e.CreatedAt).UTC().Format(time.RFC3339), aws.ToString(e.Message))
	}
}

// findServiceDeployment finds the service deployment of w.dep and
// whether w.dep is its target or its rollback. Nothing in a service
// deployment names its deployment (its ARN ends in a random id), so it
// matches what the API does say: the task definition of the target
// revision (of the rollback revision), and a creation time (a rollback
// start) within sdMatchWindow of the deployment's, the closest winning.
// Errors are not fatal: without it Wait relies on the deployment's rollout
// state alone.
func (w *waiter) findServiceDeployment(ctx context.Context) (arn string, rollback bool, list *ecs.ListServiceDeploymentsOutput) {
	created := aws.ToTime(w.dep.CreatedAt)
	near := func(t *time.Time) bool { return t != nil && t.Sub(created).Abs() <= sdMatchWindow }
	list, err := w.api.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster:    aws.String(w.cluster),
		Service:    aws.String(w.service),
		MaxResults: aws.Int32(20), // newest first; DescribeServiceDeployments takes 20
	})
	if err != nil || len(list.ServiceDeployments) == 0 {
		return "", false, list
	}
	var arns []string
	for _, b := range list.ServiceDeployments {
		arns = append(arns, aws.ToString(b.ServiceDeploymentArn))
	}
	out, err := w.api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: arns})
	if err != nil {
		return "", false, list
	}
	var revs []string
	for _, sd := range out.ServiceDeployments {
		if r := sd.TargetServiceRevision; r != nil && near(sd.CreatedAt) {
			revs = append(revs, aws.ToString(r.Arn))
		}
		if r := sd.Rollback; r != nil && near(r.StartedAt) {
			revs = append(revs, aws.ToString(r.ServiceRevisionArn))
		}
	}
	slices.Sort(revs)
	if revs = slices.Compact(revs); len(revs) == 0 {
		return "", false, list
	}
	taskDef := map[string]string{}
	for chunk := range slices.Chunk(revs, 20) {
		rv, err := w.api.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: chunk})
		if err != nil {
			return "", false, list
		}
		for _, r := range rv.ServiceRevisions {
			taskDef[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.TaskDefinition)
		}
	}
	want := aws.ToString(w.dep.TaskDefinition)
	bestGap := sdMatchWindow + 1
	consider := func(sd types.ServiceDeployment, rev *string, at *time.Time, isRollback bool) {
		if rev == nil || !near(at) || taskDef[aws.ToString(rev)] != want {
			return
		}
		if gap := at.Sub(created).Abs(); gap < bestGap {
			arn, rollback, bestGap = aws.ToString(sd.ServiceDeploymentArn), isRollback, gap
		}
	}
	for _, sd := range out.ServiceDeployments {
		if r := sd.TargetServiceRevision; r != nil {
			consider(sd, r.Arn, sd.CreatedAt, false)
		}
		if r := sd.Rollback; r != nil {
			consider(sd, r.ServiceRevisionArn, r.StartedAt, true)
		}
	}
	return arn, rollback, list
}

// sdMatchWindow bounds the gap between a deployment's creation and that of
// its service deployment (or the start of the rollback it is).
const sdMatchWindow = time.Minute

// describeServiceDeployment reads the service deployment, nil when unknown
// or unreadable. Transient errors are retried: the status is the
// authoritative outcome, and one throttled call should not lose it.
func (w *waiter) describeServiceDeployment(ctx context.Context) *types.ServiceDeployment {
	if w.sdArn == "" {
		return nil
	}
	out, err := retryingUntil(ctx, w.clock, w.until, transientIn(ctx), func() (*ecs.DescribeServiceDeploymentsOutput, error) {
		return w.api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{w.sdArn}})
	})
	if err != nil || len(out.ServiceDeployments) == 0 {
		return nil
	}
	sd := &out.ServiceDeployments[0]
	w.sdStatus = string(sd.Status)
	return sd
}

// stoppedTasks returns the de-duplicated reasons the deployment's tasks
// stopped for, retrying each call's transient errors; nil if unreadable.
func (w *waiter) stoppedTasks(ctx context.Context) []StoppedTasks {
	st, _ := listStoppedTasks(ctx, patientTaskReader{w.api, w.clock, w.until}, w.cluster, w.id())
	return st
}

// listStoppedTasks reads up to 100 stopped tasks a deployment started.
func listStoppedTasks(ctx context.Context, api TaskReader, cluster, deploymentID string) ([]StoppedTasks, error) {
	list, err := api.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster:       aws.String(cluster),
		StartedBy:     aws.String(deploymentID),
		DesiredStatus: types.DesiredStatusStopped,
		MaxResults:    aws.Int32(100),
	})
	if err != nil {
		return nil, fmt.Errorf("listing stopped tasks: %w", err)
	}
	if len(list.TaskArns) == 0 {
		return nil, nil
	}
	out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil, fmt.Errorf("describing stopped tasks: %w", err)
	}
	var st []StoppedTasks
	for _, t := range out.Tasks {
		r := stopReason(t)
		if i := slices.IndexFunc(st, func(s StoppedTasks) bool { return s.Reason == r }); i >= 0 {
			st[i].Count++
		} else {
			st = append(st, StoppedTasks{Reason: r, Count: 1})
		}
	}
	// Tasks the scheduler scaled in (a rollback replacing them) are noise
	// next to the tasks that failed.
	if scaled := slices.DeleteFunc(slices.Clone(st), func(s StoppedTasks) bool {
		return strings.HasPrefix(s.Reason, "Scaling activity initiated by")
	}); len(scaled) > 0 {
		st = scaled
	}
	slices.SortStableFunc(st, func(a, b StoppedTasks) int { return b.Count - a.Count })
	return st, nil
}

// stopReason joins a task's stopped reason with its containers' reasons
// and non-zero exit codes.
func stopReason(t types.Task) string {
	parts := []string{aws.ToString(t.StoppedReason)}
	if parts[0] == "" {
		parts[0] = "stopped (" + string(t.StopCode) + ")"
	}
	for _, c := range t.Containers {
		r := aws.ToString(c.Reason)
		if code := aws.ToInt32(c.ExitCode); code != 0 {
			r = strings.TrimSpace(fmt.Sprintf("%s (exit code %d)", r, code))
		}
		if r != "" {
			parts = append(parts, aws.ToString(c.Name)+": "+r)
		}
	}
	return strings.Join(parts, "; ")
}

// findDeployment returns the deployment with the given id, or nil.
func findDeployment(s *types.Service, id string) *types.Deployment {
	for i := range s.Deployments {
		if aws.ToString(s.Deployments[i].Id) == id {
			return &s.Deployments[i]
		}
	}
	return nil
}

// tokenBucket paces polls: rate tokens a second, at most pollBurst saved.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) refill(now time.Time) {
	b.tokens = min(pollBurst, b.tokens+now.Sub(b.last).Seconds()*pollRate)
	b.last = now
}

// take spends a token for a poll made now.
func (b *tokenBucket) take(now time.Time) {
	b.refill(now)
	b.tokens--
}

// wait returns how long until a token is available.
func (b *tokenBucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / pollRate * float64(time.Second))
}

// jitter spreads d by ±f.
func jitter(d time.Duration, f float64) time.Duration {
	return time.Duration(float64(d) * (1 - f + 2*f*rand.Float64()))
}

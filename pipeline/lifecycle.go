package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Following ECS-native blue/green, linear and canary deployments.
//
// With these strategies the counts of a deployment say little: the new
// (green) revision runs all its tasks long before the deployment ends,
// while test and production traffic shift, lifecycle hooks run and the
// bake time passes with both revisions up. The service deployment is the
// only authority: its status (SUCCESSFUL, ROLLBACK_*, STOPPED) ends the
// wait, and its lifecycle stage, traffic weights and hooks say where it
// is. So the native follower polls DescribeServiceDeployments, not
// DescribeServices.
//
// When it polls: the service deployment's own configuration tells the
// bake times (bakeTimeInMinutes after the production shift; the canary's
// canaryBakeTimeInMinutes and linear's stepBakeTimeInMinutes between
// production traffic steps). While a bake runs it polls every pollBake,
// enough to notice an alarm's rollback, until a pollFast before the bake
// can end at the earliest (it began after the read before the one that
// showed it); then every pollFast until the bake is over, or until
// bakeDense past its latest end. Otherwise it polls pollFast after a
// change and slows down by half each poll to pollSlow, to pollBake while
// a PAUSE hook awaits action, and during CLEAN_UP every tenth of how long
// it has lasted (as draining in a rolling deployment). The token bucket,
// the deadline, the grace after it and the handling of transient errors
// are Wait's (wait.go). When the events are followed, DescribeServices is
// read too, at most every eventsEvery and after each stage change.
const (
	pollBake    = 15 * time.Second
	bakeDense   = 15 * time.Second
	eventsEvery = 10 * time.Second
)

// lifecycleStages are the stages of a service deployment in the order the
// ECS developer guide gives them ("Deployment lifecycle stages" in
// blue-green-deployment-how-it-works); ecspresso v2.8's wait.go keeps the
// same list and compares positions rather than names, since a short stage
// may pass between two reads. Not the SDK's Values(), whose order is not
// promised.
var lifecycleStages = []types.ServiceDeploymentLifecycleStage{
	types.ServiceDeploymentLifecycleStageReconcileService,
	types.ServiceDeploymentLifecycleStagePreScaleUp,
	types.ServiceDeploymentLifecycleStageScaleUp,
	types.ServiceDeploymentLifecycleStagePostScaleUp,
	types.ServiceDeploymentLifecycleStageTestTrafficShift,
	types.ServiceDeploymentLifecycleStagePostTestTrafficShift,
	types.ServiceDeploymentLifecycleStageProductionTrafficShift,
	types.ServiceDeploymentLifecycleStagePostProductionTrafficShift,
	types.ServiceDeploymentLifecycleStageBakeTime,
	types.ServiceDeploymentLifecycleStageCleanUp,
}

// Values of WaitOptions.Until.
const (
	UntilDeployed = "deployed"
	UntilStable   = "stable"
	UntilPaused   = "paused"
	// UntilStagePrefix followed by a lifecycle stage, such as
	// "ecs:BAKE_TIME".
	UntilStagePrefix = "ecs:"
)

// waitTarget is what WaitOptions.Until asks for.
type waitTarget struct {
	until  string // as given
	stage  int    // for ecs:STAGE, its index in lifecycleStages; else -1
	paused bool
}

// lifecycle reports whether the target is a point inside a native
// deployment (a stage or a paused hook), which a rolling one never reports.
func (t waitTarget) lifecycle() bool { return t.paused || t.stage >= 0 }

// parseUntil reads WaitOptions.Until, following the values of ecspresso
// v2.8's deploy --wait-until (wait.go: waitUntil.Validate) and continue's
// paused.
func parseUntil(s string) (waitTarget, error) {
	t := waitTarget{until: s, stage: -1}
	switch {
	case s == "", s == UntilDeployed, s == UntilStable:
		return t, nil
	case s == UntilPaused:
		t.paused = true
		return t, nil
	case strings.HasPrefix(s, UntilStagePrefix):
		if i := slices.Index(lifecycleStages, types.ServiceDeploymentLifecycleStage(strings.TrimPrefix(s, UntilStagePrefix))); i >= 0 {
			t.stage = i
			return t, nil
		}
	}
	var stages []string
	for _, st := range lifecycleStages {
		stages = append(stages, string(st))
	}
	hint := ""
	if strings.HasPrefix(s, "codedeploy:") {
		hint = " (CODE_DEPLOY deployments are not followed)"
	}
	return t, fmt.Errorf("wait until (--wait-until) %q%s: want %s, %s, %s or %sSTAGE with STAGE one of %s",
		s, hint, UntilDeployed, UntilStable, UntilPaused, UntilStagePrefix, strings.Join(stages, ", "))
}

// terminalStatus reports whether a service deployment with status s has
// ended.
func terminalStatus(s types.ServiceDeploymentStatus) bool {
	switch s {
	case types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusRollbackSuccessful,
		types.ServiceDeploymentStatusRollbackFailed, types.ServiceDeploymentStatusStopped:
		return true
	}
	return false
}

// nativeStrategy reports whether ECS runs deployments of strategy s with
// lifecycle stages and traffic shifting.
func nativeStrategy(s types.DeploymentStrategy) bool {
	switch s {
	case types.DeploymentStrategyBlueGreen, types.DeploymentStrategyLinear, types.DeploymentStrategyCanary:
		return true
	}
	return false
}

// checkUntil parses until and refuses a lifecycle target for a strategy
// that reports no lifecycle stages (as ecspresso's
// validateLifecycleStageSupported; an unset strategy is ROLLING, ECS's
// default, where ecspresso waits for the end with a warning).
func checkUntil(until string, strategy types.DeploymentStrategy) (waitTarget, error) {
	t, err := parseUntil(until)
	if err != nil {
		return t, err
	}
	if t.lifecycle() && !nativeStrategy(strategy) {
		if strategy == "" {
			strategy = types.DeploymentStrategyRolling
		}
		return t, fmt.Errorf("wait until (--wait-until) %q: the service deploys with the %s strategy, which has no lifecycle stages or hooks; use %s, or a BLUE_GREEN, LINEAR or CANARY strategy", until, strategy, UntilDeployed)
	}
	return t, nil
}

// serviceStrategy is the deployment strategy of a service, "" if unset.
func serviceStrategy(s *types.Service) types.DeploymentStrategy {
	if s == nil || s.DeploymentConfiguration == nil {
		return ""
	}
	return s.DeploymentConfiguration.Strategy
}

// PassedStage is a lifecycle stage a service deployment was seen in.
type PassedStage struct {
	// Stage is the lifecycle stage, such as BAKE_TIME.
	Stage string
	// At is when a read first showed it, by the wait's clock.
	At time.Time
}

// nativeFollower follows a service deployment of a native strategy.
type nativeFollower struct {
	*waiter
	target   waitTarget
	strategy types.DeploymentStrategy

	stages     []PassedStage
	stage      types.ServiceDeploymentLifecycleStage
	stageSince time.Time // when the stage was first seen
	status     types.ServiceDeploymentStatus
	weights    string
	hooks      map[string]types.DeploymentLifecycleHookStatus
	hookStage  map[string]types.ServiceDeploymentLifecycleStage // where each hook was first seen
	paused     string                                           // a PAUSE hook awaiting action, as last read

	bakeFrom, bakeTo time.Time // the running bake ends between these; zero when none runs
	stepWeight       float64   // the production weight a step bake holds
	lastEvents       time.Time // the last DescribeServices
	missing          int
}

// runNative follows w's service deployment, a native strategy's, until it
// ends or reaches target.
func (w *waiter) runNative(parent context.Context, timeout time.Duration, target waitTarget, strategy types.DeploymentStrategy) (*WaitResult, error) {
	n := &nativeFollower{waiter: w, target: target, strategy: strategy,
		hooks: map[string]types.DeploymentLifecycleHookStatus{}, hookStage: map[string]types.ServiceDeploymentLifecycleStage{}}
	return n.run(parent, timeout)
}

func (n *nativeFollower) run(parent context.Context, timeout time.Duration) (*WaitResult, error) {
	w := n.waiter
	ctx, cancel, deadline, cut := w.begin(parent, timeout)
	defer cancel()
	bucket := tokenBucket{tokens: pollInitial, last: w.start}
	if w.sdArn == "" {
		w.sdArn, w.sdRollback, _ = w.findServiceDeployment(ctx)
	}
	interval := pollFast
	sleep := jitter(pollFast, 0.1)
	prevPoll := w.start
	failures := 0
	for {
		now := w.clock.Now()
		if !now.Before(deadline) {
			return n.timedOut(ctx, timeout)
		}
		sleep = alignedSleep(now, max(sleep, bucket.wait(now)), w.tick)
		if now.Add(sleep).After(deadline) {
			sleep = deadline.Sub(now)
		}
		if err := w.clock.Sleep(ctx, sleep); err != nil {
			if cut() {
				return n.timedOut(ctx, timeout)
			}
			return nil, fmt.Errorf("waiting for deployment %s: %w", w.id(), err)
		}
		now = w.clock.Now()
		bucket.take(now)
		w.polls++
		if w.sdArn == "" {
			// Just started, the history may not list it yet.
			if w.sdArn, w.sdRollback, _ = w.findServiceDeployment(ctx); w.sdArn == "" {
				if n.missing++; n.missing > maxMissingPolls {
					return nil, fmt.Errorf("waiting for deployment %s: no service deployment of it found: a %s deployment is followed by its service deployment only", w.id(), n.strategy)
				}
				sleep = pollSlow
				continue
			}
		}
		sd, err := w.readServiceDeployment(ctx)
		switch {
		case err != nil && cut():
			return n.timedOut(ctx, timeout)
		case err != nil && !transient(ctx, err):
			return nil, w.aborted(nil, err)
		case err != nil:
			failures++
			sleep = errorBackoff(failures)
			continue
		case sd == nil:
			if n.missing++; n.missing > maxMissingPolls {
				return nil, fmt.Errorf("waiting for deployment %s: service deployment %s not found", w.id(), w.sdArn)
			}
			sleep = pollSlow
			continue
		}
		failures = 0
		changed := n.observe(sd, now, prevPoll)
		if w.events != io.Discard && (changed || now.Sub(n.lastEvents) >= eventsEvery) {
			// Reads past the bucket's pace only when events are followed.
			bucket.take(now)
			n.lastEvents = now
			if s, err := describeService(ctx, w.api, w.cluster, w.service); err == nil {
				w.stream(s.Events)
			}
		}
		succeeded, running := w.sdOutcomeStatuses()
		switch {
		case slices.Contains(succeeded, sd.Status):
			return n.succeeded(ctx), nil
		case slices.Contains(running, sd.Status):
			if res := n.reached(sd); res != nil {
				return res, nil
			}
		case !terminalStatus(sd.Status):
			// Rolling back or stopping (or, followed as a rollback, not
			// yet seen to): wait for how it ends.
		default:
			return n.failed(ctx, sd)
		}
		prevPoll = now
		var exact bool
		if interval, exact = n.plan(w.clock.Now(), changed, interval); exact {
			sleep = interval
		} else {
			sleep = jitter(interval, 0.1)
		}
	}
}

// observe records what a read at now shows and writes what changed as
// event lines; prev is the time of the read before. It reports whether
// anything changed.
func (n *nativeFollower) observe(sd *types.ServiceDeployment, now, prev time.Time) bool {
	changed := false
	if sd.Status != n.status {
		changed = true
		n.status = sd.Status
		msg := "service deployment " + string(sd.Status)
		if r := aws.ToString(sd.StatusReason); r != "" {
			msg += ": " + r
		}
		n.note(now, msg)
	}
	if st := sd.LifecycleStage; st != "" && st != n.stage {
		changed = true
		n.stage, n.stageSince = st, now
		n.stages = append(n.stages, PassedStage{Stage: string(st), At: now})
		n.note(now, "lifecycle stage "+string(st))
		n.bakeFrom, n.bakeTo = time.Time{}, time.Time{}
		if st == types.ServiceDeploymentLifecycleStageBakeTime {
			if d := n.bake(sd, bakeFinal); d > 0 {
				n.bakeFrom, n.bakeTo = prev.Add(d), now.Add(d)
			}
		}
	}
	if t := sd.TargetServiceRevision; t != nil && (t.RequestedProductionTrafficWeight != nil || t.RequestedTestTrafficWeight != nil) {
		w := fmt.Sprintf("production %g%%, test %g%%", aws.ToFloat64(t.RequestedProductionTrafficWeight), aws.ToFloat64(t.RequestedTestTrafficWeight))
		if w != n.weights {
			changed = true
			n.weights = w
			n.note(now, "traffic to "+revisionName(aws.ToString(t.Arn))+": "+w)
			// A canary or linear step shifted part of production traffic:
			// its bake starts (ECS guide: canary-deployment, linear).
			p := aws.ToFloat64(t.RequestedProductionTrafficWeight)
			if n.stage == types.ServiceDeploymentLifecycleStageProductionTrafficShift && p > 0 && p < 100 && p != n.stepWeight {
				n.stepWeight = p
				if d := n.bake(sd, bakeStep); d > 0 {
					n.bakeFrom, n.bakeTo = prev.Add(d), now.Add(d)
				}
			}
		}
	}
	n.paused = ""
	for _, h := range sd.LifecycleHookDetails {
		id := aws.ToString(h.HookId)
		if _, ok := n.hookStage[id]; !ok {
			n.hookStage[id] = n.stage
		}
		if h.TargetType == types.DeploymentLifecycleHookTargetTypePause && h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
			n.paused = id
		}
		if n.hooks[id] == h.Status {
			continue
		}
		changed = true
		n.hooks[id] = h.Status
		msg := fmt.Sprintf("lifecycle hook %s (%s) %s", id, hookTarget(h), h.Status)
		if st := n.hookStage[id]; st != "" {
			msg += " at " + string(st)
		}
		if h.Status == types.DeploymentLifecycleHookStatusAwaitingAction {
			if e := aws.ToTime(h.ExpiresAt); !e.IsZero() {
				msg += fmt.Sprintf(" until %s (then %s)", e.UTC().Format(time.RFC3339), h.TimeoutAction)
			}
			msg += fmt.Sprintf(": continue it with `aws ecs continue-service-deployment --service-deployment-arn %s --hook-id %s --action CONTINUE` (or --action ROLLBACK)", n.sdArn, id)
		}
		n.note(now, msg)
	}
	return changed
}

// note writes one event line of the follower's own.
func (n *nativeFollower) note(at time.Time, msg string) {
	fmt.Fprintf(n.events, "%s %s\n", at.UTC().Format(time.RFC3339), msg)
}

// Kinds of bake.
const (
	bakeFinal = iota // BAKE_TIME, after the production shift
	bakeStep         // between canary or linear production steps
)

// bake returns how long a bake of kind lasts by the service deployment's
// configuration, 0 when unknown.
func (n *nativeFollower) bake(sd *types.ServiceDeployment, kind int) time.Duration {
	c := sd.DeploymentConfiguration
	if c == nil {
		return 0
	}
	var m *int32
	switch {
	case kind == bakeFinal:
		m = c.BakeTimeInMinutes
	case n.strategy == types.DeploymentStrategyCanary && c.CanaryConfiguration != nil:
		m = c.CanaryConfiguration.CanaryBakeTimeInMinutes
	case n.strategy == types.DeploymentStrategyLinear && c.LinearConfiguration != nil:
		m = c.LinearConfiguration.StepBakeTimeInMinutes
	}
	return time.Duration(aws.ToInt32(m)) * time.Minute
}

// plan returns, after a read at now, how long until the next one and
// whether that is exact (landing where a bake may end) rather than to be
// jittered; changed says whether the read showed anything new, prev is
// the last interval.
func (n *nativeFollower) plan(now time.Time, changed bool, prev time.Duration) (time.Duration, bool) {
	if !n.bakeFrom.IsZero() {
		switch due := n.bakeFrom.Add(-pollFast); {
		case due.Sub(now) > pollBake:
			return pollBake, false
		case now.Before(due):
			return max(due.Sub(now), pollFast), true
		case now.Before(n.bakeTo.Add(bakeDense)):
			return pollFast, false
		}
	}
	switch {
	case n.stage == types.ServiceDeploymentLifecycleStageCleanUp:
		return min(max(now.Sub(n.stageSince)/10, pollFast), pollSlow), false
	case changed:
		return pollFast, false
	case n.paused != "":
		return min(time.Duration(float64(prev)*pollGrowth), pollBake), false
	}
	return min(time.Duration(float64(prev)*pollGrowth), pollSlow), false
}

// reached returns the result when the deployment, still in progress, has
// reached the wait's target; nil otherwise.
func (n *nativeFollower) reached(sd *types.ServiceDeployment) *WaitResult {
	switch {
	case n.target.paused && n.paused != "":
	case n.target.stage >= 0 && slices.Index(lifecycleStages, sd.LifecycleStage) >= n.target.stage:
	default:
		return nil
	}
	res := n.result(OutcomeSucceeded, aws.ToString(n.dep.TaskDefinition))
	res.Stage = string(sd.LifecycleStage)
	res.HookID = n.paused
	return res
}

// succeeded is the result of a service deployment that succeeded (or, for
// a rollback, rolled back).
func (n *nativeFollower) succeeded(ctx context.Context) *WaitResult {
	r := n.waiter.succeeded(ctx, nil)
	res := n.result(OutcomeSucceeded, r.RunningTaskDefinition)
	if n.sdRollback {
		// The rollback's target is the revision ECS returned to.
		if s, err := describeService(ctx, n.api, n.cluster, n.service); err == nil {
			res.RunningTaskDefinition = aws.ToString(s.TaskDefinition)
		}
	}
	res.Stage = string(n.stage)
	return res
}

// result is a result with what the follower saw.
func (n *nativeFollower) result(o Outcome, running string) *WaitResult {
	return &WaitResult{
		Outcome:                 o,
		DeploymentID:            n.id(),
		ServiceDeploymentArn:    n.sdArn,
		ServiceDeploymentStatus: n.sdStatus,
		TaskDefinition:          aws.ToString(n.dep.TaskDefinition),
		RunningTaskDefinition:   running,
		Polls:                   n.polls,
		Elapsed:                 n.clock.Now().Sub(n.start),
		Strategy:                string(n.strategy),
		Stages:                  slices.Clone(n.stages),
		Stage:                   string(n.stage),
	}
}

// failed builds the error for a service deployment that ended without
// succeeding: rolled back, its rollback failed, or stopped.
func (n *nativeFollower) failed(ctx context.Context, sd *types.ServiceDeployment) (*WaitResult, error) {
	e := &DeploymentError{
		Service:        n.service,
		DeploymentID:   n.id(),
		TaskDefinition: shortTaskDefinition(aws.ToString(n.dep.TaskDefinition)),
		Status:         string(sd.Status),
	}
	switch {
	case sd.Status == types.ServiceDeploymentStatusStopped:
		e.Outcome = OutcomeStopped
	case n.sdRollback:
		e.Outcome = OutcomeFailed // the rollback followed failed
	case sd.Status == types.ServiceDeploymentStatusRollbackFailed:
		e.Outcome = OutcomeRollbackFailed
	case sd.Status == types.ServiceDeploymentStatusRollbackSuccessful:
		e.Outcome = OutcomeRolledBack
	default:
		e.Outcome = OutcomeFailed
	}
	e.Reason = strings.Join(n.reasons(sd), "; ")
	running := ""
	if s, err := retryingUntil(ctx, n.clock, n.until, transientIn(ctx), func() (*types.Service, error) {
		return describeService(ctx, n.api, n.cluster, n.service)
	}); err == nil {
		n.stream(s.Events)
		running = aws.ToString(s.TaskDefinition)
		e.RunningTaskDefinition = shortTaskDefinition(running)
	}
	e.StoppedTasks = n.stoppedTasks(ctx)
	return n.result(e.Outcome, running), e
}

// reasons says why a service deployment failed: its status reason, the
// rollback's reason, the alarms that triggered it and the hooks that
// failed.
func (n *nativeFollower) reasons(sd *types.ServiceDeployment) []string {
	var rs []string
	add := func(r string) {
		if r != "" && !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	add(aws.ToString(sd.StatusReason))
	if rb := sd.Rollback; rb != nil {
		add(aws.ToString(rb.Reason))
	}
	if a := sd.Alarms; a != nil && len(a.TriggeredAlarmNames) > 0 {
		if len(a.TriggeredAlarmNames) == 1 {
			add(fmt.Sprintf("alarm %s triggered the rollback", a.TriggeredAlarmNames[0]))
		} else {
			add(fmt.Sprintf("alarms %s triggered the rollback", strings.Join(a.TriggeredAlarmNames, ", ")))
		}
	}
	for _, h := range sd.LifecycleHookDetails {
		if h.Status != types.DeploymentLifecycleHookStatusFailed && h.Status != types.DeploymentLifecycleHookStatusTimedOut {
			continue
		}
		id := aws.ToString(h.HookId)
		r := fmt.Sprintf("lifecycle hook %s (%s) %s", id, hookTarget(h), h.Status)
		if st := n.hookStage[id]; st != "" {
			r += " at " + string(st)
		}
		add(r)
	}
	if n.sdRollback && sd.Status == types.ServiceDeploymentStatusSuccessful {
		add("the deployment completed instead of rolling back")
	}
	if n.target.lifecycle() && !n.sdRollback {
		if n.target.paused {
			add("it ended before a lifecycle hook paused it")
		} else {
			add("it ended before reaching lifecycle stage " + string(lifecycleStages[n.target.stage]))
		}
	}
	return rs
}

// timedOut builds the error for a deployment that had not ended, or
// reached the target, by the deadline.
func (n *nativeFollower) timedOut(ctx context.Context, timeout time.Duration) (*WaitResult, error) {
	e := n.timeoutError(timeout)
	e.Status = string(n.status)
	if n.stage != "" {
		e.Reason += " at lifecycle stage " + string(n.stage)
	}
	if n.weights != "" {
		e.Reason += " (" + n.weights + " to the new revision)"
	}
	if n.paused != "" {
		e.Reason += fmt.Sprintf("; lifecycle hook %s awaits action (aws ecs continue-service-deployment)", n.paused)
	}
	if n.target.lifecycle() {
		e.Reason += "; waiting until " + n.target.until
	}
	res := n.result(OutcomeTimedOut, "")
	if s, err := retryingUntil(ctx, n.clock, n.until, transientIn(ctx), func() (*types.Service, error) {
		return describeService(ctx, n.api, n.cluster, n.service)
	}); err == nil {
		res.RunningTaskDefinition = aws.ToString(s.TaskDefinition)
		e.RunningTaskDefinition = shortTaskDefinition(res.RunningTaskDefinition)
	}
	e.StoppedTasks = n.stoppedTasks(ctx)
	return res, e
}

// hookTarget names what a lifecycle hook runs: PAUSE, or the Lambda
// function.
func hookTarget(h types.DeploymentLifecycleHookDetail) string {
	if a := aws.ToString(h.TargetArn); a != "" {
		return string(h.TargetType) + " " + a[strings.LastIndexByte(a, ':')+1:]
	}
	return string(h.TargetType)
}

// revisionName is the last part of a service revision ARN.
func revisionName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

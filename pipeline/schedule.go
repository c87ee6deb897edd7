package pipeline

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// When Wait polls, and what.
//
// ECS ends a rolling deployment at a time the service's own make-up sets:
// how long its tasks take to start and pass their health checks, and how
// long its load balancer drains the old ones. The same service's previous
// deployments took about as long, and its service deployment history
// (ListServiceDeployments) keeps when each started and finished. So Wait
// reads the durations of the last historySamples successful deployments
// (not the service's creation, which had nothing to replace) and expects
// the end between the shortest less a pad and the longest plus it
// (endWindow). Before that window it polls every pollSlow, to stream the
// events and notice failures; in it, every pollDense; past it (the history
// was wrong) it goes on as without history.
//
// Without history (a service's first deployment, or no service deployment
// API) Wait watches for the one step every rolling deployment takes before
// it can end, whatever its timeline: below the healthy floor
// (minimumHealthyPercent of the desired count) ECS stops an old task only
// once a new one passed its health checks, so the old deployments running
// fewer tasks than they did and than the floor means new tasks are
// healthy; what remains is the rest of them, and the old ones' draining.
// From then on (or once only draining remains, with no old tasks to
// count) the end is due: Wait polls the service deployment pollFast after
// it saw that (the drain began up to an interval before), then every
// pollDue, which sees half the ends within a second, and if it stays due
// long (a long deregistration delay) every pollDueShare-th of how long,
// up to pollSlow. Before that step, nothing that changes brings the end
// closer, so Wait slows down by half each poll to pollSlow. An end at the
// very moment of the first replacement (the last old task stopped with no
// drain) is seen within that interval.
//
// A poll is a DescribeServices call, except while the end is due (in the
// window, or replacing without history), when it is a
// DescribeServiceDeployments call on the followed service deployment: it
// is the authoritative outcome, so its SUCCESSFUL ends the wait at once
// with no confirming read, and a stale DescribeServices (reads are
// eventually consistent) cannot delay it. A service deployment that
// failed or is rolling back is read again through DescribeServices for
// the reasons.
//
// Failed tasks make the next failure (which may trip the circuit breaker)
// due at a predictable time: tasks of one revision fail at about the same
// age. Wait measures, from below, how long the first failed task was
// RUNNING (it became RUNNING by the poll that showed it running, and
// failed after the poll before the one that showed the failure), then
// watches for a replacement to run (ECS throttles relaunches after
// failures, so this may take a while) and polls every pollFailure from
// just before that time in RUNNING has passed again. Tasks that fail
// before they run are predicted by their whole lifetime instead.
const (
	historySamples = 5
	pollDense      = 1400 * time.Millisecond
	pollDenseMax   = 2 * time.Second
	pollSparseMax  = 8 * time.Second
	// pollDue is the interval while the end is due without history
	// (draining, or replacing the old tasks): with its jitter, under 2 s,
	// so that half the ends are seen within a second. Once the end has
	// been due for pollDueShare times pollDue, the interval is that share
	// of how long, up to pollSlow: a long drain is likely to go on.
	pollDue      = 1700 * time.Millisecond
	pollDueShare = 15
	// pollFailure is the interval while a failure that may trip the
	// circuit breaker is due: with its jitter, under a second.
	pollFailure = 900 * time.Millisecond
)

// endWindow is when the service's previous deployments say the followed
// one ends, measured from its start.
type endWindow struct {
	lo, hi  time.Duration
	typical time.Duration // the median
	sparse  time.Duration // between polls before the window
	spacing time.Duration // between polls in the window
	samples int
}

// readHistory sets w.window from the service's recent successful
// deployments; it leaves it nil when there are none or they cannot be
// read. list is the ListServiceDeployments answer already read, if any.
func (w *waiter) readHistory(ctx context.Context, list *ecs.ListServiceDeploymentsOutput) {
	if w.sdArn == "" || w.sdRollback {
		return // a rollback's duration is not a deployment's
	}
	if list == nil {
		out, err := w.api.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
			Cluster:    aws.String(w.cluster),
			Service:    aws.String(w.service),
			MaxResults: aws.Int32(20), // newest first
		})
		if err != nil {
			return
		}
		list = out
	}
	briefs := list.ServiceDeployments
	if list.NextToken == nil && len(briefs) > 0 {
		// The whole history is listed: its oldest is the service's
		// creation, which started tasks without replacing any.
		briefs = briefs[:len(briefs)-1]
	}
	var ds []time.Duration
	for _, b := range briefs {
		if aws.ToString(b.ServiceDeploymentArn) == w.sdArn || b.Status != types.ServiceDeploymentStatusSuccessful || b.FinishedAt == nil {
			continue
		}
		start := b.StartedAt
		if start == nil {
			start = b.CreatedAt
		}
		if start == nil || b.FinishedAt.Before(*start) {
			continue
		}
		ds = append(ds, b.FinishedAt.Sub(*start))
		if len(ds) == historySamples {
			break
		}
	}
	if len(ds) == 0 {
		return
	}
	w.window = newEndWindow(ds)
}

// newEndWindow is the window the durations ds of previous deployments
// predict: from the shortest to the longest, padded by 5% of the median
// (at least 1 s), or with fewer than three samples by 15% (at least 2 s).
func newEndWindow(ds []time.Duration) *endWindow {
	ds = slices.Sorted(slices.Values(ds))
	med := ds[len(ds)/2]
	pad := max(time.Second, med/20)
	if len(ds) < 3 {
		pad = max(2*time.Second, med*15/100)
	}
	return &endWindow{
		typical: med,
		lo:      ds[0] - pad,
		sparse:  min(max(pollSlow, (ds[0]-pad)/5), pollSparseMax),
		hi:      ds[len(ds)-1] + pad,
		spacing: min(max(pollDense, med/25), pollDenseMax),
		samples: len(ds),
	}
}

// gridOffset is how long after the typical end a poll falls.
const gridOffset = 200 * time.Millisecond

// grid returns the first time of the window's poll grid not before age.
func (win *endWindow) grid(age time.Duration) time.Duration {
	at := win.typical + gridOffset
	if age <= at {
		return at - (at-age)/win.spacing*win.spacing
	}
	return at + (age-at+win.spacing-1)/win.spacing*win.spacing
}

// tasksSeen records what a read at now showed of the followed
// deployment's tasks: how many run and how many failed so far; prev is the
// time of the poll before it.
func (w *waiter) tasksSeen(running, failed int32, now, prev time.Time) {
	if prev.IsZero() || prev.Before(w.depStart) {
		prev = w.depStart
	}
	if running > w.running && w.runningBy.IsZero() {
		// A task became RUNNING after prev, by now: the first since the
		// start or the last failure, which fails first.
		w.runningAfter, w.runningBy = prev, now
	}
	w.running = running
	if failed <= w.failedTasks {
		return
	}
	// A task failed after prev.
	if w.failedTasks == 0 {
		w.lifetime = prev.Sub(w.depStart)
		if !w.runningBy.IsZero() {
			w.runAge = max(prev.Sub(w.runningBy), 0)
		}
	}
	w.failedTasks = failed
	w.lastFailure = prev
	w.runningAfter, w.runningBy = time.Time{}, time.Time{}
}

// nextFailure returns from when the next task failure is due and until
// when it is worth waiting for closely. Tasks of one revision fail at
// about the same age: once a replacement runs, the next failure is due
// the first failed task's time in RUNNING after it; before (ECS throttles
// relaunches after failures, and a task may fail before it runs), one
// first task's lifetime after the last failure, at the earliest.
func (w *waiter) nextFailure() (from, until time.Time) {
	if !w.runningAfter.IsZero() && w.runAge > 0 {
		due := w.runningAfter.Add(w.runAge)
		return due.Add(-max(time.Second, w.runAge/10)), due.Add(max(15*time.Second, w.runAge/2))
	}
	due := w.lastFailure.Add(w.lifetime)
	from = due.Add(-max(time.Second, w.lifetime/10))
	if w.runAge > 0 {
		// A replacement will show RUNNING first: wait for it.
		if at := w.lastFailure.Add(w.runAge); at.After(from) {
			from = at
		}
	}
	return from, due.Add(max(30*time.Second, w.lifetime))
}

// plan decides, after a poll at now, how long to wait for the next one,
// whether it reads the service deployment rather than the service, and
// whether the wait is exact (on the window's grid) rather than jittered.
// prev is the last interval.
func (w *waiter) plan(now time.Time, prev time.Duration) (next time.Duration, sdPoll, exact bool) {
	canSD := w.sdArn != "" && !w.sdPollOff && !w.sdEnded
	if w.failedTasks > 0 {
		from, until := w.nextFailure()
		switch {
		case now.Before(from):
			gap := from.Sub(now)
			return min(pollSlow, max(gap, pollFast)), canSD && gap <= pollSlow, false
		case now.Before(until):
			return pollFailure, canSD, false
		}
	}
	age := now.Sub(w.depStart)
	if win := w.window; win != nil && age <= win.hi {
		if gap := win.lo - age; gap > win.sparse {
			return win.sparse, false, false
		}
		// The window's first poll is at its start; then polls fall on a
		// grid through the typical end (a moment after it), so that a
		// deployment as long as the typical one is noticed at once.
		next := win.lo
		if next-age < win.spacing/2 {
			next = win.grid(age + win.spacing/2)
		}
		return next - age, canSD, true
	}
	if w.sdEnded {
		// It ended unsuccessfully: the service tells how once it shows it.
		return pollFast, false, false
	}
	if w.draining || w.replacing {
		// The end is due: poll every pollDue, and once it has been due
		// long, every pollDueShare-th of how long, up to pollSlow.
		if w.dueSince.IsZero() {
			// It became due since the last poll, up to pollSlow ago:
			// a short drain may be nearly over.
			w.dueSince = now
			return pollFast, canSD, false
		}
		return min(max(now.Sub(w.dueSince)/pollDueShare, pollDue), pollSlow), canSD, false
	}
	return min(time.Duration(float64(prev)*pollGrowth), pollSlow), false, false
}

// draining reports whether, by the service, all the deployment's tasks run
// and the other deployments have none left running or pending: only
// health checks and draining remain before ECS completes it.
func (w *waiter) serviceDraining(s *types.Service) bool {
	d := findDeployment(s, w.id())
	if d == nil {
		return true
	}
	if d.RunningCount != d.DesiredCount || d.PendingCount > 0 {
		return false
	}
	for _, o := range s.Deployments {
		if aws.ToString(o.Id) != w.id() && (o.RunningCount > 0 || o.PendingCount > 0) {
			return false
		}
	}
	return true
}

// serviceSeen records what a DescribeServices read showed of the
// deployments' tasks.
func (w *waiter) serviceSeen(s *types.Service) {
	var others int32
	for _, d := range s.Deployments {
		if aws.ToString(d.Id) != w.id() {
			others += d.RunningCount
		}
	}
	var minHealthy *int32
	if c := s.DeploymentConfiguration; c != nil {
		minHealthy = c.MinimumHealthyPercent
	}
	w.phaseSeen(w.serviceDraining(s), others, healthyFloor(s.DesiredCount, minHealthy))
}

// sdSeen is serviceSeen by a read of the service deployment.
func (w *waiter) sdSeen(sd *types.ServiceDeployment) {
	var others int32
	for _, r := range sd.SourceServiceRevisions {
		others += r.RunningTaskCount
	}
	var desired int32
	if t := sd.TargetServiceRevision; t != nil {
		desired = t.RequestedTaskCount
	}
	var minHealthy *int32
	if c := sd.DeploymentConfiguration; c != nil {
		minHealthy = c.MinimumHealthyPercent
	}
	w.phaseSeen(sdDraining(sd), others, healthyFloor(desired, minHealthy))
}

// healthyFloor is how many healthy tasks ECS keeps running during a
// rolling deployment of desired tasks: minimumHealthyPercent of them
// (100 when unset), rounded up.
func healthyFloor(desired int32, minHealthyPercent *int32) int32 {
	pct := int32(100)
	if minHealthyPercent != nil {
		pct = *minHealthyPercent
	}
	return (desired*pct + 99) / 100
}

// phaseSeen records whether only draining is left and how many tasks the
// other deployments run, and the healthy floor. ECS may stop old tasks
// down to the floor at once; below it, only for tasks of the followed
// deployment that passed their health checks. Once the old tasks run
// fewer than they did and than the floor, ECS is replacing them with
// healthy new tasks, and the end is due.
func (w *waiter) phaseSeen(draining bool, others, floor int32) {
	if others < w.othersRunning && others < floor {
		w.replacing = true
	}
	w.othersRunning = max(w.othersRunning, others)
	if !draining && !w.replacing {
		w.dueSince = time.Time{}
	}
	w.draining = draining
}

// sdDraining is serviceDraining by the service deployment's revisions.
func sdDraining(sd *types.ServiceDeployment) bool {
	t := sd.TargetServiceRevision
	if t == nil || t.RunningTaskCount != t.RequestedTaskCount || t.PendingTaskCount > 0 {
		return false
	}
	for _, r := range sd.SourceServiceRevisions {
		if r.RunningTaskCount > 0 || r.PendingTaskCount > 0 {
			return false
		}
	}
	return true
}

// sdOutcomeStatuses are the statuses of the followed service deployment
// that mean success and that mean it goes on.
func (w *waiter) sdOutcomeStatuses() (succeeded, running []types.ServiceDeploymentStatus) {
	if w.sdRollback {
		return []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusRollbackSuccessful},
			[]types.ServiceDeploymentStatus{types.ServiceDeploymentStatusRollbackRequested, types.ServiceDeploymentStatusRollbackInProgress}
	}
	return []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful},
		[]types.ServiceDeploymentStatus{types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusInProgress}
}

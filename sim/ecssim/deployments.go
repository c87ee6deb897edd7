package ecssim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// deployment is one deployment of a service (the PRIMARY one and any
// ACTIVE ones still draining); its JSON fields are the wire shape.
type deployment struct {
	ID                   string          `json:"id"`
	Status               string          `json:"status"`
	TaskDefinition       string          `json:"taskDefinition"`
	DesiredCount         int32           `json:"desiredCount"`
	PendingCount         int32           `json:"pendingCount"`
	RunningCount         int32           `json:"runningCount"`
	FailedTasks          int32           `json:"failedTasks"`
	CreatedAt            epochTime       `json:"createdAt"`
	UpdatedAt            epochTime       `json:"updatedAt"`
	LaunchType           string          `json:"launchType,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration,omitempty"`
	RolloutState         string          `json:"rolloutState"`
	RolloutStateReason   string          `json:"rolloutStateReason"`

	revisionArn string
	sd          *serviceDeployment // the service deployment targeting this one
	rollbackOf  *serviceDeployment // the service deployment this one rolls back
	tasks       []*task
}

// live returns the tasks of d the scheduler still wants running.
func (d *deployment) live() []*task {
	var out []*task
	for _, t := range d.tasks {
		if t.DesiredStatus == "RUNNING" {
			out = append(out, t)
		}
	}
	return out
}

func (d *deployment) healthy() int {
	n := 0
	for _, t := range d.live() {
		if t.healthy {
			n++
		}
	}
	return n
}

// drained reports whether every task of d has stopped.
func (d *deployment) drained() bool {
	return !slices.ContainsFunc(d.tasks, func(t *task) bool { return t.LastStatus != "STOPPED" })
}

// deploy starts a new PRIMARY deployment of svc to the task definition
// taskDef, with a service deployment tracking it.
func (s *Simulator) deploy(svc *service, taskDef string) *deployment {
	sources := slices.Clone(svc.Deployments)
	d := s.startDeployment(svc, taskDef)
	cb := svc.DeploymentConfiguration.DeploymentCircuitBreaker
	sd := &serviceDeployment{
		// As in ECS, the ARN ends in a random id unrelated to the deployment.
		ServiceDeploymentArn:    s.arn("service-deployment/" + svc.cluster.ClusterName + "/" + svc.ServiceName + "/" + newServiceDeploymentID()),
		ServiceArn:              svc.ServiceArn,
		ClusterArn:              svc.ClusterArn,
		CreatedAt:               epochTime(s.now),
		StartedAt:               epochTime(s.now),
		UpdatedAt:               epochTime(s.now),
		Status:                  "IN_PROGRESS",
		DeploymentConfiguration: svc.DeploymentConfiguration,
		DeploymentCircuitBreaker: &sdCircuitBreaker{
			Status:    "DISABLED",
			Threshold: failureThreshold(svc.DesiredCount),
		},
		target:  d,
		sources: sources,
	}
	if cb != nil && cb.Enable {
		sd.DeploymentCircuitBreaker.Status = "MONITORING"
	}
	if a := svc.DeploymentConfiguration.Alarms; a != nil && len(a.AlarmNames) > 0 {
		sd.Alarms = &sdAlarms{AlarmNames: slices.Clone(a.AlarmNames), Status: "DISABLED"}
		if a.Enable {
			sd.Alarms.Status = "MONITORING"
		}
	}
	if nativeStrategy(svc.DeploymentConfiguration.Strategy) {
		s.startNative(svc, sd)
	}
	d.sd = sd
	svc.serviceDeployments = append(svc.serviceDeployments, sd)
	return d
}

// startDeployment makes a PRIMARY deployment of taskDef and demotes the
// previous one to ACTIVE.
func (s *Simulator) startDeployment(svc *service, taskDef string) *deployment {
	d := &deployment{
		ID:                   "ecs-svc/" + newDigits(19),
		Status:               "PRIMARY",
		TaskDefinition:       taskDef,
		DesiredCount:         svc.DesiredCount,
		CreatedAt:            epochTime(s.now),
		UpdatedAt:            epochTime(s.now),
		LaunchType:           svc.LaunchType,
		PlatformVersion:      svc.PlatformVersion,
		NetworkConfiguration: svc.NetworkConfiguration,
		RolloutState:         "IN_PROGRESS",
		revisionArn:          s.arn("service-revision/" + svc.cluster.ClusterName + "/" + svc.ServiceName + "/" + newDigits(19)),
	}
	svc.revisions = append(svc.revisions, d)
	d.RolloutStateReason = "ECS deployment " + d.ID + " in progress."
	for _, old := range svc.Deployments {
		old.Status = "ACTIVE"
		old.UpdatedAt = epochTime(s.now)
		for _, sd := range []*serviceDeployment{old.sd, old.rollbackOf} {
			if sd != nil && (sd.Status == "PENDING" || sd.Status == "IN_PROGRESS" || sd.Status == "ROLLBACK_IN_PROGRESS") {
				s.finishServiceDeployment(sd, "STOPPED", "A newer service deployment replaced this one.")
			}
		}
	}
	svc.Deployments = append([]*deployment{d}, svc.Deployments...)
	svc.TaskDefinition = taskDef
	return d
}

// failureThreshold is the circuit breaker's: half the desired count,
// within [3, 200].
func failureThreshold(desired int32) int32 {
	return min(max((desired+1)/2, 3), 200)
}

// settle brings the timeline up to now after a change, so that what is due
// at once (zero delays) has happened before the response.
func (s *Simulator) settle() { s.advance(s.now) }

// maxStepsPerCall bounds the events one call processes, so a behaviour
// that fails instantly forever cannot hang the simulator.
const maxStepsPerCall = 100000

// advance processes every task transition and native deployment step due
// up to now, in time order, letting the service scheduler react after
// each.
func (s *Simulator) advance(now time.Time) {
	if now.Before(s.now) {
		now = s.now // a clock never runs backwards here
	}
	for range maxStepsPerCall {
		t := s.nextDue(now)
		svc, at := s.nextNativeDue(now)
		switch {
		case t != nil && (svc == nil || !at.Before(t.next)):
			s.now = t.next
			s.stepTask(t)
			s.reconcile(t.svc)
		case svc != nil: // a native deployment's stage, hook or bake time is due
			s.now = at
			s.reconcile(svc)
		default:
			s.now = now
			return
		}
	}
	s.now = now
}

// nextDue returns the task whose next transition comes first, not after
// now.
func (s *Simulator) nextDue(now time.Time) *task {
	var due *task
	for _, name := range s.clusterNames {
		for _, t := range s.clusters[name].taskOrder {
			if t.next.IsZero() || t.next.After(now) {
				continue
			}
			if due == nil || t.next.Before(due.next) {
				due = t
			}
		}
	}
	return due
}

// reconcile is the service scheduler: it starts and stops tasks so that
// the PRIMARY deployment reaches the desired count within the deployment
// configuration's bounds, and completes, fails or rolls back deployments.
func (s *Simulator) reconcile(svc *service) {
	if svc.Status == "INACTIVE" {
		return
	}
	if svc.Status == "DRAINING" {
		for _, d := range svc.Deployments {
			for _, t := range d.live() {
				s.stopTask(t, "ServiceSchedulerInitiated", "Service deleted")
			}
		}
		s.refreshCounts(svc)
		if !slices.ContainsFunc(svc.Deployments, func(d *deployment) bool { return !d.drained() }) {
			svc.Status = "INACTIVE"
		}
		return
	}
	if sd := svc.Deployments[0].sd; sd != nil && sd.Status == "IN_PROGRESS" && sd.native == nil {
		s.alarmTripped(svc, sd) // a rolling deployment rolls back as well
	}
	p := svc.Deployments[0]
	if sd := nativeInProgress(svc); sd != nil {
		s.reconcileNative(svc, p, sd)
		return
	}
	p.DesiredCount = svc.DesiredCount
	desired := int(svc.DesiredCount)
	cfg := svc.DeploymentConfiguration
	maxTotal := desired * int(*cfg.MaximumPercent) / 100
	minHealthy := (desired*int(*cfg.MinimumHealthyPercent) + 99) / 100

	total := func() (live, healthy int) {
		for _, d := range svc.Deployments {
			live += len(d.live())
			healthy += d.healthy()
		}
		return live, healthy
	}
	launch := func() {
		if p.RolloutState == "FAILED" {
			return // a failed deployment stops launching tasks
		}
		live, _ := total()
		if n := min(desired-len(p.live()), maxTotal-live); n > 0 {
			s.launch(svc, p, n)
		}
	}
	launch()

	var stopped []*task
	if extra := len(p.live()) - desired; extra > 0 {
		for _, t := range unhealthyFirst(p.live())[:extra] {
			s.stopTask(t, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+p.ID+")")
			stopped = append(stopped, t)
		}
	}
	for _, d := range svc.Deployments[1:] {
		for _, t := range unhealthyFirst(d.live()) {
			live, healthy := total()
			needRoom := p.RolloutState != "FAILED" && len(p.live()) < desired && live >= maxTotal
			if t.healthy && (healthy-1 < minHealthy || (live <= desired && !needRoom)) {
				continue
			}
			s.stopTask(t, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+p.ID+")")
			stopped = append(stopped, t)
		}
	}
	if len(stopped) > 0 {
		s.event(svc, "(service %s) has stopped %d running tasks: %s.", svc.ServiceName, len(stopped), taskList(stopped))
	}
	launch()
	s.refreshCounts(svc)

	if p.RolloutState == "IN_PROGRESS" && p.healthy() == desired && len(p.live()) == desired &&
		!slices.ContainsFunc(svc.Deployments[1:], func(d *deployment) bool { return !d.drained() }) {
		s.complete(svc, p)
	}
}

// complete marks the PRIMARY deployment p COMPLETED and drops the others.
func (s *Simulator) complete(svc *service, p *deployment) {
	p.RolloutState = "COMPLETED"
	p.RolloutStateReason = "ECS deployment " + p.ID + " completed."
	p.UpdatedAt = epochTime(s.now)
	for _, d := range svc.Deployments[1:] {
		d.Status = "INACTIVE"
	}
	svc.Deployments = svc.Deployments[:1]
	svc.lastCompleted = p
	if sd := p.rollbackOf; sd != nil {
		s.finishServiceDeployment(sd, "ROLLBACK_SUCCESSFUL", sd.StatusReason)
	}
	if sd := p.sd; sd != nil && !final(sd.Status) { // a restored blue revision's is
		s.finishServiceDeployment(sd, "SUCCESSFUL", "")
	}
	s.event(svc, "(service %s) (deployment %s) deployment completed.", svc.ServiceName, p.ID)
	s.event(svc, "(service %s) has reached a steady state.", svc.ServiceName)
}

// taskFailed counts a failed task against its deployment and trips the
// circuit breaker when the threshold is reached.
func (s *Simulator) taskFailed(t *task) {
	d, svc := t.dep, t.svc
	d.FailedTasks++
	d.UpdatedAt = epochTime(s.now)
	sd := d.sd
	if d.rollbackOf != nil {
		sd = d.rollbackOf
	}
	if d != svc.Deployments[0] || d.RolloutState != "IN_PROGRESS" {
		return
	}
	if sd != nil && sd.DeploymentCircuitBreaker.Status == "MONITORING" {
		sd.DeploymentCircuitBreaker.FailureCount++
	}
	cb := svc.DeploymentConfiguration.DeploymentCircuitBreaker
	if cb == nil || !cb.Enable || d.FailedTasks < failureThreshold(d.DesiredCount) {
		return
	}
	d.RolloutState = "FAILED"
	d.RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
	s.event(svc, "(service %s) deployment %s deployment failed: tasks failed to start.", svc.ServiceName, d.ID)
	if sd == nil {
		return
	}
	sd.DeploymentCircuitBreaker.Status = "TRIGGERED"
	switch {
	case d.rollbackOf != nil:
		s.finishServiceDeployment(sd, "ROLLBACK_FAILED", "The rollback deployment failed: the circuit breaker threshold was exceeded.")
	case cb.Rollback:
		s.rollback(svc, sd, "Service deployment rolled back because the circuit breaker threshold was exceeded.")
	default:
		s.finishServiceDeployment(sd, "STOPPED", "Service deployment stopped because the circuit breaker threshold was exceeded.")
	}
}

// rollback starts a PRIMARY deployment back to the last completed task
// definition on behalf of the service deployment sd.
func (s *Simulator) rollback(svc *service, sd *serviceDeployment, reason string) {
	if sd.native != nil && s.rollbackToBlue(svc, sd, reason) {
		return
	}
	target := svc.lastCompleted
	if target == nil {
		s.finishServiceDeployment(sd, "ROLLBACK_FAILED", "There is no completed deployment to roll back to.")
		return
	}
	sd.Status = "ROLLBACK_REQUESTED" // so that the new deployment does not supersede it
	rb := s.startDeployment(svc, target.TaskDefinition)
	rb.rollbackOf = sd
	svc.revisions = svc.revisions[:len(svc.revisions)-1]
	rb.revisionArn = target.revisionArn // ECS deploys the completed revision again
	sd.Status = "ROLLBACK_IN_PROGRESS"
	sd.StatusReason = reason
	sd.UpdatedAt = epochTime(s.now)
	sd.Rollback = &rollbackInfo{Reason: reason, StartedAt: epochTime(s.now), ServiceRevisionArn: target.revisionArn}
	s.event(svc, "(service %s) rolling back to deployment %s.", svc.ServiceName, target.ID)
}

// refreshCounts recomputes the running and pending counts of svc and its
// deployments.
func (s *Simulator) refreshCounts(svc *service) {
	svc.RunningCount, svc.PendingCount = 0, 0
	for i, d := range svc.Deployments {
		running, pending := countTasks(d.tasks)
		if running != d.RunningCount || pending != d.PendingCount {
			d.UpdatedAt = epochTime(s.now)
		}
		d.RunningCount, d.PendingCount = running, pending
		if i > 0 {
			d.DesiredCount = int32(len(d.live()))
		}
		svc.RunningCount += running
		svc.PendingCount += pending
	}
}

// countTasks counts the RUNNING and the starting tasks the scheduler
// still wants.
func countTasks(tasks []*task) (running, pending int32) {
	for _, t := range tasks {
		if t.DesiredStatus != "RUNNING" {
			continue
		}
		switch t.LastStatus {
		case "RUNNING":
			running++
		case "PROVISIONING", "PENDING":
			pending++
		}
	}
	return running, pending
}

func unhealthyFirst(tasks []*task) []*task {
	slices.SortStableFunc(tasks, func(a, b *task) int {
		switch {
		case a.healthy == b.healthy:
			return 0
		case b.healthy:
			return -1
		default:
			return 1
		}
	})
	return tasks
}

func taskList(tasks []*task) string {
	parts := make([]string, len(tasks))
	for i, t := range tasks {
		parts[i] = "(task " + t.id + ")"
	}
	return strings.Join(parts, " ")
}

// targetGroup returns the service's first target group ARN, or one made up
// from its name.
func (s *Simulator) targetGroup(svc *service) string {
	for _, lb := range svc.LoadBalancers {
		var v struct {
			TargetGroupArn string `json:"targetGroupArn"`
		}
		if json.Unmarshal(lb, &v) == nil && v.TargetGroupArn != "" {
			return v.TargetGroupArn
		}
	}
	h := fnv.New64a()
	h.Write([]byte(svc.ServiceName))
	name := svc.ServiceName
	if len(name) > 32 {
		name = name[:32]
	}
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%016x", s.region, s.account, name, h.Sum64())
}

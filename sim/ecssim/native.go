package ecssim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ECS-native deployment strategies: BLUE_GREEN, LINEAR and CANARY.
//
// The model follows the Amazon ECS Developer Guide pages "Amazon ECS
// blue/green service deployments workflow" (blue-green-deployment-how-it-works),
// "Lifecycle hooks for Amazon ECS service deployments"
// (deployment-lifecycle-hooks), "Pause hooks for Amazon ECS service
// deployments" (pause-lifecycle-hooks), "Continuing service deployments"
// (continue-service-deployment), and the API reference of
// DeploymentConfiguration, LinearConfiguration, CanaryConfiguration,
// DeploymentLifecycleHook and ContinueServiceDeployment:
//
//   - A service deployment passes through the lifecycle stages in order:
//     RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP (the green revision is
//     started to the full desired count next to the blue one),
//     POST_SCALE_UP, TEST_TRAFFIC_SHIFT (green takes 100% of the test
//     traffic), POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT (all at
//     once for BLUE_GREEN; in steps of stepPercent with stepBakeTimeInMinutes
//     between them for LINEAR; canaryPercent, canaryBakeTimeInMinutes, then
//     the rest for CANARY), POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME
//     (bakeTimeInMinutes, blue still running) and CLEAN_UP (blue stopped).
//   - Hooks run at the end of their stage; PRE_PRODUCTION_TRAFFIC_SHIFT
//     hooks run before every production traffic step and
//     PRODUCTION_TRAFFIC_SHIFT hooks after every one. Every hook of a stage
//     must succeed before the deployment goes on.
//   - Alarms in ALARM, a failed hook, a hook's ROLLBACK, the circuit breaker
//     or StopServiceDeployment roll back: production and test traffic go
//     back to blue, which is still running, and green's tasks stop.
//
// Simulated durations: every stage with nothing to wait for takes
// nativeStageDuration; SCALE_UP lasts until green is healthy, CLEAN_UP
// until blue has drained, BAKE_TIME and the traffic steps' bake times as
// configured.

// nativeStageDuration is how long a lifecycle stage with nothing to do
// takes in simulated time.
const nativeStageDuration = time.Second

// Service deployment lifecycle stages (ServiceDeploymentLifecycleStage),
// and the hook stage that has no lifecycle stage of its own.
const (
	stageReconcileService           = "RECONCILE_SERVICE"
	stagePreScaleUp                 = "PRE_SCALE_UP"
	stageScaleUp                    = "SCALE_UP"
	stagePostScaleUp                = "POST_SCALE_UP"
	stageTestTrafficShift           = "TEST_TRAFFIC_SHIFT"
	stagePostTestTrafficShift       = "POST_TEST_TRAFFIC_SHIFT"
	stageProductionTrafficShift     = "PRODUCTION_TRAFFIC_SHIFT"
	stagePostProductionTrafficShift = "POST_PRODUCTION_TRAFFIC_SHIFT"
	stageBakeTime                   = "BAKE_TIME"
	stageCleanUp                    = "CLEAN_UP"
	hookPreProductionTrafficShift   = "PRE_PRODUCTION_TRAFFIC_SHIFT"
)

// Defaults of the API reference.
const (
	defaultStepPercent       = 10.0
	defaultStepBakeMinutes   = 6
	defaultCanaryPercent     = 5.0
	defaultCanaryBakeMinutes = 10
	defaultHookTimeout       = 24 * time.Hour
	defaultHookAction        = "ROLLBACK"
)

// nativeStrategy reports whether strategy is one of ECS's native
// blue/green family.
func nativeStrategy(strategy string) bool {
	return strategy == "BLUE_GREEN" || strategy == "LINEAR" || strategy == "CANARY"
}

// nativeStep is one step of a native deployment's plan.
type nativeStep struct {
	stage    string        // the service deployment's lifecycleStage during the step
	preHooks string        // the hook stage run before the step's work
	hooks    string        // the hook stage run after it
	dur      time.Duration // how long the step's work takes at least
	prod     float64       // green's production traffic weight from the step on; < 0 leaves it
	test     float64       // the same for test traffic
	scaleUp  bool          // start green and wait until it is healthy
	cleanUp  bool          // stop blue and wait until it has drained
}

// Phases of a step.
const (
	phaseEnter = iota // about to show the stage and start the pre-hooks
	phasePre          // waiting for the pre-hooks
	phaseWork         // waiting for the step's time and condition
	phasePost         // waiting for the hooks
)

// nativeState is the progress of a native service deployment.
type nativeState struct {
	plan  []nativeStep
	i     int // the current step
	phase int
	until time.Time // end of the current step's timed work; zero once passed
	// prod and test are green's requested traffic weights, in percent.
	prod, test float64
	hooks      []*hookRun  // the hooks of the current hook stage
	blue       *deployment // the revision serving production traffic before
	scaled     bool        // green has been scaled up
	cleaning   bool        // blue is being stopped
}

// hookRun is one execution of a lifecycle hook; its JSON fields are a
// DeploymentLifecycleHookDetail.
type hookRun struct {
	HookID        string    `json:"hookId"`
	TargetArn     string    `json:"targetArn,omitempty"`
	TargetType    string    `json:"targetType"`
	Status        string    `json:"status"`
	ExpiresAt     epochTime `json:"expiresAt,omitzero"`
	TimeoutAction string    `json:"timeoutAction,omitempty"`

	doneAt time.Time  // an AWS_LAMBDA hook's scripted result arrives
	result LambdaHook // and is this
}

func (h *hookRun) pending() bool { return h.Status == "AWAITING_ACTION" || h.Status == "IN_PROGRESS" }

// LambdaHook scripts what an AWS_LAMBDA lifecycle hook's function answers,
// since the simulator cannot invoke Lambda: after Delay it returns
// SUCCEEDED, or FAILED when Fail is set (Reason then says why; the
// deployment rolls back). Unscripted hooks succeed after
// DefaultLambdaHookDelay.
type LambdaHook struct {
	Delay  time.Duration
	Fail   bool
	Reason string
}

// DefaultLambdaHookDelay is how long an unscripted AWS_LAMBDA hook takes
// to succeed, in simulated time.
const DefaultLambdaHookDelay = time.Second

type lambdaHookJSON struct {
	Delay  duration `json:"delay,omitempty"`
	Fail   bool     `json:"fail,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// MarshalJSON encodes h with its delay as a duration string.
func (h LambdaHook) MarshalJSON() ([]byte, error) {
	return json.Marshal(lambdaHookJSON{duration(h.Delay), h.Fail, h.Reason})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (h *LambdaHook) UnmarshalJSON(b []byte) error {
	var v lambdaHookJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*h = LambdaHook{Delay: time.Duration(v.Delay), Fail: v.Fail, Reason: v.Reason}
	return nil
}

// SetLambdaHook scripts the AWS_LAMBDA lifecycle hooks whose
// hookTargetArn is arn. It applies to hooks started afterwards.
func (s *Simulator) SetLambdaHook(arn string, h LambdaHook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lambdaHooks[arn] = h
}

// Alarm states, as CloudWatch names them.
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// SetAlarmState sets the state of the CloudWatch alarm name (AlarmOK,
// AlarmAlarm or AlarmInsufficientData; alarms never set are OK). An alarm
// in ALARM that a deployment in progress watches with enable and rollback
// rolls it back at once.
func (s *Simulator) SetAlarmState(name, state string) error {
	switch state {
	case AlarmOK, AlarmAlarm, AlarmInsufficientData:
	default:
		return fmt.Errorf("unknown alarm state %q (want OK, ALARM or INSUFFICIENT_DATA)", state)
	}
	if name == "" {
		return fmt.Errorf("an alarm name is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.clock.Now())
	s.alarms[name] = state
	for _, cname := range s.clusterNames {
		c := s.clusters[cname]
		for _, sname := range c.serviceNames {
			svc := c.services[sname]
			if svc.Status == "ACTIVE" && len(svc.Deployments) > 0 {
				if sd := svc.Deployments[0].sd; sd != nil && sd.Status == "IN_PROGRESS" {
					s.reconcile(svc)
				}
			}
		}
	}
	s.settle()
	return nil
}

// AlarmStates returns the alarms set with SetAlarmState.
func (s *Simulator) AlarmStates() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.alarms))
	for k, v := range s.alarms {
		out[k] = v
	}
	return out
}

// nativePlan lays out the steps of a native deployment with cfg.
func nativePlan(cfg deploymentConfiguration) []nativeStep {
	plain := func(stage string) nativeStep {
		return nativeStep{stage: stage, hooks: stage, dur: nativeStageDuration, prod: -1, test: -1}
	}
	plan := []nativeStep{
		plain(stageReconcileService),
		plain(stagePreScaleUp),
		{stage: stageScaleUp, scaleUp: true, prod: -1, test: -1},
		plain(stagePostScaleUp),
	}
	tts := plain(stageTestTrafficShift)
	tts.test = 100
	plan = append(plan, tts, plain(stagePostTestTrafficShift))
	weights, bakes := trafficSteps(cfg)
	for i, w := range weights {
		st := plain(stageProductionTrafficShift)
		st.preHooks, st.prod = hookPreProductionTrafficShift, w
		if i < len(weights)-1 {
			st.dur = bakes
		}
		plan = append(plan, st)
	}
	bake := time.Duration(0)
	if cfg.BakeTimeInMinutes != nil {
		bake = time.Duration(*cfg.BakeTimeInMinutes) * time.Minute
	}
	return append(plan,
		plain(stagePostProductionTrafficShift),
		nativeStep{stage: stageBakeTime, dur: bake, prod: -1, test: -1},
		nativeStep{stage: stageCleanUp, cleanUp: true, prod: -1, test: -1},
	)
}

// trafficSteps returns green's production weight after each production
// traffic step, and the bake time between steps.
func trafficSteps(cfg deploymentConfiguration) ([]float64, time.Duration) {
	switch cfg.Strategy {
	case "LINEAR":
		step, bake := defaultStepPercent, int32(defaultStepBakeMinutes)
		if l := cfg.LinearConfiguration; l != nil {
			if l.StepPercent != nil {
				step = *l.StepPercent
			}
			if l.StepBakeTimeInMinutes != nil {
				bake = *l.StepBakeTimeInMinutes
			}
		}
		tenths := int(math.Round(step * 10))
		var weights []float64
		for t := tenths; t < 1000; t += tenths {
			weights = append(weights, float64(t)/10)
		}
		return append(weights, 100), time.Duration(bake) * time.Minute
	case "CANARY":
		pct, bake := defaultCanaryPercent, int32(defaultCanaryBakeMinutes)
		if c := cfg.CanaryConfiguration; c != nil {
			if c.CanaryPercent != nil {
				pct = *c.CanaryPercent
			}
			if c.CanaryBakeTimeInMinutes != nil {
				bake = *c.CanaryBakeTimeInMinutes
			}
		}
		if pct >= 100 {
			return []float64{100}, 0
		}
		return []float64{pct, 100}, time.Duration(bake) * time.Minute
	default: // BLUE_GREEN
		return []float64{100}, 0
	}
}

// startNative makes sd a native deployment from the source revisions.
func (s *Simulator) startNative(svc *service, sd *serviceDeployment) {
	n := &nativeState{plan: nativePlan(sd.DeploymentConfiguration)}
	switch {
	case svc.lastCompleted != nil && slices.Contains(sd.sources, svc.lastCompleted):
		n.blue = svc.lastCompleted
	case len(sd.sources) > 0:
		n.blue = sd.sources[0]
	}
	sd.native = n
	sd.LifecycleStage = n.plan[0].stage
}

// nativeInProgress returns the native service deployment svc is going
// through, or nil.
func nativeInProgress(svc *service) *serviceDeployment {
	if len(svc.Deployments) == 0 {
		return nil
	}
	if sd := svc.Deployments[0].sd; sd != nil && sd.native != nil && sd.Status == "IN_PROGRESS" {
		return sd
	}
	return nil
}

// wake returns when n next needs to act on its own, zero for never.
func (n *nativeState) wake() time.Time {
	var at time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if n.phase == phaseWork {
		earlier(n.until)
	}
	for _, h := range n.hooks {
		if h.pending() {
			earlier(h.doneAt)
			earlier(time.Time(h.ExpiresAt))
		}
	}
	return at
}

// nextNativeDue returns the service whose native deployment next needs to
// act, not after now, and when.
func (s *Simulator) nextNativeDue(now time.Time) (*service, time.Time) {
	var due *service
	var at time.Time
	for _, cname := range s.clusterNames {
		c := s.clusters[cname]
		for _, sname := range c.serviceNames {
			svc := c.services[sname]
			sd := nativeInProgress(svc)
			if sd == nil || svc.Status != "ACTIVE" {
				continue
			}
			w := sd.native.wake()
			if w.IsZero() || w.After(now) {
				continue
			}
			if due == nil || w.Before(at) {
				due, at = svc, w
			}
		}
	}
	return due, at
}

// reconcileNative is the scheduler for a service in a native deployment:
// green p is kept at the desired count once scaled up, blue keeps running
// until clean-up, and the lifecycle moves on.
func (s *Simulator) reconcileNative(svc *service, p *deployment, sd *serviceDeployment) {
	p.DesiredCount = svc.DesiredCount
	n := sd.native
	var stopped []*task
	if n.scaled {
		s.fillGreen(svc, p)
	}
	if extra := len(p.live()) - int(svc.DesiredCount); extra > 0 {
		for _, t := range unhealthyFirst(p.live())[:extra] {
			s.stopTask(t, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+p.ID+")")
			stopped = append(stopped, t)
		}
	}
	if len(stopped) > 0 {
		s.event(svc, "(service %s) has stopped %d running tasks: %s.", svc.ServiceName, len(stopped), taskList(stopped))
	}
	s.refreshCounts(svc)
	for range 1000 {
		if sd.Status != "IN_PROGRESS" || s.alarmTripped(svc, sd) || !s.stepNative(svc, p, sd) {
			break
		}
	}
	s.refreshCounts(svc)
	if sd.Status != "IN_PROGRESS" {
		// Completed, stopped or rolled back: the rolling scheduler takes
		// over (a restored blue revision, or a green one that failed).
		s.reconcile(svc)
	}
}

// fillGreen starts the tasks green p lacks.
func (s *Simulator) fillGreen(svc *service, p *deployment) {
	if p.RolloutState == "FAILED" {
		return
	}
	if k := int(svc.DesiredCount) - len(p.live()); k > 0 {
		s.launch(svc, p, k)
	}
}

// stopOthers stops every live task of svc's deployments but p.
func (s *Simulator) stopOthers(svc *service, p *deployment) {
	var stopped []*task
	for _, d := range svc.Deployments {
		if d == p {
			continue
		}
		for _, t := range d.live() {
			s.stopTask(t, "ServiceSchedulerInitiated", "Scaling activity initiated by (deployment "+p.ID+")")
			stopped = append(stopped, t)
		}
	}
	if len(stopped) > 0 {
		s.event(svc, "(service %s) has stopped %d running tasks: %s.", svc.ServiceName, len(stopped), taskList(stopped))
	}
}

// stepNative makes the next move of sd's plan that is due, and reports
// whether it made one.
func (s *Simulator) stepNative(svc *service, p *deployment, sd *serviceDeployment) bool {
	n := sd.native
	st := n.plan[n.i]
	switch n.phase {
	case phaseEnter:
		if sd.LifecycleStage != st.stage {
			sd.LifecycleStage = st.stage
			sd.UpdatedAt = epochTime(s.now)
		}
		n.hooks = nil
		s.startHooks(sd, st.preHooks)
		n.phase = phasePre
		return true
	case phasePre:
		if !s.hooksDone(svc, sd) {
			return false
		}
		if st.prod >= 0 {
			n.prod = st.prod
		}
		if st.test >= 0 {
			n.test = st.test
		}
		if st.scaleUp {
			n.scaled = true
			s.fillGreen(svc, p)
		}
		if st.cleanUp {
			n.cleaning = true
			s.stopOthers(svc, p)
		}
		sd.UpdatedAt = epochTime(s.now)
		n.until = s.now.Add(st.dur)
		n.phase = phaseWork
		return true
	case phaseWork:
		if !n.until.IsZero() {
			if s.now.Before(n.until) {
				return false
			}
			n.until = time.Time{}
		}
		desired := int(svc.DesiredCount)
		if st.scaleUp && (p.healthy() < desired || len(p.live()) != desired) {
			return false
		}
		if st.cleanUp {
			s.stopOthers(svc, p) // tasks blue started since
			if slices.ContainsFunc(svc.Deployments[1:], func(d *deployment) bool { return !d.drained() }) {
				return false
			}
			s.complete(svc, p)
			return false
		}
		n.hooks = nil
		s.startHooks(sd, st.hooks)
		n.phase = phasePost
		return true
	default: // phasePost
		if !s.hooksDone(svc, sd) {
			return false
		}
		n.i++
		n.phase = phaseEnter
		return true
	}
}

// startHooks starts the hooks of sd's configuration at a hook stage.
func (s *Simulator) startHooks(sd *serviceDeployment, stage string) {
	if stage == "" {
		return
	}
	n := sd.native
	for _, h := range sd.DeploymentConfiguration.LifecycleHooks {
		if !slices.Contains(h.LifecycleStages, stage) {
			continue
		}
		run := &hookRun{TargetType: h.targetType()}
		timeout, action := defaultHookTimeout, defaultHookAction
		if to := h.TimeoutConfiguration; to != nil {
			if to.TimeoutInMinutes != nil {
				timeout = time.Duration(*to.TimeoutInMinutes) * time.Minute
			}
			if to.Action != "" {
				action = to.Action
			}
		}
		if run.TargetType == "PAUSE" {
			// The developer guide shows pause hook ids as "ecs-pause-"
			// and 43 URL-safe base64 characters.
			run.HookID = "ecs-pause-" + randomToken(32)
			run.Status = "AWAITING_ACTION"
			run.ExpiresAt, run.TimeoutAction = epochTime(s.now.Add(timeout)), action
		} else {
			run.HookID = "ecs-lambda-" + randomToken(32)
			run.TargetArn = h.HookTargetArn
			run.Status = "IN_PROGRESS"
			run.result = LambdaHook{Delay: DefaultLambdaHookDelay}
			if r, ok := s.lambdaHooks[h.HookTargetArn]; ok {
				run.result = r
			}
			run.doneAt = s.now.Add(run.result.Delay)
			if h.TimeoutConfiguration != nil {
				run.ExpiresAt, run.TimeoutAction = epochTime(s.now.Add(timeout)), action
			}
		}
		n.hooks = append(n.hooks, run)
	}
	if len(n.hooks) > 0 {
		sd.UpdatedAt = epochTime(s.now)
	}
}

// randomToken returns n random bytes in URL-safe base64 without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hooksDone resolves the current hooks whose time has come and reports
// whether all of them let the deployment go on; a failed hook, or one
// timed out with ROLLBACK, rolls the deployment back.
func (s *Simulator) hooksDone(svc *service, sd *serviceDeployment) bool {
	done := true
	for _, h := range sd.native.hooks {
		if h.pending() {
			switch expires := time.Time(h.ExpiresAt); {
			case h.TargetType == "AWS_LAMBDA" && !s.now.Before(h.doneAt) && (expires.IsZero() || h.doneAt.Before(expires)):
				h.Status = "SUCCEEDED"
				if h.result.Fail {
					h.Status = "FAILED"
				}
				sd.UpdatedAt = epochTime(s.now)
			case !expires.IsZero() && !s.now.Before(expires):
				h.Status = "TIMED_OUT"
				sd.UpdatedAt = epochTime(s.now)
			}
		}
		switch {
		case h.Status == "FAILED":
			reason := "Service deployment rolled back because the lifecycle hook " + h.TargetArn + " failed"
			if h.result.Reason != "" {
				reason += ": " + h.result.Reason
			}
			s.rollbackNative(svc, sd, reason+".")
			return false
		case h.Status == "TIMED_OUT" && h.TimeoutAction == "ROLLBACK":
			s.rollbackNative(svc, sd, "Service deployment rolled back because the lifecycle hook "+hookName(h)+" timed out.")
			return false
		case h.pending():
			done = false
		}
	}
	return done
}

// hookName names a hook in a status reason: its target, or its id.
func hookName(h *hookRun) string {
	if h.TargetArn != "" {
		return h.TargetArn
	}
	return h.HookID
}

// rollbackNative rolls sd back on behalf of a hook or an alarm: green
// stops taking new tasks, then the rollback proper.
func (s *Simulator) rollbackNative(svc *service, sd *serviceDeployment, reason string) {
	g := sd.target
	if g.RolloutState == "IN_PROGRESS" {
		g.RolloutState = "FAILED"
		g.RolloutStateReason = "ECS deployment " + g.ID + " rolled back."
		g.UpdatedAt = epochTime(s.now)
	}
	s.rollback(svc, sd, reason)
}

// rollbackToBlue rolls a native deployment back: traffic returns to the
// blue revision, which is still running, it becomes PRIMARY again and
// green's tasks stop. It reports false when blue is gone and the
// deployment must roll back as a rolling one does.
func (s *Simulator) rollbackToBlue(svc *service, sd *serviceDeployment, reason string) bool {
	n := sd.native
	n.prod, n.test = 0, 0
	blue, green := n.blue, sd.target
	if blue == nil || !slices.Contains(svc.Deployments, blue) || green != svc.Deployments[0] {
		return false
	}
	for _, h := range n.hooks {
		if h.Status == "AWAITING_ACTION" || h.Status == "IN_PROGRESS" {
			h.Status = "FAILED" // abandoned
		}
	}
	green.Status = "ACTIVE"
	green.UpdatedAt = epochTime(s.now)
	if green.RolloutState == "IN_PROGRESS" {
		green.RolloutState = "FAILED"
		green.RolloutStateReason = "ECS deployment " + green.ID + " rolled back."
	}
	blue.Status, blue.RolloutState = "PRIMARY", "IN_PROGRESS"
	blue.RolloutStateReason = "ECS deployment " + blue.ID + " in progress."
	blue.UpdatedAt = epochTime(s.now)
	blue.rollbackOf = sd
	i := slices.Index(svc.Deployments, blue)
	svc.Deployments = append([]*deployment{blue}, slices.Delete(svc.Deployments, i, i+1)...)
	svc.TaskDefinition = blue.TaskDefinition
	sd.Status, sd.StatusReason = "ROLLBACK_IN_PROGRESS", reason
	sd.UpdatedAt = epochTime(s.now)
	sd.Rollback = &rollbackInfo{Reason: reason, StartedAt: epochTime(s.now), ServiceRevisionArn: blue.revisionArn}
	s.event(svc, "(service %s) rolling back to deployment %s.", svc.ServiceName, blue.ID)
	s.stopOthers(svc, blue)
	return true
}

// alarmTripped checks the alarms sd watches and, when one is in ALARM,
// marks them TRIGGERED and rolls sd back (or stops it when the alarms do
// not roll back). It reports whether it did.
func (s *Simulator) alarmTripped(svc *service, sd *serviceDeployment) bool {
	a := sd.DeploymentConfiguration.Alarms
	if a == nil || !a.Enable || sd.Alarms == nil || sd.Alarms.Status != "MONITORING" {
		return false
	}
	var hit []string
	for _, name := range a.AlarmNames {
		if s.alarms[name] == AlarmAlarm {
			hit = append(hit, name)
		}
	}
	if len(hit) == 0 {
		return false
	}
	sd.Alarms.Status, sd.Alarms.TriggeredAlarmNames = "TRIGGERED", hit
	names := strings.Join(hit, ", ")
	g := sd.target
	if g.RolloutState == "IN_PROGRESS" {
		g.RolloutState = "FAILED"
		g.RolloutStateReason = "ECS deployment " + g.ID + " failed: alarm(s) " + names + " in ALARM."
		g.UpdatedAt = epochTime(s.now)
	}
	s.event(svc, "(service %s) deployment %s deployment failed: alarm detected.", svc.ServiceName, g.ID)
	if a.Rollback {
		s.rollback(svc, sd, "Service deployment rolled back because the alarm(s) "+names+" went into ALARM.")
	} else {
		s.finishServiceDeployment(sd, "STOPPED", "Service deployment stopped because the alarm(s) "+names+" went into ALARM.")
	}
	return true
}

type continueServiceDeploymentInput struct {
	HookID               string `json:"hookId"`
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	Action               string `json:"action"`
}

// continueServiceDeployment resolves a PAUSE hook awaiting action:
// CONTINUE (the default) lets the deployment go on, ROLLBACK rolls it back.
func (s *Simulator) continueServiceDeployment(in *continueServiceDeploymentInput) (any, *apiError) {
	if in.HookID == "" || in.ServiceDeploymentArn == "" {
		return nil, errInvalidParameter("hookId and serviceDeploymentArn are required.")
	}
	action := in.Action
	if action == "" {
		action = "CONTINUE"
	}
	if !slices.Contains(hookActions, action) {
		return nil, errInvalidParameter("Invalid action %s; valid actions are CONTINUE and ROLLBACK.", in.Action)
	}
	svc, sd := s.findServiceDeployment(in.ServiceDeploymentArn)
	if sd == nil {
		return nil, newAPIError(http.StatusBadRequest, "ServiceDeploymentNotFoundException", "The service deployment does not exist.")
	}
	if sd.Status != "IN_PROGRESS" || sd.native == nil {
		return nil, newAPIError(http.StatusBadRequest, "ConflictException", "The service deployment is %s, not IN_PROGRESS at a lifecycle hook.", sd.Status)
	}
	var hook *hookRun
	for _, h := range sd.native.hooks {
		if h.HookID == in.HookID {
			hook = h
		}
	}
	if hook == nil || hook.TargetType != "PAUSE" || hook.Status != "AWAITING_ACTION" {
		return nil, errInvalidParameter("The lifecycle hook %s is not a pause hook awaiting action in this service deployment.", in.HookID)
	}
	sd.UpdatedAt = epochTime(s.now)
	if action == "ROLLBACK" {
		hook.Status = "FAILED"
		s.rollbackNative(svc, sd, "Service deployment rolled back because the lifecycle hook "+hook.HookID+" was answered ROLLBACK.")
	} else {
		hook.Status = "SUCCEEDED"
	}
	s.reconcile(svc)
	s.settle()
	return map[string]any{"serviceDeploymentArn": sd.ServiceDeploymentArn}, nil
}

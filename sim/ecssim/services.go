package ecssim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"
)

// service is an ECS service; its JSON fields are the wire shape.
type service struct {
	ServiceArn                    string                  `json:"serviceArn"`
	ServiceName                   string                  `json:"serviceName"`
	ClusterArn                    string                  `json:"clusterArn"`
	LoadBalancers                 []json.RawMessage       `json:"loadBalancers"`
	ServiceRegistries             []json.RawMessage       `json:"serviceRegistries"`
	Status                        string                  `json:"status"`
	DesiredCount                  int32                   `json:"desiredCount"`
	RunningCount                  int32                   `json:"runningCount"`
	PendingCount                  int32                   `json:"pendingCount"`
	LaunchType                    string                  `json:"launchType,omitempty"`
	CapacityProviderStrategy      []json.RawMessage       `json:"capacityProviderStrategy,omitempty"`
	PlatformVersion               string                  `json:"platformVersion,omitempty"`
	TaskDefinition                string                  `json:"taskDefinition"`
	DeploymentConfiguration       deploymentConfiguration `json:"deploymentConfiguration"`
	Deployments                   []*deployment           `json:"deployments"`
	RoleArn                       string                  `json:"roleArn,omitempty"`
	Events                        []serviceEvent          `json:"events"`
	CreatedAt                     epochTime               `json:"createdAt"`
	PlacementConstraints          []json.RawMessage       `json:"placementConstraints"`
	PlacementStrategy             []json.RawMessage       `json:"placementStrategy"`
	NetworkConfiguration          json.RawMessage         `json:"networkConfiguration,omitempty"`
	HealthCheckGracePeriodSeconds *int32                  `json:"healthCheckGracePeriodSeconds,omitempty"`
	SchedulingStrategy            string                  `json:"schedulingStrategy"`
	DeploymentController          deploymentController    `json:"deploymentController"`
	CreatedBy                     string                  `json:"createdBy"`
	EnableECSManagedTags          bool                    `json:"enableECSManagedTags"`
	PropagateTags                 string                  `json:"propagateTags"`
	EnableExecuteCommand          bool                    `json:"enableExecuteCommand"`
	Tags                          []tag                   `json:"tags,omitempty"`
	CurrentServiceDeployment      string                  `json:"currentServiceDeployment,omitempty"`

	cluster            *cluster
	lastCompleted      *deployment          // the newest deployment that completed
	serviceDeployments []*serviceDeployment // oldest first
	revisions          []*deployment        // one per service revision, oldest first
}

type deploymentController struct {
	Type string `json:"type"`
}

type deploymentConfiguration struct {
	DeploymentCircuitBreaker *circuitBreaker      `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int32               `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int32               `json:"minimumHealthyPercent,omitempty"`
	Alarms                   *deploymentAlarms    `json:"alarms,omitempty"`
	Strategy                 string               `json:"strategy,omitempty"`
	BakeTimeInMinutes        *int32               `json:"bakeTimeInMinutes,omitempty"`
	LinearConfiguration      *linearConfiguration `json:"linearConfiguration,omitempty"`
	CanaryConfiguration      *canaryConfiguration `json:"canaryConfiguration,omitempty"`
	LifecycleHooks           []lifecycleHook      `json:"lifecycleHooks,omitempty"`
}

type circuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// deploymentAlarms are the CloudWatch alarms a deployment watches
// (SetAlarmState scripts their state).
type deploymentAlarms struct {
	AlarmNames []string `json:"alarmNames"`
	Enable     bool     `json:"enable"`
	Rollback   bool     `json:"rollback"`
}

type linearConfiguration struct {
	StepPercent           *float64 `json:"stepPercent,omitempty"`
	StepBakeTimeInMinutes *int32   `json:"stepBakeTimeInMinutes,omitempty"`
}

type canaryConfiguration struct {
	CanaryPercent           *float64 `json:"canaryPercent,omitempty"`
	CanaryBakeTimeInMinutes *int32   `json:"canaryBakeTimeInMinutes,omitempty"`
}

// lifecycleHook is a deployment lifecycle hook (native.go runs them).
type lifecycleHook struct {
	HookTargetArn        string          `json:"hookTargetArn,omitempty"`
	RoleArn              string          `json:"roleArn,omitempty"`
	LifecycleStages      []string        `json:"lifecycleStages"`
	TargetType           string          `json:"targetType,omitempty"`
	TimeoutConfiguration *hookTimeout    `json:"timeoutConfiguration,omitempty"`
	HookDetails          json.RawMessage `json:"hookDetails,omitempty"`
}

type hookTimeout struct {
	Action           string `json:"action,omitempty"`
	TimeoutInMinutes *int32 `json:"timeoutInMinutes,omitempty"`
}

// merge overrides c with the fields set in u.
func (c *deploymentConfiguration) merge(u *deploymentConfiguration) {
	if u == nil {
		return
	}
	if u.DeploymentCircuitBreaker != nil {
		cb := *u.DeploymentCircuitBreaker
		c.DeploymentCircuitBreaker = &cb
	}
	if u.MaximumPercent != nil {
		c.MaximumPercent = u.MaximumPercent
	}
	if u.MinimumHealthyPercent != nil {
		c.MinimumHealthyPercent = u.MinimumHealthyPercent
	}
	if u.Alarms != nil {
		a := *u.Alarms
		c.Alarms = &a
	}
	if u.Strategy != "" {
		c.Strategy = u.Strategy
	}
	if u.BakeTimeInMinutes != nil {
		c.BakeTimeInMinutes = u.BakeTimeInMinutes
	}
	if u.LinearConfiguration != nil {
		l := *u.LinearConfiguration
		c.LinearConfiguration = &l
	}
	if u.CanaryConfiguration != nil {
		cc := *u.CanaryConfiguration
		c.CanaryConfiguration = &cc
	}
	if u.LifecycleHooks != nil {
		c.LifecycleHooks = slices.Clone(u.LifecycleHooks)
	}
}

// Hook lifecycle stages, and the ones a PAUSE hook may not use (the
// DeploymentLifecycleHook reference in the ECS API).
var (
	hookStages      = []string{stageReconcileService, stagePreScaleUp, stagePostScaleUp, stageTestTrafficShift, stagePostTestTrafficShift, hookPreProductionTrafficShift, stageProductionTrafficShift, stagePostProductionTrafficShift}
	noPauseStages   = []string{stageTestTrafficShift, stageProductionTrafficShift}
	maxBakeMinutes  = int32(24 * 60)
	strategies      = []string{"ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"}
	hookActions     = []string{"CONTINUE", "ROLLBACK"}
	hookTargetTypes = []string{"AWS_LAMBDA", "PAUSE"}
)

// validate checks a merged deployment configuration as ECS does where
// the API reference says: the 0-1440 minute bake times, the LINEAR step
// of 3-100% and the CANARY share of 0.1-100% (multiples of 0.1), the
// lifecycle hooks, and, when a deployment with it starts (deploying), what
// the strategy requires: bakeTimeInMinutes for BLUE_GREEN,
// linearConfiguration for LINEAR, canaryConfiguration for CANARY. (The
// simulator accepts an UpdateService that only records a strategy
// without them, which pipeline tests rely on.)
func (c *deploymentConfiguration) validate(deploying bool) *apiError {
	if c.Strategy != "" && !slices.Contains(strategies, c.Strategy) {
		return errInvalidParameter("Invalid deployment strategy %s; valid strategies are %s.", c.Strategy, strings.Join(strategies, ", "))
	}
	minutes := func(name string, v *int32) *apiError {
		if v != nil && (*v < 0 || *v > maxBakeMinutes) {
			return errInvalidParameter("%s must be between 0 and 1440 minutes.", name)
		}
		return nil
	}
	percent := func(name string, v *float64, lo float64) *apiError {
		if v == nil {
			return nil
		}
		if *v < lo || *v > 100 || math.Abs(*v*10-math.Round(*v*10)) > 1e-6 {
			return errInvalidParameter("%s must be a multiple of 0.1 between %g and 100.", name, lo)
		}
		return nil
	}
	if err := minutes("bakeTimeInMinutes", c.BakeTimeInMinutes); err != nil {
		return err
	}
	switch c.Strategy {
	case "BLUE_GREEN":
		if deploying && c.BakeTimeInMinutes == nil {
			return errInvalidParameter("bakeTimeInMinutes is required for the BLUE_GREEN deployment strategy.")
		}
	case "LINEAR":
		l := c.LinearConfiguration
		if l == nil && deploying {
			return errInvalidParameter("linearConfiguration is required for the LINEAR deployment strategy.")
		}
		if l == nil {
			break
		}
		if err := percent("linearConfiguration.stepPercent", l.StepPercent, 3); err != nil {
			return err
		}
		if err := minutes("linearConfiguration.stepBakeTimeInMinutes", l.StepBakeTimeInMinutes); err != nil {
			return err
		}
	case "CANARY":
		cc := c.CanaryConfiguration
		if cc == nil && deploying {
			return errInvalidParameter("canaryConfiguration is required for the CANARY deployment strategy.")
		}
		if cc == nil {
			break
		}
		if err := percent("canaryConfiguration.canaryPercent", cc.CanaryPercent, 0.1); err != nil {
			return err
		}
		if err := minutes("canaryConfiguration.canaryBakeTimeInMinutes", cc.CanaryBakeTimeInMinutes); err != nil {
			return err
		}
	}
	for _, h := range c.LifecycleHooks {
		tt := h.targetType()
		if !slices.Contains(hookTargetTypes, tt) {
			return errInvalidParameter("Invalid lifecycle hook targetType %s.", tt)
		}
		if tt == "AWS_LAMBDA" && h.HookTargetArn == "" {
			return errInvalidParameter("hookTargetArn is required for an AWS_LAMBDA lifecycle hook.")
		}
		if len(h.LifecycleStages) == 0 {
			return errInvalidParameter("lifecycleStages is required for a lifecycle hook.")
		}
		for _, st := range h.LifecycleStages {
			if !slices.Contains(hookStages, st) {
				return errInvalidParameter("Invalid lifecycle stage %s.", st)
			}
			if tt == "PAUSE" && slices.Contains(noPauseStages, st) {
				return errInvalidParameter("PAUSE lifecycle hooks cannot be configured at the %s stage.", st)
			}
		}
		if to := h.TimeoutConfiguration; to != nil {
			if to.Action != "" && !slices.Contains(hookActions, to.Action) {
				return errInvalidParameter("Invalid lifecycle hook timeout action %s.", to.Action)
			}
			if m := to.TimeoutInMinutes; m != nil && (*m < 1 || *m > maxBakeMinutes) {
				return errInvalidParameter("timeoutInMinutes must be between 1 and 1440.")
			}
		}
	}
	return nil
}

// targetType is the hook's type; ECS defaults it to AWS_LAMBDA.
func (h lifecycleHook) targetType() string {
	if h.TargetType == "" {
		return "AWS_LAMBDA"
	}
	return h.TargetType
}

type serviceEvent struct {
	ID        string    `json:"id"`
	CreatedAt epochTime `json:"createdAt"`
	Message   string    `json:"message"`
}

// maxEvents is how many events ECS keeps on a service.
const maxEvents = 100

// event adds an event to svc, newest first.
func (s *Simulator) event(svc *service, format string, args ...any) {
	e := serviceEvent{ID: newUUID(), CreatedAt: epochTime(s.now), Message: fmt.Sprintf(format, args...)}
	svc.Events = append([]serviceEvent{e}, svc.Events...)
	if len(svc.Events) > maxEvents {
		svc.Events = svc.Events[:maxEvents]
	}
}

// daemonTasks is how many tasks a DAEMON service runs: one per container
// instance, and the simulated cluster has one.
const daemonTasks = 1

var serviceNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,254}$`)

type createServiceInput struct {
	Cluster                       string                   `json:"cluster"`
	ServiceName                   string                   `json:"serviceName"`
	TaskDefinition                string                   `json:"taskDefinition"`
	DesiredCount                  *int32                   `json:"desiredCount"`
	LaunchType                    string                   `json:"launchType"`
	CapacityProviderStrategy      []json.RawMessage        `json:"capacityProviderStrategy"`
	PlatformVersion               string                   `json:"platformVersion"`
	LoadBalancers                 []json.RawMessage        `json:"loadBalancers"`
	ServiceRegistries             []json.RawMessage        `json:"serviceRegistries"`
	NetworkConfiguration          json.RawMessage          `json:"networkConfiguration"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds"`
	DeploymentConfiguration       *deploymentConfiguration `json:"deploymentConfiguration"`
	DeploymentController          *deploymentController    `json:"deploymentController"`
	SchedulingStrategy            string                   `json:"schedulingStrategy"`
	PlacementConstraints          []json.RawMessage        `json:"placementConstraints"`
	PlacementStrategy             []json.RawMessage        `json:"placementStrategy"`
	Role                          string                   `json:"role"`
	Tags                          []tag                    `json:"tags"`
	PropagateTags                 string                   `json:"propagateTags"`
	EnableECSManagedTags          bool                     `json:"enableECSManagedTags"`
	EnableExecuteCommand          bool                     `json:"enableExecuteCommand"`
}

func (s *Simulator) createService(in *createServiceInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if !serviceNameRE.MatchString(in.ServiceName) {
		return nil, errInvalidParameter("Service name must start with a letter and contain up to 255 letters, numbers, hyphens and underscores.")
	}
	if old, ok := c.services[in.ServiceName]; ok && old.Status != "INACTIVE" {
		return nil, errInvalidParameter("Creation of service was not idempotent.")
	}
	if in.DeploymentController != nil && in.DeploymentController.Type != "" && in.DeploymentController.Type != "ECS" {
		return nil, errInvalidParameter("ecssim simulates only the ECS (rolling update) deployment controller, not %s.", in.DeploymentController.Type)
	}
	daemon := in.SchedulingStrategy == "DAEMON"
	if daemon && in.DesiredCount != nil {
		return nil, errInvalidParameter("ecssim: a DAEMON service takes no desired count (it runs one task per container instance).")
	}
	if in.SchedulingStrategy != "" && !daemon && in.SchedulingStrategy != "REPLICA" {
		return nil, errInvalidParameter("Invalid scheduling strategy %s.", in.SchedulingStrategy)
	}
	td, err := s.activeTaskDef(in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	svc := &service{
		ServiceArn:                    s.arn("service/" + c.ClusterName + "/" + in.ServiceName),
		ServiceName:                   in.ServiceName,
		ClusterArn:                    c.ClusterArn,
		LoadBalancers:                 nonNil(in.LoadBalancers),
		ServiceRegistries:             nonNil(in.ServiceRegistries),
		Status:                        "ACTIVE",
		LaunchType:                    in.LaunchType,
		CapacityProviderStrategy:      in.CapacityProviderStrategy,
		PlatformVersion:               in.PlatformVersion,
		RoleArn:                       in.Role,
		Events:                        []serviceEvent{},
		CreatedAt:                     epochTime(s.now),
		PlacementConstraints:          nonNil(in.PlacementConstraints),
		PlacementStrategy:             nonNil(in.PlacementStrategy),
		NetworkConfiguration:          in.NetworkConfiguration,
		HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
		SchedulingStrategy:            "REPLICA",
		DeploymentController:          deploymentController{Type: "ECS"},
		CreatedBy:                     "arn:aws:iam::" + s.account + ":root",
		EnableECSManagedTags:          in.EnableECSManagedTags,
		PropagateTags:                 in.PropagateTags,
		EnableExecuteCommand:          in.EnableExecuteCommand,
		cluster:                       c,
	}
	if svc.LaunchType == "" && len(in.CapacityProviderStrategy) == 0 {
		svc.LaunchType = "EC2"
	}
	if svc.PropagateTags == "" {
		svc.PropagateTags = "NONE"
	}
	if in.DesiredCount != nil {
		svc.DesiredCount = *in.DesiredCount
	}
	maxPct, minPct := int32(200), int32(100)
	if daemon {
		// One task per container instance; the simulated cluster has one.
		// ECS's deployment defaults for DAEMON are 100/0.
		svc.SchedulingStrategy = "DAEMON"
		svc.DesiredCount = daemonTasks
		maxPct, minPct = 100, 0
	}
	svc.DeploymentConfiguration = deploymentConfiguration{
		DeploymentCircuitBreaker: &circuitBreaker{},
		MaximumPercent:           &maxPct,
		MinimumHealthyPercent:    &minPct,
	}
	svc.DeploymentConfiguration.merge(in.DeploymentConfiguration)
	if err := svc.DeploymentConfiguration.validate(true); err != nil {
		return nil, err
	}
	if _, ok := c.services[in.ServiceName]; !ok {
		c.serviceNames = append(c.serviceNames, in.ServiceName)
	}
	c.services[in.ServiceName] = svc
	if len(in.Tags) > 0 {
		s.tags[svc.ServiceArn] = in.Tags
	}
	s.deploy(svc, td.arn)
	s.reconcile(svc)
	s.settle()
	return map[string]any{"service": s.serviceView(svc, false)}, nil
}

// activeTaskDef resolves a task definition a service may run.
func (s *Simulator) activeTaskDef(ref string) (*taskDef, *apiError) {
	if ref == "" {
		return nil, errInvalidParameter("Task definition is required.")
	}
	td := s.taskDef(ref)
	if td == nil {
		return nil, errClient("Unable to describe task definition.")
	}
	if td.status() != "ACTIVE" {
		return nil, errClient("TaskDefinition is inactive")
	}
	return td, nil
}

// serviceView returns a copy of svc for a response.
func (s *Simulator) serviceView(svc *service, withTags bool) service {
	v := *svc
	if n := len(svc.serviceDeployments); n > 0 {
		v.CurrentServiceDeployment = svc.serviceDeployments[n-1].ServiceDeploymentArn
	}
	if withTags {
		v.Tags = s.tags[svc.ServiceArn]
	}
	return v
}

// service resolves a service of a cluster by name or ARN.
func (s *Simulator) service(clusterRef, nameOrArn string) (*service, *apiError) {
	c, err := s.cluster(clusterRef)
	if err != nil {
		return nil, err
	}
	svc, ok := c.services[lastSegment(nameOrArn)]
	if !ok {
		return nil, errServiceNotFound()
	}
	return svc, nil
}

type describeServicesInput struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}

func (s *Simulator) describeServices(in *describeServicesInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, errInvalidParameter("Services must contain between 1 and 10 items.")
	}
	found, failures := []service{}, []failure{}
	for _, ref := range in.Services {
		svc, ok := c.services[lastSegment(ref)]
		if !ok {
			failures = append(failures, failure{Arn: s.arn("service/" + c.ClusterName + "/" + lastSegment(ref)), Reason: "MISSING"})
			continue
		}
		found = append(found, s.serviceView(svc, includes(in.Include, "TAGS")))
	}
	out := map[string]any{"services": found, "failures": failures}
	if s.lag > 0 {
		return s.lagging(in.Cluster+"|"+strings.Join(in.Services, ",")+"|"+strings.Join(in.Include, ","), out), nil
	}
	return out, nil
}

// view is a DescribeServices answer as it was at a time.
type view struct {
	at   time.Time
	key  string
	body json.RawMessage
}

// lagging records the answer out to the request key and returns the
// newest answer to it at least a random lag (up to s.lag) old, or out.
func (s *Simulator) lagging(key string, out any) any {
	body, err := json.Marshal(out)
	if err != nil {
		return out
	}
	keep := s.views[:0]
	for _, v := range s.views {
		if !v.at.Before(s.now.Add(-2 * s.lag)) {
			keep = append(keep, v)
		}
	}
	s.views = append(keep, view{at: s.now, key: key, body: body})
	cutoff := s.now.Add(-rand.N(s.lag + 1))
	for _, v := range slices.Backward(s.views) {
		if v.key == key && !v.at.After(cutoff) {
			return v.body
		}
	}
	return json.RawMessage(body)
}

type listServicesInput struct {
	Cluster            string `json:"cluster"`
	LaunchType         string `json:"launchType"`
	SchedulingStrategy string `json:"schedulingStrategy"`
	listInput
}

func (s *Simulator) listServices(in *listServicesInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	arns := []string{}
	for _, name := range c.serviceNames {
		svc := c.services[name]
		if svc.Status == "INACTIVE" || (in.LaunchType != "" && svc.LaunchType != in.LaunchType) ||
			(in.SchedulingStrategy != "" && svc.SchedulingStrategy != in.SchedulingStrategy) {
			continue
		}
		arns = append(arns, svc.ServiceArn)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"serviceArns": page}, next), nil
}

type updateServiceInput struct {
	Cluster                       string                   `json:"cluster"`
	Service                       string                   `json:"service"`
	TaskDefinition                string                   `json:"taskDefinition"`
	DesiredCount                  *int32                   `json:"desiredCount"`
	ForceNewDeployment            bool                     `json:"forceNewDeployment"`
	DeploymentConfiguration       *deploymentConfiguration `json:"deploymentConfiguration"`
	NetworkConfiguration          json.RawMessage          `json:"networkConfiguration"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds"`
	LoadBalancers                 []json.RawMessage        `json:"loadBalancers"`
	PlatformVersion               string                   `json:"platformVersion"`
	EnableExecuteCommand          *bool                    `json:"enableExecuteCommand"`
	PropagateTags                 string                   `json:"propagateTags"`
}

func (s *Simulator) updateService(in *updateServiceInput) (any, *apiError) {
	svc, err := s.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if svc.Status != "ACTIVE" {
		return nil, errServiceNotActive()
	}
	target := svc.TaskDefinition
	if in.TaskDefinition != "" {
		td, err := s.activeTaskDef(in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		target = td.arn
	}
	cfg := svc.DeploymentConfiguration
	cfg.merge(in.DeploymentConfiguration)
	changed := target != svc.TaskDefinition || in.ForceNewDeployment ||
		in.NetworkConfiguration != nil && string(in.NetworkConfiguration) != string(svc.NetworkConfiguration)
	if err := cfg.validate(changed); err != nil {
		return nil, err
	}
	if in.DesiredCount != nil && svc.SchedulingStrategy == "DAEMON" {
		return nil, errInvalidParameter("ecssim: a DAEMON service takes no desired count (it runs one task per container instance).")
	}
	if in.DesiredCount != nil {
		if *in.DesiredCount < 0 {
			return nil, errInvalidParameter("Desired count must be at least 0.")
		}
		svc.DesiredCount = *in.DesiredCount
	}
	svc.DeploymentConfiguration = cfg
	if in.NetworkConfiguration != nil {
		svc.NetworkConfiguration = in.NetworkConfiguration
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		svc.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
	}
	if in.LoadBalancers != nil {
		svc.LoadBalancers = in.LoadBalancers
	}
	if in.PlatformVersion != "" {
		svc.PlatformVersion = in.PlatformVersion
	}
	if in.EnableExecuteCommand != nil {
		svc.EnableExecuteCommand = *in.EnableExecuteCommand
	}
	if in.PropagateTags != "" {
		svc.PropagateTags = in.PropagateTags
	}
	if changed {
		s.deploy(svc, target)
	}
	s.reconcile(svc)
	s.settle()
	return map[string]any{"service": s.serviceView(svc, false)}, nil
}

type deleteServiceInput struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   bool   `json:"force"`
}

func (s *Simulator) deleteService(in *deleteServiceInput) (any, *apiError) {
	svc, err := s.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if svc.Status != "ACTIVE" {
		return nil, errServiceNotActive()
	}
	if svc.DesiredCount > 0 && !in.Force {
		return nil, errInvalidParameter("The service cannot be stopped while it is scaled above 0.")
	}
	svc.DesiredCount = 0
	svc.Status = "DRAINING"
	s.reconcile(svc)
	s.settle()
	return map[string]any{"service": s.serviceView(svc, false)}, nil
}

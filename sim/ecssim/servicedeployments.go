package ecssim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// serviceDeployment is the history record of one deployment of a service;
// its JSON fields are the wire shape.
type serviceDeployment struct {
	ServiceDeploymentArn     string                  `json:"serviceDeploymentArn"`
	ServiceArn               string                  `json:"serviceArn"`
	ClusterArn               string                  `json:"clusterArn"`
	CreatedAt                epochTime               `json:"createdAt"`
	StartedAt                epochTime               `json:"startedAt,omitzero"`
	FinishedAt               epochTime               `json:"finishedAt,omitzero"`
	StoppedAt                epochTime               `json:"stoppedAt,omitzero"`
	UpdatedAt                epochTime               `json:"updatedAt"`
	SourceServiceRevisions   []revisionSummary       `json:"sourceServiceRevisions"`
	TargetServiceRevision    *revisionSummary        `json:"targetServiceRevision"`
	Status                   string                  `json:"status"`
	StatusReason             string                  `json:"statusReason,omitempty"`
	DeploymentConfiguration  deploymentConfiguration `json:"deploymentConfiguration"`
	Rollback                 *rollbackInfo           `json:"rollback,omitempty"`
	DeploymentCircuitBreaker *sdCircuitBreaker       `json:"deploymentCircuitBreaker,omitempty"`
	Alarms                   *sdAlarms               `json:"alarms,omitempty"`
	LifecycleStage           string                  `json:"lifecycleStage,omitempty"`
	LifecycleHookDetails     []hookRun               `json:"lifecycleHookDetails,omitempty"`

	target  *deployment
	sources []*deployment
	native  *nativeState // for BLUE_GREEN, LINEAR and CANARY (native.go)
}

type revisionSummary struct {
	Arn                              string   `json:"arn"`
	RequestedTaskCount               int32    `json:"requestedTaskCount"`
	RunningTaskCount                 int32    `json:"runningTaskCount"`
	PendingTaskCount                 int32    `json:"pendingTaskCount"`
	RequestedProductionTrafficWeight *float64 `json:"requestedProductionTrafficWeight,omitempty"`
	RequestedTestTrafficWeight       *float64 `json:"requestedTestTrafficWeight,omitempty"`
}

// sdAlarms is the wire shape of a service deployment's alarms.
type sdAlarms struct {
	AlarmNames          []string `json:"alarmNames"`
	Status              string   `json:"status"`
	TriggeredAlarmNames []string `json:"triggeredAlarmNames,omitempty"`
}

type rollbackInfo struct {
	Reason             string    `json:"reason"`
	StartedAt          epochTime `json:"startedAt"`
	ServiceRevisionArn string    `json:"serviceRevisionArn"`
}

type sdCircuitBreaker struct {
	Status       string `json:"status"`
	FailureCount int32  `json:"failureCount"`
	Threshold    int32  `json:"threshold"`
}

type serviceDeploymentBrief struct {
	ServiceDeploymentArn     string    `json:"serviceDeploymentArn"`
	ServiceArn               string    `json:"serviceArn"`
	ClusterArn               string    `json:"clusterArn"`
	CreatedAt                epochTime `json:"createdAt"`
	StartedAt                epochTime `json:"startedAt,omitzero"`
	FinishedAt               epochTime `json:"finishedAt,omitzero"`
	TargetServiceRevisionArn string    `json:"targetServiceRevisionArn"`
	Status                   string    `json:"status"`
	StatusReason             string    `json:"statusReason,omitempty"`
}

// final reports whether a service deployment status is terminal.
func final(status string) bool {
	switch status {
	case "SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED":
		return true
	}
	return false
}

// finishServiceDeployment moves sd to a terminal status.
func (s *Simulator) finishServiceDeployment(sd *serviceDeployment, status, reason string) {
	sd.Status, sd.StatusReason = status, reason
	sd.FinishedAt = epochTime(s.now)
	sd.UpdatedAt = epochTime(s.now)
	if status == "STOPPED" {
		sd.StoppedAt = epochTime(s.now)
	}
	if cb := sd.DeploymentCircuitBreaker; cb.Status == "MONITORING" {
		cb.Status = "MONITORING_COMPLETE"
	}
	if a := sd.Alarms; a != nil && a.Status == "MONITORING" {
		a.Status = "MONITORING_COMPLETE"
	}
}

func summary(d *deployment) revisionSummary {
	running, pending := countTasks(d.tasks)
	return revisionSummary{Arn: d.revisionArn, RequestedTaskCount: int32(len(d.live())), RunningTaskCount: running, PendingTaskCount: pending}
}

// view returns a copy of sd with its revisions' current counts.
func (sd *serviceDeployment) view() serviceDeployment {
	v := *sd
	target := summary(sd.target)
	target.RequestedTaskCount = sd.target.DesiredCount
	v.TargetServiceRevision = &target
	v.SourceServiceRevisions = []revisionSummary{}
	for _, d := range sd.sources {
		v.SourceServiceRevisions = append(v.SourceServiceRevisions, summary(d))
	}
	if n := sd.native; n != nil {
		// Green's requested weights, and blue's the rest.
		prod, test := n.prod, n.test
		target.RequestedProductionTrafficWeight, target.RequestedTestTrafficWeight = &prod, &test
		v.TargetServiceRevision = &target
		for i, d := range sd.sources {
			prod, test := 0.0, 0.0
			if d == n.blue {
				prod, test = 100-n.prod, 100-n.test
			}
			v.SourceServiceRevisions[i].RequestedProductionTrafficWeight = &prod
			v.SourceServiceRevisions[i].RequestedTestTrafficWeight = &test
		}
		v.LifecycleHookDetails = nil
		for _, h := range n.hooks {
			v.LifecycleHookDetails = append(v.LifecycleHookDetails, *h)
		}
	}
	cb := *sd.DeploymentCircuitBreaker
	v.DeploymentCircuitBreaker = &cb
	if sd.Alarms != nil {
		a := *sd.Alarms
		v.Alarms = &a
	}
	return v
}

func (sd *serviceDeployment) brief() serviceDeploymentBrief {
	return serviceDeploymentBrief{
		ServiceDeploymentArn:     sd.ServiceDeploymentArn,
		ServiceArn:               sd.ServiceArn,
		ClusterArn:               sd.ClusterArn,
		CreatedAt:                sd.CreatedAt,
		StartedAt:                sd.StartedAt,
		FinishedAt:               sd.FinishedAt,
		TargetServiceRevisionArn: sd.target.revisionArn,
		Status:                   sd.Status,
		StatusReason:             sd.StatusReason,
	}
}

type listServiceDeploymentsInput struct {
	Cluster   string   `json:"cluster"`
	Service   string   `json:"service"`
	Status    []string `json:"status"`
	CreatedAt *struct {
		Before *epochTime `json:"before"`
		After  *epochTime `json:"after"`
	} `json:"createdAt"`
	listInput
}

func (s *Simulator) listServiceDeployments(in *listServiceDeploymentsInput) (any, *apiError) {
	svc, err := s.service(in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	briefs := []serviceDeploymentBrief{}
	for _, sd := range slices.Backward(svc.serviceDeployments) { // newest first
		if len(in.Status) > 0 && !slices.Contains(in.Status, sd.Status) {
			continue
		}
		if ca := in.CreatedAt; ca != nil {
			created := sd.CreatedAt
			if (ca.Before != nil && !created.before(*ca.Before)) || (ca.After != nil && !ca.After.before(created)) {
				continue
			}
		}
		briefs = append(briefs, sd.brief())
	}
	page, next, err := paginate(briefs, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"serviceDeployments": page}, next), nil
}

func (t epochTime) before(u epochTime) bool { return time.Time(t).Before(time.Time(u)) }

// findServiceDeployment resolves a service deployment ARN.
func (s *Simulator) findServiceDeployment(arn string) (*service, *serviceDeployment) {
	svc := s.serviceOfARN(arn, "service-deployment")
	if svc == nil {
		return nil, nil
	}
	for _, sd := range svc.serviceDeployments {
		if sd.ServiceDeploymentArn == arn {
			return svc, sd
		}
	}
	return nil, nil
}

// serviceOfARN is the service an ARN of the given kind names, as
// arn:...:KIND/CLUSTER/SERVICE/ID; nil when there is none.
func (s *Simulator) serviceOfARN(arn, kind string) *service {
	_, path, ok := strings.Cut(arn, ":"+kind+"/")
	if !ok {
		return nil
	}
	parts := strings.Split(path, "/")
	if len(parts) != 3 {
		return nil
	}
	c, ok := s.clusters[parts[0]]
	if !ok {
		return nil
	}
	return c.services[parts[1]]
}

type describeServiceDeploymentsInput struct {
	ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
}

func (s *Simulator) describeServiceDeployments(in *describeServiceDeploymentsInput) (any, *apiError) {
	found, failures, err := describeARNs("serviceDeploymentArns", in.ServiceDeploymentArns, func(arn string) (serviceDeployment, bool) {
		_, sd := s.findServiceDeployment(arn)
		if sd == nil {
			return serviceDeployment{}, false
		}
		return sd.view(), true
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"serviceDeployments": found, "failures": failures}, nil
}

// describeARNs looks up 1 to 20 ARNs (the request's field) with find, as
// the Describe* calls of service deployments and revisions do: what it
// finds, and a MISSING failure for each ARN it does not.
func describeARNs[T any](field string, arns []string, find func(arn string) (T, bool)) ([]T, []failure, *apiError) {
	if len(arns) == 0 || len(arns) > 20 {
		return nil, nil, errInvalidParameter("%s must contain between 1 and 20 items.", field)
	}
	found, failures := []T{}, []failure{}
	for _, arn := range arns {
		v, ok := find(arn)
		if !ok {
			failures = append(failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		found = append(found, v)
	}
	return found, failures, nil
}

type stopServiceDeploymentInput struct {
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	StopType             string `json:"stopType"`
}

func (s *Simulator) stopServiceDeployment(in *stopServiceDeploymentInput) (any, *apiError) {
	svc, sd := s.findServiceDeployment(in.ServiceDeploymentArn)
	if sd == nil {
		return nil, newAPIError(http.StatusBadRequest, "ServiceDeploymentNotFoundException", "The service deployment does not exist.")
	}
	switch in.StopType {
	case "ROLLBACK", "":
	case "ABORT":
		return nil, errInvalidParameter("ecssim simulates only the ROLLBACK stop type.")
	default:
		return nil, errInvalidParameter("Unknown stop type %q.", in.StopType)
	}
	switch sd.Status {
	case "PENDING", "IN_PROGRESS":
		d := sd.target
		d.RolloutState = "FAILED"
		d.RolloutStateReason = "ECS deployment " + d.ID + " stopped: rollback requested."
		d.UpdatedAt = epochTime(s.now)
		s.rollback(svc, sd, "Service deployment rolled back because of a stop request.")
		s.settle()
	case "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS":
		// already rolling back
	default:
		return nil, newAPIError(http.StatusBadRequest, "ConflictException", "The service deployment is %s and cannot be stopped.", sd.Status)
	}
	return map[string]any{"serviceDeploymentArn": sd.ServiceDeploymentArn}, nil
}

// serviceRevision is the wire shape of a service revision: what one
// deployment deploys.
type serviceRevision struct {
	ServiceRevisionArn   string          `json:"serviceRevisionArn"`
	ServiceArn           string          `json:"serviceArn"`
	ClusterArn           string          `json:"clusterArn"`
	TaskDefinition       string          `json:"taskDefinition"`
	LaunchType           string          `json:"launchType,omitempty"`
	PlatformVersion      string          `json:"platformVersion,omitempty"`
	NetworkConfiguration json.RawMessage `json:"networkConfiguration,omitempty"`
	CreatedAt            epochTime       `json:"createdAt"`
}

type describeServiceRevisionsInput struct {
	ServiceRevisionArns []string `json:"serviceRevisionArns"`
}

func (s *Simulator) describeServiceRevisions(in *describeServiceRevisionsInput) (any, *apiError) {
	found, failures, err := describeARNs("serviceRevisionArns", in.ServiceRevisionArns, func(arn string) (serviceRevision, bool) {
		svc, d := s.findServiceRevision(arn)
		if d == nil {
			return serviceRevision{}, false
		}
		return serviceRevision{
			ServiceRevisionArn:   d.revisionArn,
			ServiceArn:           svc.ServiceArn,
			ClusterArn:           svc.ClusterArn,
			TaskDefinition:       d.TaskDefinition,
			LaunchType:           d.LaunchType,
			PlatformVersion:      d.PlatformVersion,
			NetworkConfiguration: d.NetworkConfiguration,
			CreatedAt:            d.CreatedAt,
		}, true
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"serviceRevisions": found, "failures": failures}, nil
}

// findServiceRevision resolves a service revision ARN to the deployment
// that first deployed it.
func (s *Simulator) findServiceRevision(arn string) (*service, *deployment) {
	svc := s.serviceOfARN(arn, "service-revision")
	if svc == nil {
		return nil, nil
	}
	for _, d := range svc.revisions {
		if d.revisionArn == arn {
			return svc, d
		}
	}
	return nil, nil
}

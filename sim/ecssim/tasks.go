package ecssim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// task is an ECS task started by the service scheduler; its JSON fields
// are the wire shape.
type task struct {
	TaskArn            string       `json:"taskArn"`
	ClusterArn         string       `json:"clusterArn"`
	TaskDefinitionArn  string       `json:"taskDefinitionArn"`
	Group              string       `json:"group"`
	StartedBy          string       `json:"startedBy"`
	LastStatus         string       `json:"lastStatus"`
	DesiredStatus      string       `json:"desiredStatus"`
	HealthStatus       string       `json:"healthStatus"`
	LaunchType         string       `json:"launchType,omitempty"`
	Cpu                string       `json:"cpu,omitempty"`
	Memory             string       `json:"memory,omitempty"`
	AvailabilityZone   string       `json:"availabilityZone"`
	Containers         []*container `json:"containers"`
	CreatedAt          epochTime    `json:"createdAt"`
	PullStartedAt      epochTime    `json:"pullStartedAt,omitzero"`
	PullStoppedAt      epochTime    `json:"pullStoppedAt,omitzero"`
	StartedAt          epochTime    `json:"startedAt,omitzero"`
	StoppingAt         epochTime    `json:"stoppingAt,omitzero"`
	ExecutionStoppedAt epochTime    `json:"executionStoppedAt,omitzero"`
	StoppedAt          epochTime    `json:"stoppedAt,omitzero"`
	StoppedReason      string       `json:"stoppedReason,omitempty"`
	StopCode           string       `json:"stopCode,omitempty"`
	Version            int64        `json:"version"`
	Tags               []tag        `json:"tags,omitempty"`
	// EnableExecuteCommand: the task was started with ECS Exec (exec.go).
	EnableExecuteCommand bool `json:"enableExecuteCommand"`

	id        string
	svc       *service
	dep       *deployment
	behavior  Behavior
	next      time.Time // when the next transition is due; zero for none
	due       time.Time // the same for a one-off task (RunTask), stepped by stepOneOffs
	runningAt time.Time
	healthy   bool
}

type container struct {
	ContainerArn string `json:"containerArn"`
	TaskArn      string `json:"taskArn"`
	Name         string `json:"name"`
	Image        string `json:"image"`
	LastStatus   string `json:"lastStatus"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	Reason       string `json:"reason,omitempty"`
	HealthStatus string `json:"healthStatus"`
	// ManagedAgents lists the ExecuteCommandAgent of an ECS Exec task (exec.go).
	ManagedAgents []managedAgent `json:"managedAgents,omitempty"`
}

// relaunchBackoff delays the tasks of a deployment after each failure, up
// to maxRelaunchBackoff, as the ECS scheduler throttles failing services.
const (
	relaunchBackoff    = 10 * time.Second
	maxRelaunchBackoff = 15 * time.Minute
)

// launch starts n tasks of deployment d.
func (s *Simulator) launch(svc *service, d *deployment, n int) {
	td := s.taskDef(d.TaskDefinition)
	b := s.behaviorFor(td)
	backoff := min(time.Duration(d.FailedTasks)*relaunchBackoff, maxRelaunchBackoff)
	c := svc.cluster
	var started []*task
	for range n {
		b := b
		if b.StartSpread > 0 {
			b.StartDelay += rand.N(b.StartSpread) // each task its own
		}
		t := s.newTask(c, td, b, "service:"+svc.ServiceName, d.ID, svc.LaunchType)
		t.svc, t.dep = svc, d
		if svc.EnableExecuteCommand {
			enableExec(t)
		}
		t.next = s.now.Add(backoff + b.StartDelay/2)
		d.tasks = append(d.tasks, t)
		started = append(started, t)
	}
	s.event(svc, "(service %s) has started %d tasks: %s.", svc.ServiceName, n, taskList(started))
}

// newTask makes a PROVISIONING task of td in c, with its containers
// PENDING, and adds it to the cluster's tasks.
func (s *Simulator) newTask(c *cluster, td *taskDef, b Behavior, group, startedBy, launchType string) *task {
	id := newHexID()
	t := &task{
		TaskArn:           s.arn("task/" + c.ClusterName + "/" + id),
		ClusterArn:        c.ClusterArn,
		TaskDefinitionArn: td.arn,
		Group:             group,
		StartedBy:         startedBy,
		LastStatus:        "PROVISIONING",
		DesiredStatus:     "RUNNING",
		HealthStatus:      "UNKNOWN",
		LaunchType:        launchType,
		AvailabilityZone:  s.region + "a",
		CreatedAt:         epochTime(s.now),
		Version:           1,
		id:                id,
		behavior:          b,
	}
	t.Cpu, _ = td.doc["cpu"].(string)
	t.Memory, _ = td.doc["memory"].(string)
	for _, cd := range td.doc["containerDefinitions"].([]any) {
		m := cd.(map[string]any)
		name, _ := m["name"].(string)
		image, _ := m["image"].(string)
		t.Containers = append(t.Containers, &container{
			ContainerArn: s.arn("container/" + c.ClusterName + "/" + id + "/" + newUUID()),
			TaskArn:      t.TaskArn,
			Name:         name,
			Image:        image,
			LastStatus:   "PENDING",
			HealthStatus: "UNKNOWN",
		})
	}
	c.tasks[id] = t
	c.taskOrder = append(c.taskOrder, t)
	return t
}

// behaviorFor returns the scripted behaviour of a task definition: its
// tasks fail to start if an image cannot be pulled (WithImageCheck).
func (s *Simulator) behaviorFor(td *taskDef) Behavior {
	keys := []string{td.arn, fmt.Sprintf("%s:%d", td.family, td.revision), td.family}
	var images []string
	for _, cd := range td.doc["containerDefinitions"].([]any) {
		if image, ok := cd.(map[string]any)["image"].(string); ok {
			images = append(images, image)
		}
	}
	if s.imageCheck != nil {
		for _, image := range images {
			if err := s.imageCheck(image); err != nil {
				return FailsToStart("CannotPullContainerError: " + err.Error())
			}
		}
	}
	keys = append(keys, images...)
	for _, k := range keys {
		if b, ok := s.behaviors[k]; ok {
			return b
		}
	}
	return s.fallback
}

// stepTask makes the transition of t that is due now.
func (s *Simulator) stepTask(t *task) {
	t.Version++
	f := t.behavior.Failure
	switch t.LastStatus {
	case "PROVISIONING":
		t.LastStatus = "PENDING"
		t.PullStartedAt = epochTime(s.now)
		t.next = time.Time(t.PullStartedAt).Add(t.behavior.StartDelay - t.behavior.StartDelay/2)
	case "PENDING":
		if f != nil && f.Kind == FailStart {
			t.StoppingAt = epochTime(s.now)
			t.DesiredStatus, t.StopCode = "STOPPED", "TaskFailedToStart"
			t.StoppedReason = f.Reason
			if t.StoppedReason == "" {
				t.StoppedReason = "Task failed to start"
			}
			switch {
			case strings.HasPrefix(f.Reason, "CannotPullContainerError"):
				// The pull ran and failed; ECS names the error on the
				// container too.
				t.PullStoppedAt = epochTime(s.now)
				for _, c := range t.Containers {
					c.Reason = f.Reason
				}
			case strings.HasPrefix(f.Reason, "ResourceInitializationError"):
				t.PullStartedAt = epochTime{} // secrets are fetched before any pull
			}
			s.finishStop(t)
			s.taskFailed(t)
			return
		}
		t.LastStatus = "RUNNING"
		t.PullStoppedAt = epochTime(s.now)
		t.StartedAt = epochTime(s.now)
		t.runningAt = s.now
		for _, c := range t.Containers {
			c.LastStatus = "RUNNING"
		}
		t.next = s.nextRunningEvent(t)
	case "RUNNING":
		if f != nil && !s.now.Before(t.runningAt.Add(f.After)) {
			s.failRunning(t, f)
			return
		}
		t.healthy = true
		t.HealthStatus = "HEALTHY"
		t.next = s.nextRunningEvent(t)
	case "DEACTIVATING":
		s.finishStop(t)
	}
}

// nextRunningEvent returns when a RUNNING task next changes: it becomes
// healthy or fails.
func (s *Simulator) nextRunningEvent(t *task) time.Time {
	var next time.Time
	if !t.healthy {
		next = t.runningAt.Add(t.behavior.HealthyAfter)
	}
	if f := t.behavior.Failure; f != nil {
		if at := t.runningAt.Add(f.After); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// failRunning makes a RUNNING task fail as scripted.
func (s *Simulator) failRunning(t *task, f *Failure) {
	t.healthy = false
	switch f.Kind {
	case FailHealthCheck:
		t.HealthStatus = "UNHEALTHY"
		tg := s.targetGroup(t.svc)
		s.event(t.svc, "(service %s) (task %s) is unhealthy in (target-group %s) due to (reason Health checks failed).", t.svc.ServiceName, t.id, tg)
		s.stopTask(t, "ServiceSchedulerInitiated", "Task failed ELB health checks in (target-group "+tg+")")
	default: // FailExit
		t.DesiredStatus, t.StopCode = "STOPPED", "EssentialContainerExited"
		t.StoppedReason = "Essential container in task exited"
		t.StoppingAt = epochTime(s.now)
		code := f.ExitCode
		if len(t.Containers) > 0 { // the first container is the essential one that exited
			t.Containers[0].ExitCode, t.Containers[0].Reason = &code, f.Reason
		}
		s.finishStop(t)
	}
	s.taskFailed(t)
}

// stopTask stops t on the scheduler's behalf: a RUNNING task drains first.
func (s *Simulator) stopTask(t *task, code, reason string) {
	t.DesiredStatus, t.StopCode, t.StoppedReason = "STOPPED", code, reason
	t.StoppingAt = epochTime(s.now)
	t.healthy = false
	t.Version++
	if t.LastStatus != "RUNNING" || t.behavior.DrainDelay <= 0 {
		s.finishStop(t)
		return
	}
	t.LastStatus = "DEACTIVATING"
	t.next = s.now.Add(t.behavior.DrainDelay)
}

func (s *Simulator) finishStop(t *task) {
	wasRunning := !t.StartedAt.IsZero()
	t.LastStatus = "STOPPED"
	t.ExecutionStoppedAt = epochTime(s.now)
	t.StoppedAt = epochTime(s.now)
	t.next = time.Time{}
	for _, c := range t.Containers {
		c.LastStatus = "STOPPED"
		if c.ExitCode == nil && wasRunning {
			c.ExitCode = new(int32) // a clean exit after SIGTERM
		}
	}
}

type listTasksInput struct {
	Cluster       string `json:"cluster"`
	ServiceName   string `json:"serviceName"`
	StartedBy     string `json:"startedBy"`
	Family        string `json:"family"`
	DesiredStatus string `json:"desiredStatus"`
	LaunchType    string `json:"launchType"`
	listInput
}

func (s *Simulator) listTasks(in *listTasksInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	s.stepOneOffs()
	if in.ServiceName != "" {
		if _, ok := c.services[lastSegment(in.ServiceName)]; !ok {
			return nil, errServiceNotFound()
		}
	}
	desired := in.DesiredStatus
	if desired == "" {
		desired = "RUNNING"
	}
	arns := []string{}
	for _, t := range c.taskOrder {
		switch {
		case t.DesiredStatus != desired,
			in.ServiceName != "" && t.Group != "service:"+lastSegment(in.ServiceName),
			in.StartedBy != "" && t.StartedBy != in.StartedBy,
			in.Family != "" && s.taskDef(t.TaskDefinitionArn).family != in.Family,
			in.LaunchType != "" && t.LaunchType != in.LaunchType:
			continue
		}
		arns = append(arns, t.TaskArn)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"taskArns": page}, next), nil
}

type describeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

func (s *Simulator) describeTasks(in *describeTasksInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	s.stepOneOffs()
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		return nil, errInvalidParameter("Tasks must contain between 1 and 100 items.")
	}
	found, failures := []task{}, []failure{}
	for _, ref := range slices.Compact(slices.Clone(in.Tasks)) {
		t, ok := c.tasks[lastSegment(ref)]
		if !ok {
			failures = append(failures, failure{Arn: s.arn("task/" + c.ClusterName + "/" + lastSegment(ref)), Reason: "MISSING"})
			continue
		}
		v := *t
		if includes(in.Include, "TAGS") {
			v.Tags = s.tags[t.TaskArn]
		}
		found = append(found, v)
	}
	return map[string]any{"tasks": found, "failures": failures}, nil
}

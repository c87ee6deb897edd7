package ecssim

import (
	"slices"
	"strings"
	"time"
)

// One-off tasks (RunTask) belong to no service: they step on their own,
// lazily, whenever a call reads tasks (stepOneOffs), and end by
// themselves. A one-off task runs its scripted behaviour: it fails to
// start or exits as the Failure says, and otherwise writes its log lines
// a second apart and exits 0.

type runTaskInput struct {
	Cluster        string `json:"cluster"`
	TaskDefinition string `json:"taskDefinition"`
	Count          int    `json:"count"`
	StartedBy      string `json:"startedBy"`
	Group          string `json:"group"`
	// ClientToken makes the call idempotent: a repeat with the same token
	// returns the tasks the first call started, starting none.
	ClientToken string `json:"clientToken"`
	LaunchType  string `json:"launchType"`
	// EnableExecuteCommand starts the tasks with ECS Exec (exec.go).
	EnableExecuteCommand bool `json:"enableExecuteCommand"`
	Overrides            *struct {
		ContainerOverrides []struct {
			Name    string   `json:"name"`
			Command []string `json:"command"`
		} `json:"containerOverrides"`
	} `json:"overrides"`
}

func (s *Simulator) runTask(in *runTaskInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	td := s.taskDef(in.TaskDefinition)
	if in.TaskDefinition == "" || td == nil {
		return nil, errClient("TaskDefinition not found.")
	}
	count := in.Count
	if count == 0 {
		count = 1
	}
	if count < 1 || count > 10 {
		return nil, errInvalidParameter("Count must be between 1 and 10.")
	}
	if o := in.Overrides; o != nil {
		var names []string
		for _, cd := range td.doc["containerDefinitions"].([]any) {
			name, _ := cd.(map[string]any)["name"].(string)
			names = append(names, name)
		}
		for _, co := range o.ContainerOverrides {
			if !slices.Contains(names, co.Name) {
				return nil, errInvalidParameter("Override for container named %s is not a container in the TaskDefinition.", co.Name)
			}
		}
	}
	s.stepOneOffs()
	if in.ClientToken != "" {
		if arns, ok := s.runTokens[c.ClusterName+"/"+in.ClientToken]; ok {
			tasks := []task{}
			for _, arn := range arns {
				if t, ok := c.tasks[lastSegment(arn)]; ok {
					tasks = append(tasks, *t)
				}
			}
			return map[string]any{"tasks": tasks, "failures": []failure{}}, nil
		}
	}
	group := in.Group
	if group == "" {
		group = "family:" + td.family
	}
	b := s.behaviorFor(td)
	if cb, ok := s.commandBehavior(in); ok {
		b = cb
	}
	tasks := []task{}
	for range count {
		t := s.newTask(c, td, b, group, in.StartedBy, in.LaunchType)
		if in.EnableExecuteCommand {
			enableExec(t)
		}
		t.due = s.now.Add(b.StartDelay / 2)
		tasks = append(tasks, *t)
	}
	if in.ClientToken != "" {
		for _, t := range tasks {
			s.runTokens[c.ClusterName+"/"+in.ClientToken] = append(s.runTokens[c.ClusterName+"/"+in.ClientToken], t.TaskArn)
		}
	}
	return map[string]any{"tasks": tasks, "failures": []failure{}}, nil
}

// CommandKey is the SetBehavior key that scripts the one-off tasks whose
// container override runs command (its words joined by spaces), such as
// CommandKey("sh", "-c", "./migrate up"): a migration can fail while the
// service's tasks of the same revision are healthy.
func CommandKey(command ...string) string {
	return "command:" + strings.Join(command, " ")
}

// commandBehavior is the behaviour scripted for a command that in's
// container overrides run, if any: it wins over the task definition's.
func (s *Simulator) commandBehavior(in *runTaskInput) (Behavior, bool) {
	if in.Overrides == nil {
		return Behavior{}, false
	}
	for _, co := range in.Overrides.ContainerOverrides {
		if len(co.Command) == 0 {
			continue
		}
		if b, ok := s.behaviors[CommandKey(co.Command...)]; ok {
			return b, true
		}
	}
	return Behavior{}, false
}

type stopTaskInput struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

// stopTask stops a task as a user does: a service task is replaced by its
// scheduler.
func (s *Simulator) stopTaskOp(in *stopTaskInput) (any, *apiError) {
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	s.stepOneOffs()
	t, ok := c.tasks[lastSegment(in.Task)]
	if !ok {
		return nil, errInvalidParameter("The referenced task was not found.")
	}
	if t.DesiredStatus != "STOPPED" {
		reason := in.Reason
		if reason == "" {
			reason = "Task stopped by user"
		}
		if t.svc == nil {
			// No scheduler drains a one-off task: it stops at once.
			t.due = time.Time{}
			t.DesiredStatus, t.StopCode, t.StoppedReason = "STOPPED", "UserInitiated", reason
			t.StoppingAt = epochTime(s.now)
			t.Version++
			s.finishStop(t)
		} else {
			s.stopTask(t, "UserInitiated", reason)
			s.reconcile(t.svc)
		}
	}
	return map[string]any{"task": *t}, nil
}

// stepOneOffs brings the one-off tasks up to the simulated now.
func (s *Simulator) stepOneOffs() {
	for _, name := range s.clusterNames {
		for _, t := range s.clusters[name].taskOrder {
			for t.svc == nil && !t.due.IsZero() && !t.due.After(s.now) {
				now := s.now
				s.now = t.due // the step's timestamps are when it was due
				s.stepOneOff(t)
				s.now = now
			}
		}
	}
}

// stepOneOff makes the transition of one-off task t that is due now.
func (s *Simulator) stepOneOff(t *task) {
	t.Version++
	b := t.behavior
	f := b.Failure
	switch t.LastStatus {
	case "PROVISIONING":
		t.LastStatus = "PENDING"
		t.PullStartedAt = epochTime(s.now)
		t.due = s.now.Add(b.StartDelay - b.StartDelay/2)
	case "PENDING":
		if f != nil && f.Kind == FailStart {
			t.StoppingAt = epochTime(s.now)
			t.DesiredStatus, t.StopCode, t.StoppedReason = "STOPPED", "TaskFailedToStart", cmpOr(f.Reason, "Task failed to start")
			if strings.HasPrefix(f.Reason, "CannotPullContainerError") {
				t.PullStoppedAt = epochTime(s.now)
				for _, c := range t.Containers {
					c.Reason = f.Reason
				}
			}
			t.due = time.Time{}
			s.finishStop(t)
			return
		}
		t.LastStatus = "RUNNING"
		t.PullStoppedAt, t.StartedAt = epochTime(s.now), epochTime(s.now)
		t.runningAt = s.now
		for _, c := range t.Containers {
			c.LastStatus = "RUNNING"
		}
		runFor := max(time.Duration(len(b.Logs))*time.Second, time.Second)
		if f != nil && f.Kind == FailExit {
			runFor = f.After
		}
		t.due = s.now.Add(runFor)
	case "RUNNING":
		code, reason := int32(0), ""
		if f != nil && f.Kind == FailExit {
			code, reason = f.ExitCode, f.Reason
		}
		t.DesiredStatus, t.StopCode, t.StoppedReason = "STOPPED", "EssentialContainerExited", "Essential container in task exited"
		t.StoppingAt = epochTime(s.now)
		if len(t.Containers) > 0 {
			t.Containers[0].ExitCode, t.Containers[0].Reason = &code, reason
		}
		t.due = time.Time{}
		s.finishStop(t)
	default:
		t.due = time.Time{}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

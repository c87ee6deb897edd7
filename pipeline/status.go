package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// StatusOptions configures Status.
type StatusOptions struct {
	// Events is how many of the newest events to show; zero means 10,
	// negative none. ECS keeps at most 100.
	Events int
}

// ServiceStatus is a service's state, deployments and recent events.
type ServiceStatus struct {
	Cluster string
	Service string
	// Status is ACTIVE, DRAINING or INACTIVE.
	Status string
	// TaskDefinition is what the service runs, "family:revision".
	TaskDefinition string
	DesiredCount   int32
	RunningCount   int32
	PendingCount   int32
	// Deployments are the service's deployments, PRIMARY first.
	Deployments []DeploymentStatus
	// Events are the newest events, oldest first.
	Events []Event
}

// DeploymentStatus is one deployment of a service.
type DeploymentStatus struct {
	ID string
	// Status is PRIMARY, ACTIVE or INACTIVE.
	Status string
	// RolloutState is IN_PROGRESS, COMPLETED or FAILED (ECS controller).
	RolloutState string
	Reason       string
	// TaskDefinition is "family:revision".
	TaskDefinition string
	DesiredCount   int32
	RunningCount   int32
	PendingCount   int32
	FailedTasks    int32
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Event is a service event.
type Event struct {
	ID      string
	Time    time.Time
	Message string
}

// Status reads the config's service: what it runs, its deployments and its
// last events.
func Status(ctx context.Context, api ServiceDescriber, cfg *Config, opts StatusOptions) (*ServiceStatus, error) {
	svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
	if err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	st := &ServiceStatus{
		Cluster:        cfg.Cluster,
		Service:        aws.ToString(svc.ServiceName),
		Status:         aws.ToString(svc.Status),
		TaskDefinition: shortTaskDefinition(aws.ToString(svc.TaskDefinition)),
		DesiredCount:   svc.DesiredCount,
		RunningCount:   svc.RunningCount,
		PendingCount:   svc.PendingCount,
	}
	for _, d := range svc.Deployments {
		st.Deployments = append(st.Deployments, DeploymentStatus{
			ID:             aws.ToString(d.Id),
			Status:         aws.ToString(d.Status),
			RolloutState:   string(d.RolloutState),
			Reason:         aws.ToString(d.RolloutStateReason),
			TaskDefinition: shortTaskDefinition(aws.ToString(d.TaskDefinition)),
			DesiredCount:   d.DesiredCount,
			RunningCount:   d.RunningCount,
			PendingCount:   d.PendingCount,
			FailedTasks:    d.FailedTasks,
			CreatedAt:      aws.ToTime(d.CreatedAt),
			UpdatedAt:      aws.ToTime(d.UpdatedAt),
		})
	}
	slices.SortStableFunc(st.Deployments, func(a, b DeploymentStatus) int {
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	slices.SortStableFunc(st.Deployments, func(a, b DeploymentStatus) int {
		return boolInt(b.Status == "PRIMARY") - boolInt(a.Status == "PRIMARY")
	})
	n := opts.Events
	if n == 0 {
		n = 10
	}
	seen := map[string]bool{}
	for _, e := range svc.Events { // newest first
		if len(st.Events) >= n {
			break
		}
		if id := aws.ToString(e.Id); !seen[id] {
			seen[id] = true
			st.Events = append(st.Events, Event{ID: id, Time: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
		}
	}
	slices.Reverse(st.Events)
	slices.SortStableFunc(st.Events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	return st, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// String renders the status for a terminal.
func (s *ServiceStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Service: %s (cluster %s) %s\n", s.Service, s.Cluster, s.Status)
	fmt.Fprintf(&b, "Task definition: %s\n", s.TaskDefinition)
	fmt.Fprintf(&b, "Tasks: desired %d, running %d, pending %d\n", s.DesiredCount, s.RunningCount, s.PendingCount)
	b.WriteString("Deployments:\n")
	for _, d := range s.Deployments {
		fmt.Fprintf(&b, "  %-8s %s %s %s: desired %d, running %d, pending %d, failed %d, created %s",
			d.Status, d.ID, d.TaskDefinition, orDash(d.RolloutState), d.DesiredCount, d.RunningCount, d.PendingCount, d.FailedTasks,
			d.CreatedAt.UTC().Format(time.RFC3339))
		if d.Reason != "" {
			fmt.Fprintf(&b, "\n           %s", d.Reason)
		}
		b.WriteString("\n")
	}
	if len(s.Events) > 0 {
		b.WriteString("Events:\n")
		for _, e := range s.Events {
			fmt.Fprintf(&b, "  %s %s\n", e.Time.UTC().Format(time.RFC3339), e.Message)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

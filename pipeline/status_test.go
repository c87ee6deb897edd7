package pipeline_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

func TestStatus(t *testing.T) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: time.Minute, HealthyAfter: time.Minute})
	if _, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{NoWait: true}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(90 * time.Second)
	st, err := pipeline.Status(e.ctx, e.ecs, e.cfg, pipeline.StatusOptions{Events: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.TaskDefinition != "web:2" || len(st.Deployments) != 2 || st.Deployments[0].Status != "PRIMARY" || st.Deployments[0].TaskDefinition != "web:2" ||
		st.Deployments[1].TaskDefinition != "web:1" || len(st.Events) != 3 {
		t.Fatalf("status %+v", st)
	}
	if !slices.IsSortedFunc(st.Events, func(a, b pipeline.Event) int { return a.Time.Compare(b.Time) }) {
		t.Errorf("events not ascending: %+v", st.Events)
	}
	text := st.String()
	for _, want := range []string{"Service: web (cluster prod) ACTIVE", "Task definition: web:2", "Tasks: desired 2, running 4, pending 0",
		"PRIMARY  ecs-svc/", "web:2 IN_PROGRESS: desired 2, running 2", "ACTIVE   ecs-svc/", "Events:\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}
	if _, err := pipeline.Status(e.ctx, e.ecs, &pipeline.Config{Cluster: "prod", Service: "nope"}, pipeline.StatusOptions{}); !errors.Is(err, pipeline.ErrServiceNotFound) {
		t.Errorf("status of a missing service: %v", err)
	}
}

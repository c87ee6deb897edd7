package ecssim_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestTaskLogsOverTheWire reads a service's scripted log lines with the
// SDK's CloudWatch Logs client: pages of GetLogEvents in both directions,
// FilterLogEvents by stream prefix and time, and the errors of a missing
// group or stream.
func TestTaskLogsOverTheWire(t *testing.T) {
	b := ecssim.Healthy()
	b.Logs = []string{"one", "two", "three", "four", "five"}
	e := newEnv(t, ecssim.WithDefaultBehavior(b))
	out, err := e.ecs.RegisterTaskDefinition(e.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("web:1"), Memory: aws.Int32(128),
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web",
			}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.createService(aws.ToString(out.TaskDefinition.TaskDefinitionArn), 1, nil)
	list, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod")})
	if err != nil || len(list.TaskArns) != 1 {
		t.Fatalf("listing tasks: %v %v", list, err)
	}
	id := list.TaskArns[0][strings.LastIndexByte(list.TaskArns[0], '/')+1:]
	e.clock.Advance(time.Minute)

	logs := cloudwatchlogs.NewFromConfig(e.srv.AWSConfig())
	stream := "web/app/" + id
	get := func(in cloudwatchlogs.GetLogEventsInput) (*cloudwatchlogs.GetLogEventsOutput, []string) {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("/ecs/web"), aws.String(stream)
		out, err := logs.GetLogEvents(e.ctx, &in)
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		var msgs []string
		for i, ev := range out.Events {
			msgs = append(msgs, aws.ToString(ev.Message))
			if i > 0 && aws.ToInt64(ev.Timestamp) <= aws.ToInt64(out.Events[i-1].Timestamp) {
				t.Errorf("events out of order: %v", out.Events)
			}
		}
		return out, msgs
	}
	newest, msgs := get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(2)})
	if !slices.Equal(msgs, []string{"four", "five"}) {
		t.Errorf("the newest two: %q", msgs)
	}
	if _, msgs := get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(2), NextToken: newest.NextBackwardToken}); !slices.Equal(msgs, []string{"two", "three"}) {
		t.Errorf("the two before: %q", msgs)
	}
	head, msgs := get(cloudwatchlogs.GetLogEventsInput{Limit: aws.Int32(3), StartFromHead: aws.Bool(true)})
	if !slices.Equal(msgs, []string{"one", "two", "three"}) {
		t.Errorf("from the head: %q", msgs)
	}
	if _, msgs := get(cloudwatchlogs.GetLogEventsInput{NextToken: head.NextForwardToken}); !slices.Equal(msgs, []string{"four", "five"}) {
		t.Errorf("forward from the head: %q", msgs)
	}
	first := aws.ToInt64(head.Events[0].Timestamp)
	filtered, err := logs.FilterLogEvents(e.ctx, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String("/ecs/web"), LogStreamNamePrefix: aws.String("web/app/"),
		StartTime: aws.Int64(first + 1000), EndTime: aws.Int64(first + 3000),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(filtered.Events) != 2 || aws.ToString(filtered.Events[0].Message) != "two" || aws.ToString(filtered.Events[0].LogStreamName) != stream {
		t.Errorf("filtered [1s, 3s): %+v", filtered.Events)
	}

	var nf *logtypes.ResourceNotFoundException
	if _, err := logs.GetLogEvents(e.ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/other"), LogStreamName: aws.String(stream)}); !errors.As(err, &nf) {
		t.Errorf("a missing group: %v, want ResourceNotFoundException", err)
	}
	if _, err := logs.GetLogEvents(e.ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/ecs/web"), LogStreamName: aws.String("web/app/0000")}); !errors.As(err, &nf) {
		t.Errorf("a missing stream: %v, want ResourceNotFoundException", err)
	}
}

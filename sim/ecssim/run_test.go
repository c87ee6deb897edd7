package ecssim_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestRunTaskLifecycle runs one-off tasks: one ends by itself with exit
// code 0 and every lifecycle timestamp in order, one a user stops.
func TestRunTaskLifecycle(t *testing.T) {
	b := ecssim.Healthy()
	b.Logs = []string{"migrating", "done"}
	e := newEnv(t, ecssim.WithDefaultBehavior(b))
	td := e.register("job", "job:1")
	run := func() string {
		t.Helper()
		out, err := e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String(td), StartedBy: aws.String("me")})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v %v", out, err)
		}
		if g := aws.ToString(out.Tasks[0].Group); g != "family:job" || aws.ToString(out.Tasks[0].LastStatus) != "PROVISIONING" {
			t.Errorf("a new one-off task in group %q, %s", g, aws.ToString(out.Tasks[0].LastStatus))
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	describe := func(arn string) types.Task {
		t.Helper()
		out, err := e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{arn}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("DescribeTasks: %v %v", out, err)
		}
		return out.Tasks[0]
	}

	done, stopped := run(), run()
	e.clock.Advance(7 * time.Second) // past half the start delay, not all of it
	if s := aws.ToString(describe(done).LastStatus); s != "PENDING" {
		t.Errorf("after 7s: %s, want PENDING", s)
	}
	if _, err := e.ecs.StopTask(e.ctx, &ecs.StopTaskInput{Cluster: aws.String("prod"), Task: aws.String(stopped), Reason: aws.String("not needed")}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	task := describe(done)
	stamps := []*time.Time{task.CreatedAt, task.PullStartedAt, task.PullStoppedAt, task.StartedAt, task.StoppingAt, task.ExecutionStoppedAt, task.StoppedAt}
	for i, s := range stamps {
		if s == nil || (i > 0 && s.Before(*stamps[i-1])) {
			t.Fatalf("lifecycle timestamp %d missing or out of order: %v", i, stamps)
		}
	}
	if aws.ToString(task.LastStatus) != "STOPPED" || task.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToInt32(task.Containers[0].ExitCode) != 0 ||
		task.StoppedAt.Sub(*task.StartedAt) != 2*time.Second {
		t.Errorf("ended %s %s, exit code %v after %s; want STOPPED with exit code 0 after its two lines", aws.ToString(task.LastStatus), task.StopCode,
			task.Containers[0].ExitCode, task.StoppedAt.Sub(*task.StartedAt))
	}
	user := describe(stopped)
	if user.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(user.StoppedReason) != "not needed" || user.StartedAt != nil {
		t.Errorf("stopped task: %s %q, started %v", user.StopCode, aws.ToString(user.StoppedReason), user.StartedAt)
	}
}

// TestRunTaskScriptedByCommand scripts a failing migration by its command:
// the one-off task running it exits 3 after its log line, one running
// another command of the same task definition exits 0.
func TestRunTaskScriptedByCommand(t *testing.T) {
	migrate := []string{"sh", "-c", "./migrate up"}
	e := newEnv(t, ecssim.WithBehavior(ecssim.CommandKey(migrate...), ecssim.ExitsWithLogs(3, "ERROR: relation \"users\" already exists")))
	td := e.register("job", "job:1")
	run := func(command []string) string {
		t.Helper()
		out, err := e.ecs.RunTask(e.ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: aws.String(td),
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: command}}}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v %v", out, err)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	failing, other := run(migrate), run([]string{"sh", "-c", "./migrate status"})
	e.clock.Advance(time.Minute)
	out, err := e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{failing, other}})
	if err != nil || len(out.Tasks) != 2 {
		t.Fatalf("DescribeTasks: %v %v", out, err)
	}
	codes := map[string]int32{}
	for _, task := range out.Tasks {
		if aws.ToString(task.LastStatus) != "STOPPED" || task.Containers[0].ExitCode == nil {
			t.Fatalf("task %s: %s, exit code %v; want STOPPED with one", aws.ToString(task.TaskArn), aws.ToString(task.LastStatus), task.Containers[0].ExitCode)
		}
		codes[aws.ToString(task.TaskArn)] = *task.Containers[0].ExitCode
	}
	if codes[failing] != 3 || codes[other] != 0 {
		t.Errorf("exit codes: migration %d, other command %d; want 3 and 0", codes[failing], codes[other])
	}
}

package pipeline_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// ganttLine is one task line of a generated gantt block, as written.
type ganttLine struct {
	section, label string
	milestone      bool
	crit           bool
	start, end     time.Time
}

var ganttTask = regexp.MustCompile(`^    (.+?) :((?:crit, )?(?:milestone, )?)(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d), (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|0s)$`)

// mermaidBlock returns the one ```mermaid block of md and its task lines;
// every line must be a header, a section or a task.
func mermaidBlock(t *testing.T, md string) (string, []ganttLine) {
	t.Helper()
	_, rest, ok := strings.Cut(md, "```mermaid\n")
	if !ok {
		t.Fatalf("no mermaid block in:\n%s", md)
	}
	block, _, ok := strings.Cut(rest, "```\n")
	if !ok || strings.Contains(rest[len(block):], "```mermaid") {
		t.Fatalf("want one closed mermaid block in:\n%s", md)
	}
	lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	if lines[0] != "gantt" || !slices.Contains(lines, "    dateFormat YYYY-MM-DD HH:mm:ss") || !slices.Contains(lines, "    axisFormat %H:%M:%S") {
		t.Fatalf("block header:\n%s", block)
	}
	var out []ganttLine
	section := ""
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "    title "), strings.HasPrefix(l, "    dateFormat "), strings.HasPrefix(l, "    axisFormat "):
		case strings.HasPrefix(l, "    section "):
			section = strings.TrimPrefix(l, "    section ")
		default:
			m := ganttTask.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("line %q is no gantt task", l)
			}
			if strings.ContainsAny(m[1], ":#;") {
				t.Errorf("label %q holds : # or ;", m[1])
			}
			g := ganttLine{section: section, label: m[1], milestone: strings.Contains(m[2], "milestone"), crit: strings.Contains(m[2], "crit")}
			g.start, _ = time.Parse("2006-01-02 15:04:05", m[3])
			g.end = g.start
			if m[4] != "0s" {
				g.end, _ = time.Parse("2006-01-02 15:04:05", m[4])
			}
			if g.end.Before(g.start) {
				t.Errorf("line %q ends before it starts", l)
			}
			out = append(out, g)
		}
	}
	return block, out
}

// milestones returns the Deployment section's milestones, checking they
// are in time order.
func milestones(t *testing.T, lines []ganttLine) []ganttLine {
	t.Helper()
	var ms []ganttLine
	for _, l := range lines {
		if l.section == "Deployment" {
			if !l.milestone {
				t.Errorf("Deployment section row %q is no milestone", l.label)
			}
			if len(ms) > 0 && l.start.Before(ms[len(ms)-1].start) {
				t.Errorf("milestone %q (%s) before %q (%s)", l.label, l.start, ms[len(ms)-1].label, ms[len(ms)-1].start)
			}
			ms = append(ms, l)
		}
	}
	return ms
}

// milestone returns the time of the milestone whose label starts with prefix.
func milestone(t *testing.T, ms []ganttLine, prefix string) (time.Time, ganttLine) {
	t.Helper()
	for _, m := range ms {
		if strings.HasPrefix(m.label, prefix) {
			return m.start, m
		}
	}
	t.Errorf("no milestone %q among %v", prefix, ms)
	return time.Time{}, ganttLine{}
}

// records reads what the simulator recorded of a deployment: its service
// deployment and the tasks of the service.
func (e *deployEnv) records(res *pipeline.DeployResult) (types.ServiceDeployment, []types.Task) {
	e.t.Helper()
	sd, err := e.ecs.DescribeServiceDeployments(e.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{res.ServiceDeploymentArn}})
	if err != nil || len(sd.ServiceDeployments) != 1 {
		e.t.Fatalf("describing service deployment: %v", err)
	}
	var arns []string
	for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		out, err := e.ecs.ListTasks(e.ctx, &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"), DesiredStatus: st})
		if err != nil {
			e.t.Fatal(err)
		}
		arns = append(arns, out.TaskArns...)
	}
	out, err := e.ecs.DescribeTasks(e.ctx, &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: arns})
	if err != nil {
		e.t.Fatal(err)
	}
	return sd.ServiceDeployments[0], out.Tasks
}

func sameSecond(a, b time.Time) bool { return a.Truncate(time.Second).Equal(b.Truncate(time.Second)) }

// healthyTimelineDeploy deploys web:2 with tasks that start apart and old
// tasks that drain.
func healthyTimelineDeploy(t *testing.T) (*deployEnv, *pipeline.DeployResult) {
	e := newDeployEnv(t, nil, ecssim.WithBehavior("registry.example.com/web:v1", ecssim.Behavior{DrainDelay: 10 * time.Second}))
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.Behavior{StartDelay: 8 * time.Second, HealthyAfter: 10 * time.Second, StartSpread: 6 * time.Second})
	e.srv.ResetRequests()
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	return e, res
}

// rolledBackTimelineDeploy deploys web:2 whose tasks fail their health
// checks until the circuit breaker rolls back.
func rolledBackTimelineDeploy(t *testing.T) (*deployEnv, *pipeline.DeployResult) {
	e := newDeployEnv(t, nil)
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.FailsHealthChecks(20*time.Second))
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if !errors.Is(err, pipeline.ErrRolledBack) {
		t.Fatalf("Deploy: %v, want ErrRolledBack", err)
	}
	return e, res
}

func TestTimelineMarkdownHealthyDeploy(t *testing.T) {
	e, res := healthyTimelineDeploy(t)
	sd, tasks := e.records(res)
	before := len(e.srv.Requests())
	md := res.Markdown()
	if len(e.srv.Requests()) != before {
		t.Error("Markdown made calls")
	}
	block, lines := mermaidBlock(t, md)
	t.Logf("\n%s", block)
	ms := milestones(t, lines)

	if at, _ := milestone(t, ms, "UpdateService - deployment "); !sameSecond(at, aws.ToTime(sd.StartedAt)) {
		t.Errorf("UpdateService at %s, service deployment started %s", at, aws.ToTime(sd.StartedAt))
	}
	if at, m := milestone(t, ms, "Completed - SUCCESSFUL"); !sameSecond(at, aws.ToTime(sd.FinishedAt)) || m.crit {
		t.Errorf("Completed at %s (crit %v), service deployment finished %s", at, m.crit, aws.ToTime(sd.FinishedAt))
	}
	var first, last, drained time.Time
	newTasks, oldTasks := 0, 0
	for _, tk := range tasks {
		started, stopped := aws.ToTime(tk.StartedAt), aws.ToTime(tk.StoppedAt)
		if aws.ToString(tk.StartedBy) == res.DeploymentID {
			newTasks++
			if first.IsZero() || started.Before(first) {
				first = started
			}
			if started.After(last) {
				last = started
			}
		} else if !stopped.Before(aws.ToTime(sd.StartedAt)) {
			oldTasks++
			if stopped.After(drained) {
				drained = stopped
			}
		}
	}
	if newTasks != 2 || oldTasks != 2 {
		t.Fatalf("simulator: %d new tasks (started %s to %s), %d old stopped; the test wants 2 and 2", newTasks, first, last, oldTasks)
	}
	if at, _ := milestone(t, ms, "First new task running"); !sameSecond(at, first) {
		t.Errorf("first new task running at %s, simulator %s", at, first)
	}
	if at, m := milestone(t, ms, "Last new task running"); !sameSecond(at, last) || !strings.Contains(m.label, "2 running, 2 HEALTHY") {
		t.Errorf("last new task running at %s (%q), simulator %s", at, m.label, last)
	}
	if at, _ := milestone(t, ms, "Old tasks drained - 2 stopped"); !sameSecond(at, drained) {
		t.Errorf("old tasks drained at %s, simulator %s", at, drained)
	}
	sections := map[string]int{}
	for _, l := range lines {
		sections[l.section]++
		if l.crit {
			t.Errorf("a healthy deploy's picture marks %q critical", l.label)
		}
	}
	if sections["New tasks web∶2"] != 4 || sections["Old tasks web∶1"] != 4 || sections["Service events"] == 0 {
		t.Errorf("sections %v", sections)
	}
	// The calls: one DescribeServiceDeployments, one DescribeServices, two
	// ListTasks, one DescribeTasks.
	if res.Timeline.Calls != 5 {
		t.Errorf("timeline made %d calls, want 5", res.Timeline.Calls)
	}
}

func TestTimelineMarkdownCircuitBreakerRollback(t *testing.T) {
	e, res := rolledBackTimelineDeploy(t)
	sd, _ := e.records(res)
	block, lines := mermaidBlock(t, res.Markdown())
	t.Logf("\n%s", block)
	ms := milestones(t, lines)
	if sd.Rollback == nil {
		t.Fatal("the simulator recorded no rollback")
	}
	at, m := milestone(t, ms, "Rollback started - Service deployment rolled back because the circuit breaker")
	if !sameSecond(at, aws.ToTime(sd.Rollback.StartedAt)) || !m.crit {
		t.Errorf("rollback milestone at %s (crit %v), simulator %s", at, m.crit, aws.ToTime(sd.Rollback.StartedAt))
	}
	if _, m := milestone(t, ms, "First new task failed - Task failed ELB health checks"); !m.crit {
		t.Errorf("first failure not crit: %+v", m)
	}
	if _, m := milestone(t, ms, "Not finished when read - ROLLED_BACK ROLLBACK_IN_PROGRESS"); !m.crit {
		t.Errorf("end not crit: %+v", m)
	}
	failed := 0
	for _, l := range lines {
		if l.section == "New tasks web∶2" && l.crit && strings.Contains(l.label, "stopped - Task failed ELB health checks in (target-group web)") {
			failed++
		}
	}
	if failed < 3 {
		t.Errorf("%d failed new tasks drawn with their reason, want at least 3", failed)
	}
	if !slices.ContainsFunc(lines, func(l ganttLine) bool { return strings.HasPrefix(l.section, "Rollback tasks web∶1") }) {
		t.Error("no section of rollback tasks")
	}
}

func TestTimelineLabelsAreSafe(t *testing.T) {
	tl := &pipeline.DeployTimeline{
		Cluster: "prod", Service: "web", DeploymentID: "ecs-svc/1", TaskDefinition: "web:2", Outcome: pipeline.OutcomeFailed,
		StartedAt: simStart, ReadAt: simStart.Add(time.Minute),
		Tasks: []pipeline.TimelineTask{{
			ID: "abcdef0123", Role: "new", TaskDefinition: "web:2", LastStatus: "STOPPED", HealthStatus: "UNKNOWN",
			CreatedAt: simStart, StoppingAt: simStart.Add(10 * time.Second), StoppedAt: simStart.Add(11 * time.Second),
			StopCode: "TaskFailedToStart", StoppedReason: "CannotPullContainerError: pull image: a#b;c\nd %% e `f` <g>",
		}},
		Events: []pipeline.Event{{Time: simStart.Add(time.Second), Message: "section x: title y; #z"}},
	}
	block := tl.Mermaid()
	t.Logf("\n%s", block)
	_, lines := mermaidBlock(t, "```mermaid\n"+block+"```\n")
	if len(lines) == 0 {
		t.Fatal("no lines")
	}
	for _, l := range lines {
		if strings.HasPrefix(strings.ToLower(l.label), "section") || strings.Contains(l.label, "%%") {
			t.Errorf("unsafe label %q", l.label)
		}
	}
	checkMermaid(t, map[string]string{"labels": block})
}

// mermaidCheckDir holds the npm project whose check.mjs parses diagrams
// with Mermaid's own parser.
const mermaidCheckDir = "../internal/mermaidcheck"

// checkMermaid parses each diagram with Mermaid (node and the npm packages
// of internal/mermaidcheck) and fails when Mermaid rejects one; it returns
// what Mermaid read of each gantt diagram. Missing node or packages fail
// the test: they are how it knows the picture renders.
func checkMermaid(t *testing.T, diagrams map[string]string) map[string][]mermaidTask {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): install Node.js 20 or later and run `npm ci --prefix internal/mermaidcheck` from the repository root", err)
	}
	if _, err := os.Stat(filepath.Join(mermaidCheckDir, "node_modules", "mermaid", "package.json")); err != nil {
		t.Fatalf("Mermaid is not installed (%v): run `npm ci --prefix internal/mermaidcheck` from the repository root", err)
	}
	dir := t.TempDir()
	args := []string{filepath.Join(mermaidCheckDir, "check.mjs")}
	names := map[string]string{}
	for name, d := range diagrams {
		f := filepath.Join(dir, name+".mmd")
		if err := os.WriteFile(f, []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, f)
		names[f] = name
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	read := map[string][]mermaidTask{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r struct {
			File, Error string
			OK          bool
			Tasks       []mermaidTask
		}
		if jerr := json.Unmarshal(sc.Bytes(), &r); jerr != nil {
			t.Fatalf("check.mjs printed %q: %v", sc.Text(), jerr)
		}
		if !r.OK {
			t.Errorf("Mermaid rejects the %s diagram: %s\n%s", names[r.File], r.Error, diagrams[names[r.File]])
		}
		read[names[r.File]] = r.Tasks
	}
	if err != nil && !t.Failed() {
		t.Fatalf("node check.mjs: %v\n%s%s", err, out, stderr.String())
	}
	if len(read) != len(diagrams) && !t.Failed() {
		t.Fatalf("check.mjs answered for %d of %d diagrams:\n%s%s", len(read), len(diagrams), out, stderr.String())
	}
	return read
}

// mermaidTask is a gantt task as Mermaid read it.
type mermaidTask struct {
	Name, Section string
	Start, End    time.Time
	Milestone     bool
	Crit          bool
}

// stoppedTimelineDeploy deploys web:2 whose tasks run out of memory, with
// a circuit breaker that does not roll back.
func stoppedTimelineDeploy(t *testing.T) (*deployEnv, *pipeline.DeployResult) {
	e := newDeployEnv(t, map[string]string{"CB_ROLLBACK": "false"})
	e.srv.SetBehavior("registry.example.com/web:v2", ecssim.ExitsWith(137, "OutOfMemoryError: Container killed due to memory usage", 5*time.Second))
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil)})
	if !errors.Is(err, pipeline.ErrDeploymentFailed) {
		t.Fatalf("Deploy: %v, want ErrDeploymentFailed", err)
	}
	return e, res
}

func TestTimelineMarkdownFailedWithoutRollback(t *testing.T) {
	e, res := stoppedTimelineDeploy(t)
	sd, _ := e.records(res)
	block, lines := mermaidBlock(t, res.Markdown())
	t.Logf("\n%s", block)
	ms := milestones(t, lines)
	if _, m := milestone(t, ms, "First new task failed - Essential container in task exited (app exit 137 OutOfMemoryError∶ Container killed"); !m.crit {
		t.Errorf("failure not crit: %+v", m)
	}
	if at, m := milestone(t, ms, "Stopped - STOPPED"); !m.crit || !sameSecond(at, aws.ToTime(sd.FinishedAt)) {
		t.Errorf("end %+v, service deployment finished %s", m, aws.ToTime(sd.FinishedAt))
	}
	if slices.ContainsFunc(lines, func(l ganttLine) bool { return strings.HasPrefix(l.section, "Rollback") }) {
		t.Error("a rollback section without a rollback")
	}
}

func TestTimelineMermaidParses(t *testing.T) {
	_, healthy := healthyTimelineDeploy(t)
	_, failed := rolledBackTimelineDeploy(t)
	_, stopped := stoppedTimelineDeploy(t)
	hb, hl := mermaidBlock(t, healthy.Markdown())
	fb, fl := mermaidBlock(t, failed.Markdown())
	sb, sl := mermaidBlock(t, stopped.Markdown())
	if dir := os.Getenv("TIMELINE_MMD_DIR"); dir != "" {
		// For pipeline/testdata/timeline/render.sh: pictures of both.
		for name, b := range map[string]string{"healthy": hb, "rolled-back": fb, "stopped": sb} {
			if err := os.WriteFile(filepath.Join(dir, name+".mmd"), []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := checkMermaid(t, map[string]string{"healthy": hb, "failed": fb, "stopped": sb})
	for name, lines := range map[string][]ganttLine{"healthy": hl, "failed": fl, "stopped": sl} {
		tasks := read[name]
		if len(tasks) != len(lines) {
			t.Errorf("%s: Mermaid read %d tasks, the block has %d", name, len(tasks), len(lines))
			continue
		}
		for i, mt := range tasks {
			l := lines[i]
			if mt.Section != l.section || !mt.Start.Equal(l.start) || mt.Milestone != l.milestone || mt.Crit != l.crit {
				t.Errorf("%s: Mermaid read %+v for %+v", name, mt, l)
			}
			if !mt.Milestone && !mt.End.Equal(l.end) {
				t.Errorf("%s: Mermaid read end %s for %+v", name, mt.End, l)
			}
		}
	}
}

// TestTimelineWithoutServiceDeployment: a service deployment that cannot
// be read leaves a note, and the picture starts at the ECS deployment's
// creation; DeployOptions.NoTimeline reads nothing.
func TestTimelineWithoutServiceDeployment(t *testing.T) {
	e, res := healthyTimelineDeploy(t)
	sd, _ := e.records(res)
	if err := e.srv.InjectFault(ecssim.Fault{Kind: ecssim.FaultServerError, Operation: "DescribeServiceDeployments"}); err != nil {
		t.Fatal(err)
	}
	tl, err := pipeline.Timeline(e.ctx, e.ecs, res, pipeline.TimelineOptions{Clock: simClock{e.clock}})
	if err != nil {
		t.Fatalf("Timeline: %v", err)
	}
	e.srv.ClearFaults()
	if len(tl.Notes) != 1 || !strings.Contains(tl.Notes[0], "service deployment not read") {
		t.Errorf("notes %q", tl.Notes)
	}
	if !sameSecond(tl.StartedAt, aws.ToTime(sd.StartedAt)) || !tl.FinishedAt.IsZero() {
		t.Errorf("started %s, finished %s; the service deployment started %s", tl.StartedAt, tl.FinishedAt, aws.ToTime(sd.StartedAt))
	}
	_, lines := mermaidBlock(t, "```mermaid\n"+tl.Mermaid()+"```\n")
	milestone(t, milestones(t, lines), "End not recorded - SUCCEEDED")

	e.cfg = loadDeployConfig(t, nil, map[string]string{"IMAGE": "registry.example.com/web:v3"})
	e.srv.ResetRequests()
	res, err = pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil), NoTimeline: true})
	if err != nil {
		t.Fatal(err)
	}
	// A successful wait lists no tasks; the timeline always does.
	if res.Timeline != nil || strings.Contains(res.Markdown(), "mermaid") || len(e.calls("ListTasks")) > 0 || len(e.calls("DescribeTasks")) > 0 {
		t.Errorf("NoTimeline: timeline %v, %d ListTasks, %d DescribeTasks", res.Timeline, len(e.calls("ListTasks")), len(e.calls("DescribeTasks")))
	}
}

// TestTimelineManyTasks: a section draws at most 20 tasks and counts the
// others; the block still parses (TestTimelineMermaidParses covers the
// parser) and the calls stay few.
func TestTimelineManyTasks(t *testing.T) {
	e := newDeployEnv(t, nil)
	res, err := pipeline.Deploy(e.ctx, e.ecs, e.cfg, pipeline.DeployOptions{Wait: e.waitOpts(nil), DesiredCount: aws.Int32(30)})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	_, lines := mermaidBlock(t, res.Markdown())
	var more []string
	rows := map[string]int{}
	for _, l := range lines {
		rows[l.section]++
		if strings.HasPrefix(l.label, "and ") {
			more = append(more, l.section+": "+l.label)
		}
	}
	if !slices.Equal(more, []string{"New tasks web∶2: and 10 more tasks"}) || rows["New tasks web∶2"] != 20*2+1 {
		t.Errorf("rows %v, counted %q", rows, more)
	}
	if res.Timeline.Calls != 5 || len(res.Timeline.Tasks) != 32 {
		t.Errorf("%d calls, %d tasks", res.Timeline.Calls, len(res.Timeline.Tasks))
	}
}

// TestTimelineStages: the lifecycle stages a native deployment passed are
// milestones of the Deployment section, at the times the wait saw them,
// and rows of the summary; the picture still parses.
func TestTimelineStages(t *testing.T) {
	_, res := healthyTimelineDeploy(t)
	start := res.Timeline.StartedAt
	res.Wait.Strategy = "BLUE_GREEN"
	res.Wait.Stages = []pipeline.PassedStage{
		{Stage: "SCALE_UP", At: start.Add(2 * time.Second)},
		{Stage: "PRODUCTION_TRAFFIC_SHIFT", At: start.Add(20 * time.Second)},
		{Stage: "BAKE_TIME", At: start.Add(25 * time.Second)},
	}
	res.Timeline.Stages = res.Wait.Stages
	md := res.Markdown()
	for _, w := range []string{"| Strategy | BLUE_GREEN |", "`SCALE_UP` " + start.Add(2*time.Second).UTC().Format(time.TimeOnly) + " → `PRODUCTION_TRAFFIC_SHIFT`", "→ `BAKE_TIME`"} {
		if !strings.Contains(md, w) {
			t.Errorf("summary lacks %q:\n%s", w, md)
		}
	}
	block, lines := mermaidBlock(t, md)
	ms := milestones(t, lines)
	for _, st := range res.Wait.Stages {
		at, _ := milestone(t, ms, "Stage "+st.Stage)
		if !at.Equal(st.At.UTC().Truncate(time.Second)) {
			t.Errorf("stage %s drawn at %s, seen at %s", st.Stage, at, st.At)
		}
	}
	read := checkMermaid(t, map[string]string{"stages": block})
	if len(read["stages"]) != len(lines) {
		t.Errorf("Mermaid read %d tasks, the block has %d", len(read["stages"]), len(lines))
	}
	if strings.Contains(md, "Waited until") {
		t.Errorf("a deployment followed to its end says where the wait stopped:\n%s", md)
	}
	// A wait until ecs:BAKE_TIME stops with the deployment in progress.
	res.Wait.ServiceDeploymentStatus, res.Wait.Stage = "IN_PROGRESS", "BAKE_TIME"
	if md := res.Markdown(); !strings.Contains(md, "| Waited until | lifecycle stage `BAKE_TIME`; the deployment goes on |") {
		t.Errorf("summary of a wait until BAKE_TIME:\n%s", md)
	}
}

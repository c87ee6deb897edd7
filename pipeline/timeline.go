package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TimelineOptions configures Timeline.
type TimelineOptions struct {
	// Clock paces the retries of throttled calls and says when the
	// timeline was read (the end of a deployment still in progress); nil
	// is SystemClock.
	Clock Clock
	// RetryBudget bounds, on Clock, the pauses before retrying throttled
	// and transient errors: a pause that would end more than RetryBudget
	// after Timeline began is not taken and the error becomes a note.
	// Zero retries nothing.
	RetryBudget time.Duration
}

// maxTimelineTasks is how many tasks each section of the picture draws,
// the earliest first; the others are counted in the section's last row.
const maxTimelineTasks = 20

// maxTimelinePages bounds the ListTasks pages (of 100) Timeline reads of
// running and of stopped tasks: ECS keeps a busy service's stopped tasks
// for an hour.
const maxTimelinePages = 5

// maxTimelineEvents is how many service events the picture draws, the
// latest.
const maxTimelineEvents = 12

// timelineBudget bounds, in wall time, what Deploy spends reading the
// timeline after the deployment ended, and timelineRetryBudget its pauses
// before retries: a deploy never waits long for its picture.
const (
	timelineBudget      = 10 * time.Second
	timelineRetryBudget = 3 * time.Second
)

// DeployTimeline is what happened during one deployment, as ECS recorded
// it: the service deployment, the tasks it started and stopped, and the
// service's events.
type DeployTimeline struct {
	Cluster string
	Service string
	// DeploymentID is the ECS deployment UpdateService started.
	DeploymentID string
	// TaskDefinition is the deployed task definition (short, family:rev).
	TaskDefinition string
	// Outcome is how the deploy ended, as Deploy saw it.
	Outcome Outcome
	// Status is the service deployment's status, empty when not read.
	Status string
	// StatusReason is the service deployment's status reason.
	StatusReason string
	// StartedAt is when the deployment started (the service deployment's
	// startedAt, else its createdAt, else the ECS deployment's createdAt).
	StartedAt time.Time
	// FinishedAt is when the service deployment finished; zero if it has
	// not.
	FinishedAt time.Time
	// RollbackAt and RollbackReason are the service deployment's rollback,
	// zero when none started.
	RollbackAt     time.Time
	RollbackReason string
	// ReadAt is when the timeline was read.
	ReadAt time.Time
	// Tasks are the deployment's tasks (Role "new"), the tasks it
	// replaced that stopped or were stopping since it started, or still
	// run after a deployment that did not succeed ("old"), and tasks
	// other deployments (a rollback) started since ("rollback"), oldest
	// first.
	Tasks []TimelineTask
	// Events are the service events since the deployment started, oldest
	// first.
	Events []Event
	// Stages are the lifecycle stages the wait saw a native (blue/green,
	// linear, canary) deployment pass (WaitResult.Stages); nil for ROLLING.
	Stages []PassedStage
	// Notes say what the timeline could not show.
	Notes []string
	// Calls counts the ECS calls made.
	Calls int
}

// TimelineTask is one task of a deployment's timeline.
type TimelineTask struct {
	ID             string
	Role           string
	TaskDefinition string
	StartedBy      string
	LastStatus     string
	HealthStatus   string
	CreatedAt      time.Time
	PullStartedAt  time.Time
	StartedAt      time.Time
	StoppingAt     time.Time
	StoppedAt      time.Time
	StopCode       string
	StoppedReason  string
	// Exit is the first container that exited non-zero or with a
	// reason, as "NAME exit CODE REASON"; empty when none did.
	Exit string
}

// Timeline reads, after a deployment, what ECS recorded of it: the
// service deployment res.ServiceDeploymentArn (when set), the service's
// events, and the service's running and stopped tasks, keeping those of
// deployment res.DeploymentID and those created or stopped since it
// started. It makes one DescribeServiceDeployments, one DescribeServices,
// a ListTasks per page of running and of stopped tasks (two for up to 100
// of each, at most maxTimelinePages of each) and one DescribeTasks per 100
// tasks; throttled and transient
// errors are retried on the options' clock within its RetryBudget. What
// it cannot read becomes a note when something else could be read.
func Timeline(ctx context.Context, api TimelineAPI, res *DeployResult, opts TimelineOptions) (*DeployTimeline, error) {
	clock := cmp.Or[Clock](opts.Clock, SystemClock{})
	tl := &DeployTimeline{
		Cluster: res.Cluster, Service: res.Service, DeploymentID: res.DeploymentID,
		TaskDefinition: shortTaskDefinition(res.TaskDefinitionArn), Outcome: res.Outcome,
	}
	if res.Wait != nil {
		tl.Stages = res.Wait.Stages
	}
	giveUp := clock.Now().Add(opts.RetryBudget)
	call := func(f func() error) error {
		for n := 1; ; n++ {
			tl.Calls++
			err := f()
			if err == nil || ctx.Err() != nil || !transient(ctx, err) {
				return err
			}
			pause := errorBackoff(n)
			if clock.Now().Add(pause).After(giveUp) || clock.Sleep(ctx, pause) != nil {
				return err
			}
		}
	}

	if arn := res.ServiceDeploymentArn; arn != "" {
		var out *ecs.DescribeServiceDeploymentsOutput
		err := call(func() (err error) {
			out, err = api.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
			return err
		})
		switch {
		case err != nil:
			tl.Notes = append(tl.Notes, fmt.Sprintf("service deployment not read: %v", err))
		case len(out.ServiceDeployments) == 0:
			tl.Notes = append(tl.Notes, "service deployment not found")
		default:
			sd := out.ServiceDeployments[0]
			tl.Status, tl.StatusReason = string(sd.Status), aws.ToString(sd.StatusReason)
			tl.StartedAt = firstTime(sd.StartedAt, sd.CreatedAt)
			tl.FinishedAt = aws.ToTime(sd.FinishedAt)
			if rb := sd.Rollback; rb != nil {
				tl.RollbackAt, tl.RollbackReason = aws.ToTime(rb.StartedAt), aws.ToString(rb.Reason)
			}
		}
	}

	var svc *types.Service
	err := call(func() (err error) {
		svc, err = describeService(ctx, api, res.Cluster, res.Service)
		return err
	})
	if err != nil {
		tl.Notes = append(tl.Notes, fmt.Sprintf("service not read: %v", err))
	} else if tl.StartedAt.IsZero() {
		if d := findDeployment(svc, res.DeploymentID); d != nil {
			tl.StartedAt = aws.ToTime(d.CreatedAt)
		}
	}

	var arns []string
	for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		in := &ecs.ListTasksInput{Cluster: aws.String(res.Cluster), ServiceName: aws.String(res.Service), DesiredStatus: status}
		for page := 1; ; page++ {
			if page > maxTimelinePages {
				tl.Notes = append(tl.Notes, fmt.Sprintf("only the first %d %s tasks were read", (page-1)*100, strings.ToLower(string(status))))
				break
			}
			var out *ecs.ListTasksOutput
			if err := call(func() (err error) { out, err = api.ListTasks(ctx, in); return err }); err != nil {
				tl.Notes = append(tl.Notes, fmt.Sprintf("%s tasks not listed: %v", strings.ToLower(string(status)), err))
				break
			}
			arns = append(arns, out.TaskArns...)
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	var tasks []types.Task
	for batch := range slices.Chunk(arns, 100) {
		var out *ecs.DescribeTasksOutput
		if err := call(func() (err error) {
			out, err = api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(res.Cluster), Tasks: batch})
			return err
		}); err != nil {
			tl.Notes = append(tl.Notes, fmt.Sprintf("%d tasks not described: %v", len(batch), err))
			continue
		}
		tasks = append(tasks, out.Tasks...)
	}
	tl.ReadAt = clock.Now()

	if tl.StartedAt.IsZero() {
		// No record of the deployment's start: its first task's creation.
		for _, t := range tasks {
			if aws.ToString(t.StartedBy) == res.DeploymentID {
				if c := aws.ToTime(t.CreatedAt); tl.StartedAt.IsZero() || c.Before(tl.StartedAt) {
					tl.StartedAt = c
				}
			}
		}
	}
	if tl.StartedAt.IsZero() {
		err := fmt.Errorf("timeline of deployment %s: no record of when it started", res.DeploymentID)
		if len(tl.Notes) > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.Join(tl.Notes, "; "))
		}
		return tl, err
	}
	for _, t := range tasks {
		tt := timelineTask(t)
		switch {
		case tt.StartedBy == res.DeploymentID && res.DeploymentID != "":
			tt.Role = "new"
		case !tt.CreatedAt.Before(tl.StartedAt):
			tt.Role = "rollback"
		case tt.StoppedAt.IsZero() && tt.StoppingAt.IsZero():
			// An old task still running: part of the picture only when
			// the deployment did not succeed (it was not replaced).
			if res.Outcome == OutcomeSucceeded {
				continue
			}
			tt.Role = "old"
		case cmp.Or(tt.StoppingAt, tt.StoppedAt).Before(tl.StartedAt):
			continue // stopped before this deployment
		default:
			tt.Role = "old"
		}
		tl.Tasks = append(tl.Tasks, tt)
	}
	slices.SortStableFunc(tl.Tasks, func(a, b TimelineTask) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	if svc != nil {
		for _, e := range svc.Events {
			at := aws.ToTime(e.CreatedAt)
			if at.Before(tl.StartedAt.Truncate(time.Second)) {
				continue
			}
			tl.Events = append(tl.Events, Event{Time: at, Message: aws.ToString(e.Message)})
		}
		slices.Reverse(tl.Events) // ECS lists the newest first; keep the order of equal times
		slices.SortStableFunc(tl.Events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	}
	return tl, nil
}

func firstTime(ts ...*time.Time) time.Time {
	for _, t := range ts {
		if t != nil && !t.IsZero() {
			return *t
		}
	}
	return time.Time{}
}

func timelineTask(t types.Task) TimelineTask {
	arn := aws.ToString(t.TaskArn)
	exit := ""
	for _, c := range t.Containers {
		if code := c.ExitCode; (code != nil && *code != 0) || aws.ToString(c.Reason) != "" {
			exit = aws.ToString(c.Name)
			if code != nil {
				exit += fmt.Sprintf(" exit %d", *code)
			}
			if r := aws.ToString(c.Reason); r != "" {
				exit += " " + r
			}
			break
		}
	}
	return TimelineTask{
		Exit:           exit,
		ID:             arn[strings.LastIndexByte(arn, '/')+1:],
		TaskDefinition: shortTaskDefinition(aws.ToString(t.TaskDefinitionArn)),
		StartedBy:      aws.ToString(t.StartedBy),
		LastStatus:     aws.ToString(t.LastStatus),
		HealthStatus:   string(t.HealthStatus),
		CreatedAt:      aws.ToTime(t.CreatedAt),
		PullStartedAt:  aws.ToTime(t.PullStartedAt),
		StartedAt:      aws.ToTime(t.StartedAt),
		StoppingAt:     aws.ToTime(t.StoppingAt),
		StoppedAt:      aws.ToTime(t.StoppedAt),
		StopCode:       string(t.StopCode),
		StoppedReason:  aws.ToString(t.StoppedReason),
	}
}

// mermaidTime is the picture's dateFormat, in Go's and dayjs's spelling;
// times are UTC.
const (
	mermaidTime       = "2006-01-02 15:04:05"
	mermaidDateFormat = "YYYY-MM-DD HH:mm:ss"
)

// End is where the picture ends: when the service deployment finished,
// else when the timeline was read, else the latest recorded time.
func (tl *DeployTimeline) End() time.Time {
	end := cmp.Or(tl.FinishedAt, tl.ReadAt)
	for _, t := range tl.Tasks {
		for _, at := range []time.Time{t.CreatedAt, t.StartedAt, t.StoppingAt, t.StoppedAt} {
			if at.After(end) {
				end = at
			}
		}
	}
	return end
}

// Mermaid draws the timeline as a Mermaid gantt chart (without the
// ```mermaid fence): a Deployment section of milestones (UpdateService,
// the lifecycle stages of a native deployment as the wait first saw them,
// the first and last new task running, the first new task that failed,
// the rollback, the old tasks drained, the end), a section per kind of
// task with each task's starting, running and stopping bars (failures
// marked crit, their stopped reason in the label), and the service's
// events. Times are UTC, to the second.
func (tl *DeployTimeline) Mermaid() string {
	var b strings.Builder
	end := tl.End()
	fmt.Fprintf(&b, "gantt\n    title %s\n    dateFormat %s\n    axisFormat %%H:%%M:%%S\n",
		mermaidLabel(fmt.Sprintf("Deploy of %s to %s %s - %s (UTC)", tl.Service, tl.Cluster, tl.TaskDefinition, tl.Outcome), 120), mermaidDateFormat)
	section := func(name string) { fmt.Fprintf(&b, "    section %s\n", mermaidLabel(name, 60)) }
	bar := func(label, tags string, from, to time.Time) {
		if to.Before(from) {
			to = from
		}
		if tags != "" {
			tags += ", "
		}
		fmt.Fprintf(&b, "    %s :%s%s, %s\n", mermaidLabel(label, 100), tags, from.UTC().Format(mermaidTime), to.UTC().Format(mermaidTime))
	}
	milestone := func(label string, crit bool, at time.Time) {
		tags := "milestone"
		if crit {
			tags = "crit, milestone"
		}
		fmt.Fprintf(&b, "    %s :%s, %s, 0s\n", mermaidLabel(label, 120), tags, at.UTC().Format(mermaidTime))
	}

	roles := map[string][]TimelineTask{}
	for _, t := range tl.Tasks {
		roles[t.Role] = append(roles[t.Role], t)
	}
	section("Deployment")
	type mark struct {
		label string
		crit  bool
		at    time.Time
	}
	var marks []mark
	add := func(label string, crit bool, at time.Time) { marks = append(marks, mark{label, crit, at}) }
	add("UpdateService - deployment "+shortID(tl.DeploymentID)+" started", false, tl.StartedAt)
	for _, st := range tl.Stages {
		add("Stage "+st.Stage, false, st.At)
	}
	var first, last, failed *TimelineTask
	healthy, running := 0, 0
	for i := range roles["new"] {
		t := &roles["new"][i]
		if !t.StartedAt.IsZero() {
			if first == nil || t.StartedAt.Before(first.StartedAt) {
				first = t
			}
			if last == nil || !t.StartedAt.Before(last.StartedAt) {
				last = t
			}
		}
		if t.failed() && (failed == nil || t.stopAt().Before(failed.stopAt())) {
			failed = t
		}
		if t.StoppedAt.IsZero() && t.LastStatus == "RUNNING" {
			running++
			if t.HealthStatus == "HEALTHY" {
				healthy++
			}
		}
	}
	if first != nil {
		add("First new task running", false, first.StartedAt)
		add(fmt.Sprintf("Last new task running - %d running, %d HEALTHY at the end", running, healthy), false, last.StartedAt)
	}
	if failed != nil {
		add("First new task failed - "+failed.reason(), true, failed.stopAt())
	}
	if !tl.RollbackAt.IsZero() {
		add("Rollback started - "+tl.RollbackReason, true, tl.RollbackAt)
	}
	if old := roles["old"]; len(old) > 0 {
		var drained time.Time
		still := 0
		for _, t := range old {
			if t.StoppedAt.IsZero() {
				still++
			} else if t.StoppedAt.After(drained) {
				drained = t.StoppedAt
			}
		}
		if still == 0 {
			add(fmt.Sprintf("Old tasks drained - %d stopped", len(old)), false, drained)
		} else {
			add(fmt.Sprintf("%d old tasks still running", still), false, end)
		}
	}
	switch {
	case !tl.FinishedAt.IsZero():
		label := endLabel(tl.Status, tl.Outcome) + " - " + tl.Status
		if tl.StatusReason != "" {
			label += " - " + tl.StatusReason
		}
		add(label, tl.Outcome != OutcomeSucceeded, tl.FinishedAt)
	case tl.Status == "":
		add(fmt.Sprintf("End not recorded - %s", tl.Outcome), tl.Outcome != OutcomeSucceeded, end)
	default:
		add(fmt.Sprintf("Not finished when read - %s %s", tl.Outcome, tl.Status), tl.Outcome != OutcomeSucceeded, end)
	}

	slices.SortStableFunc(marks, func(a, b mark) int { return a.at.Compare(b.at) })
	for _, m := range marks {
		milestone(m.label, m.crit, m.at)
	}

	others := "Rollback tasks"
	if tl.RollbackAt.IsZero() {
		others = "Other deployments' tasks"
	}
	for _, role := range []struct{ key, name string }{{"new", "New tasks"}, {"old", "Old tasks"}, {"rollback", others}} {
		ts := roles[role.key]
		if len(ts) == 0 {
			continue
		}
		defs := []string{}
		for _, t := range ts {
			if !slices.Contains(defs, t.TaskDefinition) {
				defs = append(defs, t.TaskDefinition)
			}
		}
		section(role.name + " " + strings.Join(defs, " "))
		for i, t := range ts {
			if i == maxTimelineTasks {
				milestone(fmt.Sprintf("and %d more tasks", len(ts)-i), false, t.CreatedAt)
				break
			}
			id := shortID(t.ID)
			stop := t.stopAt()
			if stop.IsZero() {
				stop = end
			}
			if role.key != "old" || t.CreatedAt.After(tl.StartedAt) {
				upTo := t.StartedAt
				if upTo.IsZero() {
					upTo = stop
				}
				bar(id+" starting", "", t.CreatedAt, upTo)
			}
			if !t.StartedAt.IsZero() {
				from := t.StartedAt
				if role.key == "old" && from.Before(tl.StartedAt) {
					from = tl.StartedAt // drawn from the deploy's start
				}
				bar(id+" running "+t.HealthStatus, "", from, stop)
			}
			if !t.StoppingAt.IsZero() || !t.StoppedAt.IsZero() {
				to := t.StoppedAt
				if to.IsZero() {
					to = end
				}
				tags := ""
				if t.failed() {
					tags = "crit"
				}
				label := id + " stopped - " + t.reason()
				if m := scaledIn.FindStringSubmatch(t.StoppedReason); m != nil && !t.failed() {
					verb := "stopped"
					if role.key == "old" {
						verb = "drained"
					}
					label = id + " " + verb + " - scaled in by deployment " + shortID(m[1])
				}
				if !to.After(stop) {
					// Stopped at once (an exit, a failed start): a bar of
					// no length would not show.
					milestone(label, tags == "crit", stop)
					continue
				}
				bar(label, tags, stop, to)
			}
		}
	}
	if len(tl.Events) > 0 {
		section("Service events")
		evs := tl.Events
		if len(evs) > maxTimelineEvents {
			evs = evs[len(evs)-maxTimelineEvents:]
		}
		for _, e := range evs {
			msg := strings.TrimPrefix(e.Message, "(service "+tl.Service+") ")
			msg = taskInEvent.ReplaceAllString(msg, "(task $1)")
			crit := strings.Contains(msg, "failed") || strings.Contains(msg, "rolling back") || strings.Contains(msg, "unhealthy")
			milestone(msg, crit, e.Time)
		}
	}
	return b.String()
}

// endLabel names how the deployment ended.
func endLabel(status string, o Outcome) string {
	switch status {
	case "SUCCESSFUL":
		return "Completed"
	case "ROLLBACK_SUCCESSFUL":
		return "Rolled back"
	case "ROLLBACK_FAILED":
		return "Rollback failed"
	case "STOPPED":
		return "Stopped"
	}
	if o == OutcomeSucceeded {
		return "Completed"
	}
	return "Ended " + string(o)
}

// failed reports whether the task stopped on its own or failed its health
// checks, rather than being scaled in or replaced by a deployment.
func (t TimelineTask) failed() bool {
	if t.StoppingAt.IsZero() && t.StoppedAt.IsZero() {
		return false
	}
	return t.StopCode != "ServiceSchedulerInitiated" && t.StopCode != "UserInitiated" ||
		strings.Contains(t.StoppedReason, "health check")
}

// reason is why the task stopped: its stopped reason, and the container
// that exited when one did.
func (t TimelineTask) reason() string {
	if t.Exit == "" {
		return t.StoppedReason
	}
	return t.StoppedReason + " (" + t.Exit + ")"
}

// stopAt is when the task began to stop, zero if it has not.
func (t TimelineTask) stopAt() time.Time { return cmp.Or(t.StoppingAt, t.StoppedAt) }

// shortID is the first 8 characters of a task or deployment id (after an
// ecs-svc/ prefix), enough to tell them apart in a picture.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "ecs-svc/")
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// mermaidLabel makes s safe as a gantt task name, section or title: no
// line breaks, no ':' (which ends a task's name; it becomes U+2236, which
// looks the same), '#' (an entity) or ';' (a statement break; it becomes
// ','), no '%%' comments or other markup, spaces
// collapsed, at most max runes (cut with an ellipsis), never empty and
// never starting with a keyword.
func mermaidLabel(s string, max int) string {
	s = arnPrefix.ReplaceAllString(s, "") // the resource says enough
	s = targetGroup.ReplaceAllString(s, "$1")
	s = strings.Map(func(r rune) rune {
		switch r {
		case ':':
			return '∶' // U+2236 RATIO looks like a colon and ends nothing
		case ';':
			return ','
		case '#', '\n', '\r', '\t', '\v', '\f', '%', '`', '{', '}', '<', '>', '"':
			return ' '
		}
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimRight(s, " -")
	if r := []rune(s); len(r) > max {
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	if first, _, _ := strings.Cut(s, " "); s == "" || ganttKeywords[strings.ToLower(first)] {
		s = "- " + s // a line starting with a keyword is a statement
	}
	return s
}

// scaledIn is the stopped reason of a task the scheduler stopped for a
// deployment, and taskInEvent a task named in a service event, with the
// first 8 characters of its id.
var (
	scaledIn    = regexp.MustCompile(`^Scaling activity initiated by \(deployment ([^)]+)\)`)
	taskInEvent = regexp.MustCompile(`\(task ([0-9a-f]{8})[0-9a-f]{24}\)`)
)

// arnPrefix is the arn:PARTITION:SERVICE:REGION:ACCOUNT: of an ARN and
// targetGroup is a target group's resource, targetgroup/NAME/ID.
var (
	arnPrefix   = regexp.MustCompile(`arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:[0-9]*:`)
	targetGroup = regexp.MustCompile(`targetgroup/([^/ )]+)/[0-9a-f]+`)
)

// ganttKeywords start the statements of a gantt chart, case-insensitively.
var ganttKeywords = map[string]bool{
	"title": true, "section": true, "dateformat": true, "axisformat": true, "tickinterval": true,
	"excludes": true, "includes": true, "todaymarker": true, "inclusiveenddates": true, "topaxis": true,
	"weekday": true, "weekend": true, "click": true, "acctitle": true, "accdescr": true, "displaymode": true,
	"gantt": true,
}

package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// TestEcspressoCIMakefile runs, as a drop-in for the ecspresso binary, the
// command lines of ecspresso's own CI (kayac/ecspresso tests/ci/Makefile:
// its test target's order, deploy rollback refresh
// deploy-no-update-service scale down up delete, with its status,
// register, run-task, wait, tasks, revisions and render targets before the
// delete), each with the Makefile's global flags (--envfile envfile
// --ext-str DEPLOYMENT_CONTROLLER=ECS), against the simulator. Each must
// exit 0 and do what ecspresso's does. Left out: exec (an interactive
// session; TestExec* cover it), verify (the simulator has no IAM) and
// diff --assume-role-arn (the stand-in has no AssumeRole;
// pipeline's TestAssumeRoleARN covers it against moto's STS).
func TestEcspressoCIMakefile(t *testing.T) {
	project(t, map[string]string{
		"envfile":          "CB_ROLLBACK=true\n",
		"envfile.override": "CB_ROLLBACK=false\n",
		"overrides.json":   `{"containerOverrides":[{"name":"app","command":["nginx","-V"]}]}`,
		// The Makefile waits until running with nginx -V, which exits at
		// once; a server shows the difference.
		"overrides-serve.json": `{"containerOverrides":[{"name":"app","command":["nginx","-g","daemon off;"]}]}`,
	})
	s := newSimulator(t, false,
		ecssim.WithBehavior(ecssim.CommandKey("nginx", "-V"), ecssim.ExitsWithLogs(0, "nginx version: nginx/1.27")),
		ecssim.WithBehavior(ecssim.CommandKey("nginx", "-g", "daemon off;"), ecssim.ExitsWith(0, "", time.Hour)))
	ecspresso := func(args ...string) result {
		t.Helper()
		global := []string{"--envfile", "envfile", "--ext-str", "DEPLOYMENT_CONTROLLER=ECS", "--time-scale=600"}
		r := cli(t, s.env, append(global, args...)...)
		wantCode(t, r, 0)
		return r
	}
	api := s.ecs(t)
	service := func() types.Service {
		t.Helper()
		out, err := api.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
		if err != nil || len(out.Services) != 1 {
			t.Fatalf("DescribeServices: %v", err)
		}
		return out.Services[0]
	}
	deployments := func() int { return len(s.mutatingOps("UpdateService")) }

	ecspresso("create")

	// status, register
	if r := ecspresso("status", "--events", "10"); !strings.Contains(r.stdout, "web:1") {
		t.Errorf("status:\n%s", r.stdout)
	}
	ecspresso("register", "--dry-run")
	reg := ecspresso("register", "--output") // web:2
	var registered map[string]any
	if err := json.Unmarshal([]byte(reg.stdout), &registered); err != nil || registered["revision"] != float64(2) || registered["status"] != "ACTIVE" {
		t.Errorf("register --output (%v):\n%s", err, reg.stdout)
	}

	// deploy: the dry run changes nothing; the deploy runs web:3, the
	// rendered file registered again (ecspresso registers on every deploy).
	ecspresso("deploy", "--dry-run")
	if n := deployments(); n != 0 {
		t.Fatalf("deploy --dry-run updated the service (%d UpdateService calls)", n)
	}
	ecspresso("deploy")
	if td := aws.ToString(service().TaskDefinition); !strings.HasSuffix(td, "/web:3") {
		t.Fatalf("after deploy the service runs %s, want web:3", td)
	}

	// rollback --deregister-task-definition: back to web:2, web:3 gone.
	ecspresso("rollback", "--deregister-task-definition", "--dry-run")
	ecspresso("rollback", "--deregister-task-definition")
	if td := aws.ToString(service().TaskDefinition); !strings.HasSuffix(td, "/web:2") {
		t.Fatalf("after rollback the service runs %s, want web:2", td)
	}
	if st := taskDefinitionStatus(t, api, "web:3"); st != types.TaskDefinitionStatusInactive {
		t.Errorf("web:3 is %s after rollback --deregister-task-definition, want INACTIVE", st)
	}

	// refresh: one new deployment of the same revision.
	before := deployments()
	ecspresso("refresh", "--dry-run")
	if deployments() != before {
		t.Fatal("refresh --dry-run updated the service")
	}
	ecspresso("refresh")
	ups := s.mutatingOps("UpdateService")
	if len(ups) != before+1 || !strings.Contains(ups[len(ups)-1], `"forceNewDeployment":true`) {
		t.Fatalf("refresh: UpdateService calls %d -> %d, last %s; want one forcing a new deployment", before, len(ups), ups[len(ups)-1])
	}
	if td := aws.ToString(service().TaskDefinition); !strings.HasSuffix(td, "/web:2") {
		t.Errorf("refresh changed the revision to %s", td)
	}

	// deploy --no-update-service: registers web:4, forces a deployment.
	ecspresso("deploy", "--no-update-service", "--dry-run")
	ecspresso("deploy", "--no-update-service", "--force-new-deployment")
	if td := aws.ToString(service().TaskDefinition); !strings.HasSuffix(td, "/web:4") {
		t.Errorf("deploy --no-update-service runs %s, want web:4", td)
	}

	// scale, down, up.
	for _, n := range []int32{2, 0, 1} {
		ecspresso("scale", "--tasks", itoa(n), "--dry-run")
		ecspresso("scale", "--tasks", itoa(n))
		if svc := service(); svc.DesiredCount != n || svc.RunningCount != n {
			t.Fatalf("scale --tasks %d: desired %d, running %d", n, svc.DesiredCount, svc.RunningCount)
		}
	}

	// run-task.
	override := `{"containerOverrides":[{"name":"app", "command":["nginx", "-V"]}]}`
	if r := ecspresso("--envfile", "envfile.override", "run", "--overrides", override, "--dry-run"); !strings.Contains(r.stdout, `"nginx"`) {
		t.Errorf("run --dry-run printed:\n%s", r.stdout)
	}
	runs := len(s.mutatingOps("RunTask"))
	if runs != 0 {
		t.Fatalf("run --dry-run called RunTask")
	}
	token := "d8a0b1f2-7c3e-4a5b-9e6f-0123456789ab"
	first := ecspresso("--envfile", "envfile.override", "run", "--overrides", override, "--client-token", token)
	again := ecspresso("--envfile", "envfile.override", "run", "--overrides", override, "--client-token", token)
	if !strings.Contains(first.stdout, "app: exit code 0") || taskOf(first.stdout) == "" || taskOf(first.stdout) != taskOf(again.stdout) {
		t.Errorf("two runs with one --client-token should be one task:\n%s\n%s", first.stdout, again.stdout)
	}
	ecspresso("--envfile", "envfile.override", "run", "--overrides-file=overrides.json", "--dry-run")
	running := ecspresso("--envfile", "envfile.override", "run", "--overrides-file=overrides-serve.json", "--wait-until=running")
	if id := taskOf(running.stdout); id == "" || !strings.Contains(running.stdout, "RUNNING") {
		t.Errorf("run --wait-until=running printed:\n%s", running.stdout)
	} else if st := taskStatus(t, api, id); st != "RUNNING" {
		t.Errorf("run --wait-until=running returned with the task %s", st)
	}
	if r := ecspresso("--envfile", "envfile.override", "run", "--overrides-file=overrides.json", "--wait-until=stopped"); !strings.Contains(r.stdout, "app: exit code 0") {
		t.Errorf("run --wait-until=stopped printed:\n%s", r.stdout)
	}

	// run --revision N runs that revision, registering nothing.
	if r := ecspresso("run", "--skip-task-definition", "--revision", "2", "--overrides-file=overrides.json"); !strings.Contains(r.stdout, "(web:2)") {
		t.Errorf("run --skip-task-definition --revision 2 printed:\n%s", r.stdout)
	}

	ecspresso("wait")

	// tasks, in each of ecspresso's outputs.
	if r := ecspresso("tasks"); !strings.Contains(r.stdout, "web:4") {
		t.Errorf("tasks:\n%s", r.stdout)
	}
	tsv := ecspresso("tasks", "--output", "tsv")
	lines := strings.Split(strings.TrimSpace(tsv.stdout), "\n")
	if lines[0] != "ID\tTaskDefinition\tInstance\tLastStatus\tDesiredStatus\tCreatedAt\tGroup\tType" || len(lines) < 2 ||
		!slices.ContainsFunc(lines[1:], func(l string) bool { return strings.Contains(l, "\tweb:4\t") && strings.Contains(l, "\tservice:web\t") }) {
		t.Errorf("tasks --output tsv:\n%s", tsv.stdout)
	}
	// The one-off task run --wait-until=running left running is listed
	// too, as ecspresso lists the family's tasks.
	if oneOff := taskOf(running.stdout); !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, oneOff+"\t") && strings.Contains(l, "\tfamily:web\t")
	}) {
		t.Errorf("tasks --output tsv does not list the one-off task %s:\n%s", oneOff, tsv.stdout)
	}
	js := ecspresso("tasks", "--output", "json")
	dec := json.NewDecoder(strings.NewReader(js.stdout))
	var task map[string]any
	if err := dec.Decode(&task); err != nil || task["taskArn"] == nil || task["lastStatus"] == nil {
		t.Errorf("tasks --output json is not the ECS API's task (%v):\n%s", err, js.stdout)
	}
	if r := ecspresso("tasks", "--find"); !strings.Contains(r.stderr, "--find is not supported") {
		t.Errorf("tasks --find warned nothing:\n%s", r.stderr)
	}

	// revisions: web:3 was deregistered; web:4 is the service's.
	revs := ecspresso("revisions")
	if !regexpMatch(`(?m)^web:4 +PRIMARY deployment$`, revs.stdout) || !regexpMatch(`(?m)^web:2 *$`, revs.stdout) || strings.Contains(revs.stdout, "web:3") {
		t.Errorf("revisions:\n%s", revs.stdout)
	}
	for which, rev := range map[string]float64{"current": 4, "latest": 4, "2": 2} {
		r := ecspresso("revisions", "--revision="+which)
		var td map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &td); err != nil || td["family"] != "web" || td["revision"] != rev {
			t.Errorf("revisions --revision=%s: want web:%v (%v)\n%s", which, rev, err, r.stdout)
		}
	}

	// render.
	if r := ecspresso("render", "config"); !strings.Contains(r.stdout, "cluster: prod") {
		t.Errorf("render config:\n%s", r.stdout)
	}
	ecspresso("render", "servicedef")
	ecspresso("render", "taskdef")

	// delete: the dry run leaves it; --force --terminate deletes it.
	ecspresso("delete", "--dry-run")
	if st := aws.ToString(service().Status); st != "ACTIVE" {
		t.Fatalf("delete --dry-run: service %s", st)
	}
	if r := ecspresso("delete", "--force", "--terminate"); !strings.Contains(r.stdout, "deleted service \"web\"") {
		t.Errorf("delete printed %q", r.stdout)
	}
	if st := aws.ToString(service().Status); st == "ACTIVE" {
		t.Errorf("delete --force --terminate: the service is still %s", st)
	}
}

// mutatingOps returns the request bodies of the simulator's logged calls
// of one operation, oldest first.
func (s *simulator) mutatingOps(op string) []string {
	var out []string
	for _, r := range s.sim.Requests() {
		if r.Operation == op {
			out = append(out, string(r.Params))
		}
	}
	return out
}

// taskDefinitionStatus is a revision's status, ACTIVE or INACTIVE.
func taskDefinitionStatus(t *testing.T, api *ecs.Client, name string) types.TaskDefinitionStatus {
	t.Helper()
	out, err := api.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return out.TaskDefinition.Status
}

// taskStatus is a task's last status.
func taskStatus(t *testing.T, api *ecs.Client, id string) string {
	t.Helper()
	out, err := api.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{id}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v", id, err)
	}
	return aws.ToString(out.Tasks[0].LastStatus)
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// taskOf is the task id in run's output ("task ID" of its trace or
// "started task ID").
func taskOf(out string) string {
	m := regexp.MustCompile(`task ([0-9a-f]{32})`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestConfirmNeedsTerminalOrForce: delete and deregister ask at a
// terminal, as ecspresso does; with stdin piped (CI) they refuse without
// --force, naming it, and change nothing.
func TestConfirmNeedsTerminalOrForce(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "create", "--tasks", "0"), 0)
	wantCode(t, cli(t, s.env, "register"), 0) // web:2, not in use
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("web\ny\n") // the answers a terminal would give
	w.Close()
	old := confirmInput
	confirmInput = r
	t.Cleanup(func() { confirmInput = old; r.Close() })

	before := len(s.mutating())
	for _, args := range [][]string{{"delete"}, {"deregister", "--revision", "2"}} {
		res := cli(t, s.env, args...)
		wantCode(t, res, 1)
		if !strings.Contains(res.stderr, "give --force") {
			t.Errorf("%s without a terminal: %s", args[0], res.stderr)
		}
	}
	if n := len(s.mutating()); n != before {
		t.Fatalf("refused commands changed something: %v", s.mutating()[before:])
	}
	r2 := cli(t, s.env, "deregister", "--revision", "2", "--force")
	wantCode(t, r2, 0)
	if !strings.Contains(r2.stdout, "web:2 deregistered") {
		t.Errorf("deregister --force printed %q", r2.stdout)
	}
	wantCode(t, cli(t, s.env, "delete", "--force"), 0)
}

// TestTasksStop: tasks --stop --id stops one of the service's tasks,
// asking at a terminal unless --force (ecspresso's tasks --stop).
func TestTasksStop(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "create", "--tasks", "1"), 0)
	list := cli(t, s.env, "tasks", "--output", "tsv")
	wantCode(t, list, 0)
	lines := strings.Split(strings.TrimSpace(list.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("tasks --output tsv:\n%s", list.stdout)
	}
	id := strings.Split(lines[1], "\t")[0]

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	old := confirmInput
	confirmInput = r
	t.Cleanup(func() { confirmInput = old; r.Close() })
	res := cli(t, s.env, "tasks", "--stop", "--id", id)
	wantCode(t, res, 1)
	if !strings.Contains(res.stderr, "give --force") || slices.ContainsFunc(s.mutating(), func(r ecssim.Request) bool { return r.Operation == "StopTask" }) {
		t.Fatalf("tasks --stop without a terminal: %s", res.stderr)
	}
	res = cli(t, s.env, "tasks", "--stop", "--id", id, "--force")
	wantCode(t, res, 0)
	if !strings.Contains(res.stdout, "stopping task "+id) || taskStatus(t, s.ecs(t), id) == "RUNNING" && desiredStatus(t, s.ecs(t), id) != "STOPPED" {
		t.Fatalf("tasks --stop --force printed %q", res.stdout)
	}
	if res := cli(t, s.env, "tasks", "--stop", "--id", id, "--force"); res.code != 1 || !strings.Contains(res.stderr, "already") {
		t.Errorf("stopping it again: exit %d, %s", res.code, res.stderr)
	}
	if res := cli(t, s.env, "tasks", "--stop", "--force"); res.code != 1 || !strings.Contains(res.stderr, "--id") {
		t.Errorf("--stop without --id: exit %d, %s", res.code, res.stderr)
	}
}

// desiredStatus is a task's desired status.
func desiredStatus(t *testing.T, api *ecs.Client, id string) string {
	t.Helper()
	out, err := api.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: []string{id}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("DescribeTasks %s: %v", id, err)
	}
	return aws.ToString(out.Tasks[0].DesiredStatus)
}

// TestInitFromRunningService: ecspresso's quick start, `init --region
// --cluster --service`, writes files that describe the running service
// exactly: diff says no changes and a deploy of them changes nothing but
// a new revision. Existing files are kept without --force-overwrite.
func TestInitFromRunningService(t *testing.T) {
	project(t, nil)
	s := newSimulator(t, false)
	wantCode(t, cli(t, s.env, "create", "--image", "registry.example.com/web:v1", "--tasks", "2"), 0)

	t.Chdir(t.TempDir())
	r := cli(t, s.env, "init", "--region", "us-east-1", "--cluster", "prod", "--service", "web")
	wantCode(t, r, 0)
	for _, f := range []string{"ecspresso.yml", "ecs-service-def.json", "ecs-task-def.json"} {
		if !strings.Contains(r.stdout, "saved "+f) {
			t.Errorf("init did not save %s:\n%s", f, r.stdout)
		}
	}
	if d := cli(t, s.env, "diff"); d.code != 0 || d.stdout != "no changes\n" {
		t.Fatalf("diff of init's files: exit %d\n%s%s", d.code, d.stdout, d.stderr)
	}
	cfg := cli(t, s.env, "render", "config")
	wantCode(t, cfg, 0)
	for _, want := range []string{"cluster: prod", "service: web", "task_definition: ecs-task-def.json", "service_definition: ecs-service-def.json"} {
		if !strings.Contains(cfg.stdout, want) {
			t.Errorf("render config lacks %q:\n%s", want, cfg.stdout)
		}
	}

	os.WriteFile("ecs-task-def.json", []byte("{}"), 0o644)
	r = cli(t, s.env, "init", "--region", "us-east-1", "--cluster", "prod", "--service", "web")
	wantCode(t, r, 1)
	if !strings.Contains(r.stderr, "--force-overwrite") {
		t.Errorf("init over existing files: %s", r.stderr)
	}
	if b, _ := os.ReadFile("ecs-task-def.json"); string(b) != "{}" {
		t.Error("a refused init wrote a file")
	}
	wantCode(t, cli(t, s.env, "init", "--region", "us-east-1", "--cluster", "prod", "--service", "web", "--force-overwrite"), 0)

	// --jsonnet: .jsonnet files, and the config names them.
	t.Chdir(t.TempDir())
	wantCode(t, cli(t, s.env, "--config", "ecspresso.yml", "init", "--region", "us-east-1", "--cluster", "prod", "--service", "web", "--jsonnet"), 0)
	if d := cli(t, s.env, "--config", "ecspresso.jsonnet", "diff"); d.code != 0 || d.stdout != "no changes\n" {
		t.Fatalf("diff of init --jsonnet's files: exit %d\n%s%s", d.code, d.stdout, d.stderr)
	}
}

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// ScaleCmd is ecspresso's scale (kayac/ecspresso scale.go, ScaleOption:
// --dry-run, --tasks, --no-wait; its auto scaling flags are warned
// about): a deploy that registers nothing, leaves the service definition
// alone and sets the desired count.
type ScaleCmd struct {
	DryRun bool  `help:"Show what would be updated, changing nothing."`
	Tasks  int32 `default:"-1" help:"The desired count of tasks."`
	Wait   bool  `default:"true" negatable:"" help:"Wait for the service to reach it (--no-wait returns once the service is updated)."`

	SuspendAutoScaling bool `hidden:"" unsupported:"warn"`
	ResumeAutoScaling  bool `hidden:"" unsupported:"warn"`
}

func (s *ScaleCmd) Run(a *app) error {
	if s.Tasks < 0 {
		return fmt.Errorf("scale: give --tasks N, the desired count")
	}
	// The count changes in the deployment that ended: wait until it runs
	// the new count.
	d := &DeployCmd{DryRun: s.DryRun, Tasks: s.Tasks, SkipTaskDefinition: true, Wait: s.Wait, WaitUntil: pipeline.UntilStable}
	return d.Run(a)
}

// RefreshCmd is ecspresso's refresh (kayac/ecspresso refresh.go,
// RefreshOption: --dry-run, --no-wait): a new deployment of the task
// definition the service runs, replacing every task, with nothing
// registered and the service definition left alone.
type RefreshCmd struct {
	DryRun bool `help:"Show what would be updated, changing nothing."`
	Wait   bool `default:"true" negatable:"" help:"Wait for the new deployment to complete (--no-wait returns once it started)."`
}

func (r *RefreshCmd) Run(a *app) error {
	d := &DeployCmd{DryRun: r.DryRun, Tasks: -1, SkipTaskDefinition: true, ForceNewDeployment: true, Wait: r.Wait, WaitUntil: "deployed"}
	return d.Run(a)
}

// confirmInput is where confirmations are read from; tests replace it.
var confirmInput = os.Stdin

// ask prints question to stderr and reads one line from the terminal. It
// is false when stdin is not a terminal: nothing unattended is taken as
// consent.
func (a *app) ask(question string) (string, bool) {
	if confirmInput == nil || !term.IsTerminal(int(confirmInput.Fd())) {
		return "", false
	}
	fmt.Fprint(a.stderr, question+" ")
	line, err := bufio.NewReader(confirmInput).ReadString('\n')
	if err != nil && line == "" {
		return "", false
	}
	return strings.TrimSpace(line), true
}

// confirmation asks at the terminal before a change the user did not
// --force.
type confirmation struct {
	a     *app
	asked bool // a terminal answered
}

// answer asks question and reads the answer; false without a terminal.
func (c *confirmation) answer(question string) (string, bool) {
	answer, ok := c.a.ask(question)
	c.asked = c.asked || ok
	return answer, ok
}

// yes asks a yes-or-no question; y or yes consents.
func (c *confirmation) yes(question string) bool {
	answer, ok := c.answer(question + " [y/N]")
	return ok && (strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes"))
}

// err is the command's error: a change declined for want of a terminal
// names --force.
func (c *confirmation) err(err error, what string) error {
	if errors.Is(err, pipeline.ErrAborted) && !c.asked {
		return fmt.Errorf("%s: confirm at a terminal, or give --force", what)
	}
	return err
}

// DeleteCmd is ecspresso's delete (kayac/ecspresso delete.go,
// DeleteOption: --dry-run, --force, --terminate). Without --force the
// service's name is asked for at the terminal, as ecspresso asks.
type DeleteCmd struct {
	DryRun    bool `help:"Read the service and say what would be deleted, changing nothing."`
	Force     bool `help:"Delete without asking for the service's name."`
	Terminate bool `help:"Stop the service's tasks with it; without it a service scaled above 0 is refused."`
}

func (d *DeleteCmd) Run(a *app) error {
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	opts := pipeline.DeleteOptions{Terminate: d.Terminate, DryRun: d.DryRun}
	confirm := &confirmation{a: a}
	if !d.Force {
		opts.Confirm = func(service string) bool {
			answer, ok := confirm.answer("Enter the service name to DELETE:")
			return ok && answer == service
		}
	}
	res, err := pipeline.DeleteService(a.ctx, c.clients.ECS, c.cfg, opts)
	if err != nil {
		return confirm.err(err, fmt.Sprintf("delete service %q", c.cfg.Service))
	}
	a.print(res.String(d.DryRun))
	return nil
}

// RevisionsCmd is ecspresso's revisions (kayac/ecspresso revisions.go,
// RevisionsOption: --revision N|current|latest prints that revision as
// JSON; otherwise the family's revisions and what uses each, --output
// table, json or tsv).
type RevisionsCmd struct {
	Revision string `help:"Print this revision as JSON: a number, current (the service's) or latest." placeholder:"N"`
	Output   string `default:"table" enum:"table,json,tsv" help:"How to list the revisions: table, json or tsv."`
}

func (r *RevisionsCmd) Run(a *app) error {
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	if r.Revision != "" {
		b, err := pipeline.DescribeRevision(a.ctx, c.clients.ECS, c.cfg, r.Revision)
		if err != nil {
			return err
		}
		a.print(string(b) + "\n")
		return nil
	}
	revs, err := pipeline.Revisions(a.ctx, c.clients.ECS, c.cfg)
	if err != nil {
		return err
	}
	var b strings.Builder
	switch r.Output {
	case "json":
		// One object per line, as ecspresso prints them.
		for _, rev := range revs {
			line, _ := json.Marshal(rev)
			b.Write(append(line, '\n'))
		}
	case "tsv":
		for _, rev := range revs {
			fmt.Fprintf(&b, "%s\t%s\n", rev.Name, rev.InUse)
		}
	default:
		w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tIN USE")
		for _, rev := range revs {
			fmt.Fprintf(w, "%s\t%s\n", rev.Name, rev.InUse)
		}
		w.Flush()
	}
	a.print(b.String())
	return nil
}

// DeregisterCmd is ecspresso's deregister (kayac/ecspresso deregister.go,
// DeregisterOption: --dry-run, --keeps, --revision N|latest, --force,
// --delete). A revision in use (a task not stopped, a deployment) is never
// deregistered. Without --force it asks at the terminal first.
type DeregisterCmd struct {
	DryRun   bool   `help:"Say what would be deregistered, changing nothing."`
	Keeps    int    `help:"Keep this many of the newest revisions not in use; deregister the older ones."`
	Revision string `help:"Deregister this revision: a number or latest." placeholder:"N"`
	Force    bool   `help:"Deregister without asking."`
	Delete   bool   `help:"Delete the deregistered revisions too (DeleteTaskDefinitions)."`
}

func (d *DeregisterCmd) Run(a *app) error {
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	opts := pipeline.DeregisterOptions{Revision: d.Revision, Keeps: d.Keeps, Delete: d.Delete, DryRun: d.DryRun}
	confirm := &confirmation{a: a}
	if !d.Force {
		opts.Confirm = confirm.yes
	}
	res, err := pipeline.Deregister(a.ctx, c.clients.ECS, c.cfg, opts)
	if res != nil {
		a.print(res.String(d.DryRun))
	}
	return confirm.err(err, "deregister")
}

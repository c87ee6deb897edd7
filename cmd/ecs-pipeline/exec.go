package main

import (
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// ExecCmd is ecspresso's `exec` (kayac/ecspresso exec.go; ExecOption:
// --id, --command, --container, --port-forward, --local-port, --port,
// --host), without the session-manager-plugin: pipeline.Exec speaks the
// Session Manager data channel itself. Port forwarding is refused.
//
// When stdin is a terminal the session is interactive: the terminal is
// put in raw mode (Ctrl-C and the like go to the remote command), its
// size follows the local one, and it is restored at the end. Otherwise
// stdin is piped to the command (its end sent as Ctrl-D, so that the
// default `sh` reads a script and ends), the output is printed, and
// ecs-pipeline exits with the command's exit code. A non-zero remote exit
// is not a failure of ecs-pipeline: it writes no --error-file.
type ExecCmd struct {
	ID        string `name:"id" help:"The task id or ARN; the newest running task of the service when empty." placeholder:"TASK"`
	Command   string `default:"sh" help:"The command to run in the container."`
	Container string `help:"The container; the task's only container, or its only essential one, when empty." placeholder:"NAME"`

	PortForward bool   `hidden:"" unsupported:"fail" why:"port forwarding needs the session-manager-plugin; use aws ssm start-session."`
	LocalPort   int    `hidden:"" unsupported:"warn"`
	Port        int    `hidden:"" unsupported:"warn"`
	Host        string `hidden:"" unsupported:"warn"`
}

// execStdin is the terminal or input exec reads; tests replace it.
var execStdin = os.Stdin

func (e *ExecCmd) Run(a *app) error {
	c, _, err := a.prepare("")
	if err != nil {
		return err
	}
	api, ok := c.clients.ECS.(pipeline.ExecAPI)
	if !ok {
		return fmt.Errorf("exec: the ECS client cannot call ExecuteCommand")
	}
	opts := pipeline.ExecOptions{TaskID: e.ID, Container: e.Container, Command: e.Command, Stdout: a.stdout, Stderr: a.stderr}
	in := execStdin
	if in != nil {
		opts.Stdin = in // piped input, its end sent as Ctrl-D
	}
	if in != nil && term.IsTerminal(int(in.Fd())) {
		fd := int(in.Fd())
		state, err := term.MakeRaw(fd)
		if err != nil {
			return fmt.Errorf("exec: putting the terminal in raw mode: %w", err)
		}
		// In raw mode Ctrl-C is a keystroke for the remote command, not
		// an interrupt.
		defer term.Restore(fd, state)
		opts.Interactive, opts.Stdin = true, in
		opts.TerminalSize = func() (int, int, bool) {
			w, h, err := term.GetSize(fd)
			return w, h, err == nil
		}
	}
	code, err := pipeline.Exec(a.ctx, api, c.cfg, opts)
	if err != nil {
		return err
	}
	if code != 0 {
		panic(exitCode(code)) // run returns it, with no "Error:" and no --error-file
	}
	return nil
}

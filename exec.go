package main

import (
	"context"
	"fmt"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
)

// Exec runs a command in a running task of the service with ECS Exec, as
// `ecspresso exec` does, with no aws CLI or session-manager-plugin to
// install: the engine speaks the Session Manager data channel itself. The
// task is the service's newest running one unless --task names one; the
// container the task's only (or only essential) one unless --container.
// With --terminal the session opens in your terminal (dagger call on a
// TTY); without, the command's output is returned, and a non-zero exit
// fails the call naming the exit code. The service needs
// enableExecuteCommand, and its task role the ssmmessages channel actions.
// +cache="never"
func (s *EcsService) Exec(
	ctx context.Context,
	// The task id or ARN; the service's newest running task when empty.
	// +optional
	task string,
	// The container; the task's only (or only essential) container when
	// empty.
	// +optional
	container string,
	// The command to run, as one string (`rails console`, `cat
	// /proc/1/environ`).
	// +default="sh"
	command string,
	// Open an interactive session in your terminal (Dagger's own
	// --interactive flag is something else: it opens a shell on failure).
	// +optional
	terminal bool,
) (string, error) {
	ctr, args, err := s.engine(ctx)
	if err != nil {
		return "", err
	}
	args = append(args, "exec", "--command="+command)
	if task != "" {
		args = append(args, "--id="+task)
	}
	if container != "" {
		args = append(args, "--container="+container)
	}
	if terminal {
		_, err := ctr.Terminal(dagger.ContainerTerminalOpts{Cmd: append([]string{engineCLI}, args...)}).Sync(ctx)
		return "", err
	}
	r, code, err := runCode(ctx, ctr, args...)
	if err != nil {
		return "", err
	}
	if code == 0 {
		return r.Stdout, nil
	}
	if !isExitOnly(ctx, r) {
		return "", r.failure(ctx, "exec", code)
	}
	return "", fmt.Errorf("%s\n%q exited with %d", tail(r.Stdout, 40), command, code)
}

// isExitOnly tells a remote command's non-zero exit (ecs-pipeline exits
// with its code and writes no error file) from a failure of the session.
func isExitOnly(ctx context.Context, r *ran) bool {
	_, err := r.ctr.File(engineOut + "/error").Contents(ctx)
	return err != nil
}

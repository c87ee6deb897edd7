package main

import "context"

// Diff shows what a deploy would change: unified diffs from the running
// task definition and service to the local files, after normalising both
// sides. Changes nothing.
// +cache="never"
func (s *EcsService) Diff(ctx context.Context) (string, error) {
	return s.output(ctx, "diff")
}

package main

import (
	"context"
	"strconv"
)

// Status of the service: its task definition and counts, its deployments
// and its latest events.
// +cache="never"
func (s *EcsService) Status(
	ctx context.Context,
	// How many of the latest events to show.
	// +default=10
	events int,
) (string, error) {
	return s.output(ctx, "status", "--events="+strconv.Itoa(events))
}

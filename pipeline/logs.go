package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// LogFilterer is the part of the CloudWatch Logs client that reads a log
// group's streams by name prefix, as Logs does.
type LogFilterer interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// LogsOptions configures Logs.
type LogsOptions struct {
	// Since is how far back the window starts; zero means 10 minutes.
	Since time.Duration
	// Follow keeps reading new lines, every logsPoll, until Timeout.
	Follow bool
	// Timeout ends a follow; zero means 10 minutes. Reaching it is not an
	// error.
	Timeout time.Duration
	// Out receives the lines, "TIME CONTAINER/TASK MESSAGE", oldest first;
	// nil discards them (the count is still returned).
	Out io.Writer
	// Clock measures the window and the timeout and paces polls and
	// retries; nil is SystemClock.
	Clock Clock
}

// Defaults of LogsOptions, and the pause between the reads of a follow.
const (
	defaultLogsSince   = 10 * time.Minute
	defaultLogsTimeout = 10 * time.Minute
	logsPoll           = 2 * time.Second
)

// Logs writes the log lines of the config's service's containers from
// opts.Since ago until now, then with opts.Follow the new ones as they come
// until opts.Timeout. It reads every container that logs with awslogs in
// the task definitions of the service's deployments, with FilterLogEvents
// on the streams PREFIX/CONTAINER/ of its group. It returns how many lines
// it wrote.
func Logs(ctx context.Context, api LogsAPI, logs LogFilterer, cfg *Config, opts LogsOptions) (int, error) {
	clock := cmp.Or[Clock](opts.Clock, SystemClock{})
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
	if err != nil {
		return 0, fmt.Errorf("reading logs: %w", err)
	}
	arns := []string{aws.ToString(svc.TaskDefinition)}
	for _, d := range svc.Deployments {
		arns = append(arns, aws.ToString(d.TaskDefinition))
	}
	var sources []logSource
	for _, arn := range slices.Compact(slices.Sorted(slices.Values(arns))) {
		if arn == "" {
			continue
		}
		td, err := retrying(ctx, clock, transientIn(ctx), func() (*ecs.DescribeTaskDefinitionOutput, error) {
			return api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		})
		if err != nil {
			return 0, fmt.Errorf("reading logs: describing task definition %s: %w", shortTaskDefinition(arn), err)
		}
		for _, s := range logSources(td.TaskDefinition) {
			if !s.noPrefix && !slices.Contains(sources, s) {
				sources = append(sources, s)
			}
		}
	}
	if len(sources) == 0 {
		return 0, fmt.Errorf("reading logs: no container of service %q logs with awslogs and an awslogs-stream-prefix", cfg.Service)
	}

	start := clock.Now()
	from := start.Add(-cmp.Or(opts.Since, defaultLogsSince))
	deadline := start.Add(cmp.Or(opts.Timeout, defaultLogsTimeout))
	seen := map[string]bool{}
	written := 0
	for {
		now := clock.Now()
		var batch []logtypes.FilteredLogEvent
		for _, src := range sources {
			evs, err := filterLogs(ctx, logs, clock, src, from)
			if err != nil {
				return written, fmt.Errorf("reading logs of %s from %s: %w", src.container, src.group, err)
			}
			for _, e := range evs {
				id := src.group + "\x00" + aws.ToString(e.EventId)
				if !seen[id] {
					seen[id] = true
					batch = append(batch, e)
				}
			}
		}
		slices.SortStableFunc(batch, func(a, b logtypes.FilteredLogEvent) int {
			return cmp.Compare(aws.ToInt64(a.Timestamp), aws.ToInt64(b.Timestamp))
		})
		for _, e := range batch {
			fmt.Fprintf(out, "%s %s %s\n", time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC().Format("2006-01-02T15:04:05.000Z"),
				streamLabel(aws.ToString(e.LogStreamName)), strings.TrimRight(aws.ToString(e.Message), "\n"))
			written++
		}
		if !opts.Follow || !now.Before(deadline) {
			return written, nil
		}
		// Lines arrive late (ingestion takes seconds): read again from a
		// little before the last read; seen drops the repeats.
		from = now.Add(-30 * time.Second)
		if err := clock.Sleep(ctx, min(logsPoll, deadline.Sub(now))); err != nil {
			return written, fmt.Errorf("following logs: %w", err)
		}
	}
}

// filterLogs reads a source's events from from on, all pages, retrying
// throttled calls. No end time: a line stamped ahead of this machine's
// clock (a skewed runner) is still shown, and seen drops it when a
// follow reads it again.
func filterLogs(ctx context.Context, logs LogFilterer, clock Clock, src logSource, from time.Time) ([]logtypes.FilteredLogEvent, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:        aws.String(src.group),
		LogStreamNamePrefix: aws.String(src.prefix + src.container + "/"),
		StartTime:           aws.Int64(from.UnixMilli()),
	}
	var events []logtypes.FilteredLogEvent
	for {
		out, err := retrying(ctx, clock, transientIn(ctx), func() (*cloudwatchlogs.FilterLogEventsOutput, error) {
			return logs.FilterLogEvents(ctx, in, src.inRegion)
		})
		if err != nil {
			return nil, err
		}
		events = append(events, out.Events...)
		if aws.ToString(out.NextToken) == "" {
			return events, nil
		}
		in.NextToken = out.NextToken
	}
}

// streamLabel shortens "prefix/container/taskid" to "container/taskid".
func streamLabel(stream string) string {
	if i := strings.IndexByte(stream, '/'); i >= 0 {
		return stream[i+1:]
	}
	return stream
}

package ecssim

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// logsTargetPrefix prefixes the X-Amz-Target header of every CloudWatch
// Logs call.
const logsTargetPrefix = "Logs_20140328."

// logOperations are the CloudWatch Logs calls the simulator serves itself:
// the reads of its tasks' logs. The streams are computed from the tasks
// (Behavior.Logs) and the awslogs settings of their task definitions, so
// they need no writes and follow the simulated clock. Other Logs calls go
// to the upstream.
var logOperations = map[string]handler{
	"GetLogEvents":    op((*Simulator).getLogEvents),
	"FilterLogEvents": op((*Simulator).filterLogEvents),
}

// maxLogEvents is the most events one Logs call returns, as in CloudWatch.
const maxLogEvents = 10000

func errLogGroupNotFound() *apiError {
	return newAPIError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
}

func errLogStreamNotFound() *apiError {
	return newAPIError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
}

// logEvent is one line of a simulated log stream; its JSON fields are the
// wire shape of FilterLogEvents (GetLogEvents leaves out the stream and id).
type logEvent struct {
	LogStreamName string `json:"logStreamName,omitempty"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId,omitempty"`
}

// logStreams returns the streams of a log group, by name, with the events
// written up to now in time order; ok is false when no task definition of
// a started task names the group.
func (s *Simulator) logStreams(group string) (streams map[string][]logEvent, ok bool) {
	s.stepOneOffs()
	streams = map[string][]logEvent{}
	for _, name := range s.clusterNames {
		for _, t := range s.clusters[name].taskOrder {
			td := s.taskDef(t.TaskDefinitionArn)
			if td == nil {
				continue
			}
			defs, _ := td.doc["containerDefinitions"].([]any)
			for i, cd := range defs {
				m, _ := cd.(map[string]any)
				g, prefix := awslogs(m)
				if g != group {
					continue
				}
				ok = true
				// Without a stream prefix the stream is named after the
				// container's id, which the simulator does not model.
				if prefix == "" || t.runningAt.IsZero() {
					continue
				}
				cname, _ := m["name"].(string)
				stream := prefix + "/" + cname + "/" + t.id
				var events []logEvent
				if i == 0 {
					events = s.taskLines(t, stream)
				}
				streams[stream] = events
			}
		}
	}
	return streams, ok
}

// awslogs returns the awslogs group and stream prefix of a container
// definition, empty when it logs elsewhere.
func awslogs(cd map[string]any) (group, prefix string) {
	lc, _ := cd["logConfiguration"].(map[string]any)
	if d, _ := lc["logDriver"].(string); d != "awslogs" {
		return "", ""
	}
	opts, _ := lc["options"].(map[string]any)
	group, _ = opts["awslogs-group"].(string)
	prefix, _ = opts["awslogs-stream-prefix"].(string)
	return group, prefix
}

// taskLines returns the scripted lines t's first container has written by
// now: a second apart from RUNNING, all before a scripted exit.
func (s *Simulator) taskLines(t *task, stream string) []logEvent {
	lines := t.behavior.Logs
	step := time.Second
	if f := t.behavior.Failure; f != nil && f.Kind == FailExit && len(lines) > 0 {
		step = min(step, f.After/time.Duration(len(lines)))
	}
	var out []logEvent
	for i, line := range lines {
		at := t.runningAt.Add(time.Duration(i) * step)
		if at.After(s.now) || (!t.StoppedAt.IsZero() && at.After(time.Time(t.StoppedAt))) {
			break
		}
		ms := at.UnixMilli()
		out = append(out, logEvent{LogStreamName: stream, Timestamp: ms, Message: line, IngestionTime: ms,
			EventID: fmt.Sprintf("%d%s%04d", ms, t.id[:8], i)})
	}
	return out
}

// inWindow keeps the events with start <= timestamp < end (either bound
// optional), as CloudWatch Logs applies startTime and endTime.
func inWindow(events []logEvent, start, end *int64) []logEvent {
	return slices.DeleteFunc(slices.Clone(events), func(e logEvent) bool {
		return (start != nil && e.Timestamp < *start) || (end != nil && e.Timestamp >= *end)
	})
}

type getLogEventsInput struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              *int32 `json:"limit"`
	StartFromHead      bool   `json:"startFromHead"`
}

// getLogEvents pages through one stream: without a token it starts at the
// head (startFromHead) or returns the newest events; "f/N" and "b/N"
// tokens continue after or before event N.
func (s *Simulator) getLogEvents(in *getLogEventsInput) (any, *apiError) {
	group := in.LogGroupName
	if group == "" {
		group = lastSegment(strings.TrimSuffix(in.LogGroupIdentifier, ":*"))
	}
	if group == "" || in.LogStreamName == "" {
		return nil, errInvalidParameter("logGroupName and logStreamName are required.")
	}
	streams, ok := s.logStreams(group)
	if !ok {
		return nil, errLogGroupNotFound()
	}
	all, ok := streams[in.LogStreamName]
	if !ok {
		return nil, errLogStreamNotFound()
	}
	events := inWindow(all, in.StartTime, in.EndTime)
	limit := maxLogEvents
	if in.Limit != nil && *in.Limit > 0 {
		limit = min(int(*in.Limit), maxLogEvents)
	}
	var from, to int
	switch dir, n, _ := strings.Cut(in.NextToken, "/"); {
	case in.NextToken == "" && in.StartFromHead:
		from, to = 0, min(limit, len(events))
	case in.NextToken == "":
		from, to = max(0, len(events)-limit), len(events)
	default:
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i > len(events) || (dir != "f" && dir != "b") {
			return nil, errInvalidParameter("The specified nextToken is invalid.")
		}
		if dir == "f" {
			from, to = i, min(i+limit, len(events))
		} else {
			from, to = max(0, i-limit), i
		}
	}
	page := make([]logEvent, 0, to-from)
	for _, e := range events[from:to] {
		e.LogStreamName, e.EventID = "", ""
		page = append(page, e)
	}
	return map[string]any{
		"events":            page,
		"nextForwardToken":  "f/" + strconv.Itoa(to),
		"nextBackwardToken": "b/" + strconv.Itoa(from),
	}, nil
}

type filterLogEventsInput struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               *int32   `json:"limit"`
}

// filterLogEvents merges the group's matching streams in time order. A
// filter pattern is matched as a plain substring, which is what a quoted
// term means in CloudWatch's pattern syntax.
func (s *Simulator) filterLogEvents(in *filterLogEventsInput) (any, *apiError) {
	group := in.LogGroupName
	if group == "" {
		group = lastSegment(strings.TrimSuffix(in.LogGroupIdentifier, ":*"))
	}
	if group == "" {
		return nil, errInvalidParameter("logGroupName is required.")
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, errInvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive.")
	}
	streams, ok := s.logStreams(group)
	if !ok {
		return nil, errLogGroupNotFound()
	}
	var events []logEvent
	for name, evs := range streams {
		if (len(in.LogStreamNames) > 0 && !slices.Contains(in.LogStreamNames, name)) || !strings.HasPrefix(name, in.LogStreamNamePrefix) {
			continue
		}
		for _, e := range inWindow(evs, in.StartTime, in.EndTime) {
			if strings.Contains(e.Message, strings.Trim(in.FilterPattern, `"`)) {
				events = append(events, e)
			}
		}
	}
	slices.SortStableFunc(events, func(a, b logEvent) int {
		if a.Timestamp != b.Timestamp {
			return cmp.Compare(a.Timestamp, b.Timestamp)
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	limit := int32(maxLogEvents)
	if in.Limit != nil && *in.Limit > 0 {
		limit = min(*in.Limit, maxLogEvents)
	}
	page, next, err := paginate(events, &limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	if page == nil {
		page = []logEvent{}
	}
	return withToken(map[string]any{"events": page, "searchedLogStreams": []any{}}, next), nil
}

package ecssim

import (
	"encoding/json"
	"fmt"
	"time"
)

// Behavior scripts what the tasks of a task definition do once the service
// scheduler starts them. The zero Behavior starts, passes its health checks
// and stops instantly.
type Behavior struct {
	// StartDelay is how long a task spends PROVISIONING and PENDING before
	// it is RUNNING (image pull, ENI attachment, a slow start).
	StartDelay time.Duration
	// StartSpread adds to each task's StartDelay a random part of it, so
	// that tasks become RUNNING spread over that window.
	StartSpread time.Duration
	// HealthyAfter is how long a RUNNING task takes to pass its health
	// checks; only healthy tasks let the scheduler stop old ones.
	HealthyAfter time.Duration
	// DrainDelay is how long a task the scheduler stops takes to reach
	// STOPPED (load balancer deregistration delay plus stop timeout).
	DrainDelay time.Duration
	// Failure, when set, makes every task fail.
	Failure *Failure
	// Logs are the lines the task's first container writes once RUNNING,
	// a second apart (closer when it exits sooner), to the awslogs stream
	// its task definition configures; GetLogEvents and FilterLogEvents
	// read them. A task that never runs has no log stream.
	Logs []string
}

// FailureKind says how a task fails.
type FailureKind string

const (
	// FailHealthCheck: the task runs, then fails its load balancer health
	// checks and the scheduler stops it.
	FailHealthCheck FailureKind = "health-check"
	// FailExit: the essential container exits.
	FailExit FailureKind = "exit"
	// FailStart: the task never reaches RUNNING (e.g. the image cannot be
	// pulled).
	FailStart FailureKind = "start"
)

// Failure describes how and when a task fails.
type Failure struct {
	Kind FailureKind
	// After is the time from RUNNING to the failure, for FailHealthCheck
	// and FailExit; FailStart fails at the end of StartDelay.
	After time.Duration
	// ExitCode is the essential container's exit code, for FailExit.
	ExitCode int32
	// Reason is the container's reason for FailExit (e.g.
	// "OutOfMemoryError: Container killed due to memory usage") and the
	// task's stopped reason for FailStart.
	Reason string
}

// Default delays of the Behavior constructors, in simulated time.
const (
	defaultStartDelay   = 10 * time.Second
	defaultHealthyAfter = 20 * time.Second
	defaultDrainDelay   = 10 * time.Second
)

// Healthy returns the default behaviour: tasks are RUNNING after 10s,
// healthy 20s later, and drain in 10s when stopped.
func Healthy() Behavior {
	return Behavior{StartDelay: defaultStartDelay, HealthyAfter: defaultHealthyAfter, DrainDelay: defaultDrainDelay}
}

// FailsHealthChecks returns a behaviour whose tasks run but fail their load
// balancer health checks after d.
func FailsHealthChecks(d time.Duration) Behavior {
	b := Healthy()
	b.HealthyAfter = d + time.Second // never reached: the failure comes first
	b.Failure = &Failure{Kind: FailHealthCheck, After: d}
	return b
}

// ExitsWith returns a behaviour whose essential container exits with code
// and reason d after the task is RUNNING.
func ExitsWith(code int32, reason string, d time.Duration) Behavior {
	b := Healthy()
	b.HealthyAfter = d + time.Second
	b.Failure = &Failure{Kind: FailExit, After: d, ExitCode: code, Reason: reason}
	return b
}

// FailsToStart returns a behaviour whose tasks stop before RUNNING with the
// given stopped reason.
func FailsToStart(reason string) Behavior {
	b := Healthy()
	b.Failure = &Failure{Kind: FailStart, Reason: reason}
	return b
}

// CrashesAtStart returns a behaviour whose essential container writes line
// and exits with code 1 a second after it started, as an application that
// fails on a missing setting does.
func CrashesAtStart(line string) Behavior {
	b := ExitsWith(1, "", time.Second)
	b.Logs = []string{line}
	return b
}

// ExitsWithLogs returns a behaviour whose essential container writes lines,
// a second apart, then exits with code, as a migration that fails with a
// message does.
func ExitsWithLogs(code int32, lines ...string) Behavior {
	b := ExitsWith(code, "", max(time.Duration(len(lines))*time.Second, time.Second))
	b.Logs = lines
	return b
}

// RunsOutOfMemory returns a behaviour whose essential container logs lines
// and is killed for its memory d after it started: exit code 137 with
// ECS's OutOfMemoryError reason.
func RunsOutOfMemory(d time.Duration, lines ...string) Behavior {
	b := ExitsWith(137, "OutOfMemoryError: Container killed due to memory usage", d)
	b.Logs = lines
	return b
}

// CannotPullImage returns a behaviour whose tasks stop before RUNNING
// because image cannot be pulled (CannotPullContainerError); they write no
// logs.
func CannotPullImage(image string) Behavior {
	return FailsToStart("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref " + image + ": not found")
}

// AccessDeniedOnStart returns a behaviour whose tasks stop before RUNNING
// because the execution role may not read a secret: ECS's
// ResourceInitializationError with the AccessDeniedException behind it.
func AccessDeniedOnStart(secretARN string) Behavior {
	return FailsToStart("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
		"unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret " + secretARN +
		" from secrets manager: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ecsTaskExecutionRole/task" +
		" is not authorized to perform: secretsmanager:GetSecretValue on resource: " + secretARN +
		" because no identity-based policy allows the secretsmanager:GetSecretValue action")
}

// behaviorJSON is how the admin endpoint spells a Behavior: durations as
// Go duration strings ("1m30s").
type behaviorJSON struct {
	StartDelay   duration     `json:"startDelay,omitempty"`
	StartSpread  duration     `json:"startSpread,omitempty"`
	HealthyAfter duration     `json:"healthyAfter,omitempty"`
	DrainDelay   duration     `json:"drainDelay,omitempty"`
	Failure      *failureJSON `json:"failure,omitempty"`
	Logs         []string     `json:"logs,omitempty"`
}

type failureJSON struct {
	Kind     FailureKind `json:"kind"`
	After    duration    `json:"after,omitempty"`
	ExitCode int32       `json:"exitCode,omitempty"`
	Reason   string      `json:"reason,omitempty"`
}

// MarshalJSON encodes b with durations as strings.
func (b Behavior) MarshalJSON() ([]byte, error) {
	v := behaviorJSON{StartDelay: duration(b.StartDelay), StartSpread: duration(b.StartSpread), HealthyAfter: duration(b.HealthyAfter), DrainDelay: duration(b.DrainDelay), Logs: b.Logs}
	if f := b.Failure; f != nil {
		v.Failure = &failureJSON{Kind: f.Kind, After: duration(f.After), ExitCode: f.ExitCode, Reason: f.Reason}
	}
	return json.Marshal(v)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (b *Behavior) UnmarshalJSON(data []byte) error {
	var v behaviorJSON
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = Behavior{StartDelay: time.Duration(v.StartDelay), StartSpread: time.Duration(v.StartSpread), HealthyAfter: time.Duration(v.HealthyAfter), DrainDelay: time.Duration(v.DrainDelay), Logs: v.Logs}
	if f := v.Failure; f != nil {
		switch f.Kind {
		case FailHealthCheck, FailExit, FailStart:
		default:
			return fmt.Errorf("unknown failure kind %q", f.Kind)
		}
		b.Failure = &Failure{Kind: f.Kind, After: time.Duration(f.After), ExitCode: f.ExitCode, Reason: f.Reason}
	}
	return nil
}

// duration is a time.Duration spelled as a string in JSON.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decoding duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("decoding duration: %w", err)
	}
	*d = duration(v)
	return nil
}

// FailingMigration is what the rehearsal's failing-migration scenario
// scripts for its one-off migration task: a log line, then exit 1.
var FailingMigration = ExitsWithLogs(1, "applying migration 0042_add_users", `ERROR: relation "users" already exists`)

// Scenarios are the task behaviours a rehearsal offers, by name.
var Scenarios = map[string]Behavior{
	// Tasks start, pass their health checks and replace the old ones.
	"healthy": Healthy(),
	// Tasks run, then fail their load balancer health checks 30s later;
	// the circuit breaker ends the deployment.
	"failing-health-checks": FailsHealthChecks(30 * time.Second),
	// Tasks take 2 minutes to start (a large image, a slow boot) and a
	// further 90s to pass their health checks; the deployment completes.
	"slow-start": {StartDelay: 2 * time.Minute, HealthyAfter: 90 * time.Second, DrainDelay: defaultDrainDelay},
	// The essential container logs why and exits 1 a second after it
	// starts; the circuit breaker ends the deployment, and the failure
	// quotes the log line.
	"crash-on-start": CrashesAtStart("panic: config: DATABASE_URL is not set"),
}

package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// OutcomeSkipped: DeployServices did not start the service's deploy
// (FailFast after another failed, or the context ended first).
const OutcomeSkipped Outcome = "SKIPPED"

const (
	defaultStartConcurrency = 10
	defaultManyPollTick     = time.Second
)

// DeployManyOptions configures DeployServices.
type DeployManyOptions struct {
	// Deploy is what every service is deployed with; each deploy gets its
	// own copy. Deploy.Wait.Events receives every service's events, each
	// line prefixed with "[service] " (or "[cluster/service] " when two
	// configs name the same service).
	Deploy DeployOptions
	// FailFast starts no further deploy once one failed: those not yet
	// started are SKIPPED. Deploys already started are followed to their
	// end and reported.
	FailFast bool
	// Concurrency caps the deploys running at once, from start to end,
	// started in the order of the configs; zero runs them all at once.
	Concurrency int
	// StartConcurrency caps the deploys starting at once (rendering,
	// registering the task definition, up to the UpdateService call), so
	// that registering 50 task definitions does not burst; zero is 10.
	StartConcurrency int
	// PollTick is the waits' WaitOptions.PollTick (unless Deploy.Wait sets
	// one): zero is 1s, below zero none.
	PollTick time.Duration
	// NoBatching calls api as it is; otherwise DescribeServices and
	// DescribeServiceDeployments of single services go through a
	// BatchingECS (unless api is one already).
	NoBatching bool
	// Batch configures the BatchingECS.
	Batch BatchOptions
}

// ServiceRow is how one service's deploy went.
type ServiceRow struct {
	Cluster string
	Service string
	// TaskDefinitionArn is what was deployed (or would be); empty when the
	// deploy failed before it was known.
	TaskDefinitionArn string
	Outcome           Outcome
	// Duration is how long the deploy took, by the options' clock.
	Duration time.Duration
	// Reason is the error message when it did not succeed.
	Reason string
	// Result is Deploy's result; nil when skipped or when Deploy failed
	// before it had one.
	Result *DeployResult
	// Err is Deploy's error.
	Err error
}

// Revision is the deployed task definition as "family:revision".
func (r ServiceRow) Revision() string { return shortTaskDefinition(r.TaskDefinitionArn) }

// ManyResult is what DeployServices did: one row per config, in order.
type ManyResult struct {
	Services []ServiceRow
	// Elapsed is the whole call's duration, by the options' clock.
	Elapsed time.Duration
	// Batch counts the coalesced describe calls; zero with NoBatching.
	Batch BatchStats
}

// Failed returns the rows that neither succeeded nor were skipped (nor,
// with NoWait or DryRun, started or planned).
func (r *ManyResult) Failed() []ServiceRow {
	var out []ServiceRow
	for _, s := range r.Services {
		if s.Err != nil {
			out = append(out, s)
		}
	}
	return out
}

// ManyError is DeployServices' error: the services that failed.
type ManyError struct {
	// Failed are the failed rows; Skipped counts the services not started.
	Failed  []ServiceRow
	Skipped int
	Total   int
}

func (e *ManyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d services failed", len(e.Failed), e.Total)
	if e.Skipped > 0 {
		fmt.Fprintf(&b, " (%d skipped)", e.Skipped)
	}
	b.WriteString(":")
	for _, r := range e.Failed {
		fmt.Fprintf(&b, "\n- %s (cluster %s): %s", r.Service, r.Cluster, strings.ReplaceAll(strings.TrimRight(r.Err.Error(), "\n"), "\n", "\n  "))
	}
	return b.String()
}

// Unwrap returns every failed service's error, so errors.Is finds
// ErrRolledBack and the like.
func (e *ManyError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, r := range e.Failed {
		errs[i] = r.Err
	}
	return errs
}

// DeployServices deploys the services of cfgs in parallel, each exactly as
// Deploy does with its own copy of opts.Deploy, follows each to its end
// and returns a row per config, in order. It fails (with a *ManyError,
// and the result) when any deploy failed. Services of one cluster share
// their polls: their DescribeServices calls are coalesced up to 10 a call
// (see BatchingECS), on a common tick (DeployManyOptions.PollTick).
func DeployServices(ctx context.Context, api DeployAPI, cfgs []*Config, opts DeployManyOptions) (*ManyResult, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("deploying: no services given")
	}
	type id struct{ cluster, service string }
	seen := map[id]bool{}
	names := map[string]int{}
	for _, c := range cfgs {
		if c.Service == "" {
			return nil, fmt.Errorf("deploying: %s sets no service", c.Path)
		}
		k := id{c.Cluster, c.Service}
		if seen[k] {
			return nil, fmt.Errorf("deploying: service %q of cluster %q is given twice", c.Service, c.Cluster)
		}
		seen[k] = true
		names[c.Service]++
	}
	var batching *BatchingECS
	if b, ok := api.(*BatchingECS); ok {
		batching = b
	} else if !opts.NoBatching {
		batching = NewBatchingECS(api, opts.Batch)
		api = batching
	}
	clock := opts.Deploy.Wait.Clock
	if clock == nil {
		clock = SystemClock{}
	}
	tick := opts.PollTick
	if tick == 0 {
		tick = defaultManyPollTick
	}
	startCap := opts.StartConcurrency
	if startCap <= 0 {
		startCap = defaultStartConcurrency
	}
	inflightCap := opts.Concurrency
	if inflightCap <= 0 || inflightCap > len(cfgs) {
		inflightCap = len(cfgs)
	}
	starting := make(chan struct{}, startCap)
	inflight := make(chan struct{}, inflightCap)
	events := &lockedWriter{w: opts.Deploy.Wait.Events}

	res := &ManyResult{Services: make([]ServiceRow, len(cfgs))}
	begin := clock.Now()
	var failed atomic.Bool
	var wg sync.WaitGroup
	acquire := func(ch chan struct{}) bool {
		select {
		case ch <- struct{}{}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for i, cfg := range cfgs {
		row := &res.Services[i]
		row.Cluster, row.Service = cfg.Cluster, cfg.Service
		if !acquire(inflight) {
			row.Outcome, row.Reason = OutcomeSkipped, "not started: "+ctx.Err().Error()
			continue
		}
		if !acquire(starting) {
			<-inflight
			row.Outcome, row.Reason = OutcomeSkipped, "not started: "+ctx.Err().Error()
			continue
		}
		if opts.FailFast && failed.Load() {
			<-starting
			<-inflight
			row.Outcome, row.Reason = OutcomeSkipped, "not started: another service failed (fail fast)"
			continue
		}
		o := opts.Deploy
		o.ImageOverrides = maps.Clone(opts.Deploy.ImageOverrides)
		if o.Wait.PollTick == 0 && tick > 0 {
			o.Wait.PollTick = tick
		}
		if opts.Deploy.Wait.Events != nil {
			label := cfg.Service
			if names[cfg.Service] > 1 {
				label = cfg.Cluster + "/" + cfg.Service
			}
			o.Wait.Events = &prefixWriter{w: events, prefix: "[" + label + "] "}
		}
		var once sync.Once
		release := func() { once.Do(func() { <-starting }) }
		gated := &startGate{DeployAPI: api, release: release}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			defer release()
			start := clock.Now()
			r, err := Deploy(ctx, gated, cfg, o)
			row.Duration = clock.Now().Sub(start)
			row.Result, row.Err = r, err
			if r != nil {
				row.TaskDefinitionArn = r.TaskDefinitionArn
				row.Outcome, row.Reason = r.Outcome, r.Reason
			}
			if err != nil {
				row.Reason = err.Error()
				if row.Outcome == "" || row.Outcome == OutcomeSucceeded || row.Outcome == OutcomeStarted {
					row.Outcome = OutcomeFailed
				}
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	res.Elapsed = clock.Now().Sub(begin)
	if batching != nil {
		res.Batch = batching.Stats()
	}
	if f := res.Failed(); len(f) > 0 {
		skipped := 0
		for _, r := range res.Services {
			if r.Outcome == OutcomeSkipped {
				skipped++
			}
		}
		return res, &ManyError{Failed: f, Skipped: skipped, Total: len(cfgs)}
	}
	return res, nil
}

// startGate lets the next deploy start once this one's UpdateService (or
// CreateService) returned.
type startGate struct {
	DeployAPI
	release func()
}

func (g *startGate) UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	out, err := g.DeployAPI.UpdateService(ctx, in, optFns...)
	if err == nil {
		g.release()
	}
	return out, err
}

func (g *startGate) CreateService(ctx context.Context, in *ecs.CreateServiceInput, optFns ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error) {
	out, err := g.DeployAPI.CreateService(ctx, in, optFns...)
	if err == nil {
		g.release()
	}
	return out, err
}

// lockedWriter serialises writes to w (nil discards).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.w == nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixWriter writes each whole line of what it is given to w with a
// prefix, in one Write per line.
type prefixWriter struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append([]byte(p.prefix), p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
}

// Markdown returns a table of the services (service, revision, outcome,
// time, reason) followed by each deploy's own summary.
func (r *ManyResult) Markdown() string {
	var b strings.Builder
	counts := map[Outcome]int{}
	for _, s := range r.Services {
		counts[s.Outcome]++
	}
	var parts []string
	for _, o := range []Outcome{OutcomeSucceeded, OutcomeRolledBack, OutcomeRollbackFailed, OutcomeFailed, OutcomeStopped, OutcomeTimedOut, OutcomeStarted, OutcomeDryRun, OutcomeSkipped} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	fmt.Fprintf(&b, "## Deploy of %d services: %s", len(r.Services), strings.Join(parts, ", "))
	b.WriteString("\n\n| Service | Revision | Outcome | Time | Reason |\n|---|---|---|---|---|\n")
	for _, s := range r.Services {
		rev := ""
		if s.TaskDefinitionArn != "" {
			rev = "`" + s.Revision() + "`"
		}
		t := ""
		if s.Outcome != OutcomeSkipped {
			t = s.Duration.Round(time.Second).String()
		}
		fmt.Fprintf(&b, "| `%s` (`%s`) | %s | %s | %s | %s |\n", s.Service, s.Cluster, rev, s.Outcome, t, tableCell(s.Reason))
	}
	if st := r.Batch; st.DescribeServicesAsked > 0 {
		fmt.Fprintf(&b, "\n_Polling: %d DescribeServices calls for %d reads, %d DescribeServiceDeployments calls for %d reads._\n",
			st.DescribeServicesCalls, st.DescribeServicesAsked, st.DescribeServiceDeploymentsCalls, st.DescribeServiceDeploymentsAsked)
	}
	for _, s := range r.Services {
		if s.Result != nil {
			b.WriteString("\n")
			b.WriteString(s.Result.Markdown())
		}
	}
	return b.String()
}

// tableCell is the first line of s, shortened, fit for a table cell.
func tableCell(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:297], "") + "..."
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

package pipeline

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS's own limits on one describe call: DescribeServices takes up to 10
// services (of one cluster), DescribeServiceDeployments up to 20 service
// deployment ARNs.
const (
	maxDescribeServices           = 10
	maxDescribeServiceDeployments = 20
	defaultBatchWindow            = 25 * time.Millisecond
)

// BatchOptions configures NewBatchingECS.
type BatchOptions struct {
	// Window is how long (wall time) a call for a single service waits for
	// others to join it; zero is 25 ms. A batch that is full goes at once.
	Window time.Duration
}

// BatchStats counts what a BatchingECS sent and was asked.
type BatchStats struct {
	// DescribeServicesCalls is how many DescribeServices calls were sent;
	// DescribeServicesAsked how many callers asked for one (coalesced or
	// not).
	DescribeServicesCalls int64
	DescribeServicesAsked int64
	// The same for DescribeServiceDeployments.
	DescribeServiceDeploymentsCalls int64
	DescribeServiceDeploymentsAsked int64
}

// BatchingECS is an ECS client that coalesces concurrent reads of single
// services: DescribeServices calls for one service of the same cluster
// (with the same Include) arriving within Window of each other are sent
// as one call of up to 10 services, and DescribeServiceDeployments calls
// for one service deployment as one call of up to 20. Each caller gets
// its own service (or its own failure) back, and an error of the whole
// call is every caller's error, so callers retry throttling as they would
// alone. Calls for several services, calls with per-call options, and
// every other call pass through unchanged.
//
// Polls only meet within the window when they are due at the same time:
// WaitOptions.PollTick aligns them (DeployServices sets it).
type BatchingECS struct {
	DeployAPI
	window time.Duration

	mu   sync.Mutex
	open map[batchKey]*batch

	dsCalls, dsAsked, sdCalls, sdAsked atomic.Int64
}

// NewBatchingECS wraps api.
func NewBatchingECS(api DeployAPI, opts BatchOptions) *BatchingECS {
	if opts.Window <= 0 {
		opts.Window = defaultBatchWindow
	}
	return &BatchingECS{DeployAPI: api, window: opts.Window, open: map[batchKey]*batch{}}
}

// Stats returns the counts so far.
func (b *BatchingECS) Stats() BatchStats {
	return BatchStats{
		DescribeServicesCalls:           b.dsCalls.Load(),
		DescribeServicesAsked:           b.dsAsked.Load(),
		DescribeServiceDeploymentsCalls: b.sdCalls.Load(),
		DescribeServiceDeploymentsAsked: b.sdAsked.Load(),
	}
}

type batchKey struct {
	op      string
	cluster string
	include string
}

// batch is one coalesced call being gathered or made.
type batch struct {
	key     batchKey
	items   []string // distinct, in order of arrival
	include []types.ServiceField
	waiting int // callers still waiting for it
	fired   bool
	timer   *time.Timer
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	out     any
	err     error
}

// DescribeServices coalesces a call for one service; see BatchingECS.
func (b *BatchingECS) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	b.dsAsked.Add(1)
	if len(in.Services) != 1 || len(optFns) > 0 {
		b.dsCalls.Add(1)
		return b.DeployAPI.DescribeServices(ctx, in, optFns...)
	}
	include := slices.Clone(in.Include)
	slices.Sort(include)
	names := make([]string, len(include))
	for i, f := range include {
		names[i] = string(f)
	}
	key := batchKey{op: "DescribeServices", cluster: aws.ToString(in.Cluster), include: strings.Join(names, ",")}
	want := in.Services[0]
	out, err := b.join(ctx, key, want, include, maxDescribeServices)
	if err != nil {
		return nil, err
	}
	all := out.(*ecs.DescribeServicesOutput)
	mine := &ecs.DescribeServicesOutput{ResultMetadata: all.ResultMetadata}
	for _, s := range all.Services {
		if aws.ToString(s.ServiceName) == want || aws.ToString(s.ServiceArn) == want {
			mine.Services = append(mine.Services, s)
		}
	}
	for _, f := range all.Failures {
		if a := aws.ToString(f.Arn); a == want || lastSegment(a) == lastSegment(want) {
			mine.Failures = append(mine.Failures, f)
		}
	}
	if len(mine.Services) == 0 && len(mine.Failures) == 0 {
		// ECS answered for neither: ask for it alone rather than guess.
		b.dsCalls.Add(1)
		return b.DeployAPI.DescribeServices(ctx, in)
	}
	return mine, nil
}

// DescribeServiceDeployments coalesces a call for one service deployment;
// see BatchingECS.
func (b *BatchingECS) DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	b.sdAsked.Add(1)
	if len(in.ServiceDeploymentArns) != 1 || len(optFns) > 0 {
		b.sdCalls.Add(1)
		return b.DeployAPI.DescribeServiceDeployments(ctx, in, optFns...)
	}
	want := in.ServiceDeploymentArns[0]
	out, err := b.join(ctx, batchKey{op: "DescribeServiceDeployments"}, want, nil, maxDescribeServiceDeployments)
	if err != nil {
		return nil, err
	}
	all := out.(*ecs.DescribeServiceDeploymentsOutput)
	mine := &ecs.DescribeServiceDeploymentsOutput{ResultMetadata: all.ResultMetadata}
	for _, sd := range all.ServiceDeployments {
		if aws.ToString(sd.ServiceDeploymentArn) == want {
			mine.ServiceDeployments = append(mine.ServiceDeployments, sd)
		}
	}
	for _, f := range all.Failures {
		if aws.ToString(f.Arn) == want {
			mine.Failures = append(mine.Failures, f)
		}
	}
	if len(mine.ServiceDeployments) == 0 && len(mine.Failures) == 0 {
		b.sdCalls.Add(1)
		return b.DeployAPI.DescribeServiceDeployments(ctx, in)
	}
	return mine, nil
}

// join adds item to the open batch of key (opening one if needed) and
// waits for its answer or for ctx.
func (b *BatchingECS) join(ctx context.Context, key batchKey, item string, include []types.ServiceField, limit int) (any, error) {
	b.mu.Lock()
	bt := b.open[key]
	if bt == nil || bt.ctx.Err() != nil { // none, or one every caller left
		// The call outlives any one caller: it is cancelled only when
		// every caller gave up on it.
		bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		bt = &batch{key: key, include: include, ctx: bctx, cancel: cancel, done: make(chan struct{})}
		b.open[key] = bt
		bt.timer = time.AfterFunc(b.window, func() { b.fire(bt) })
	}
	if !slices.Contains(bt.items, item) {
		bt.items = append(bt.items, item)
	}
	bt.waiting++
	full := len(bt.items) >= limit
	if full {
		delete(b.open, key) // closed to newcomers before the lock is let go
	}
	b.mu.Unlock()
	if full {
		b.fire(bt)
	}
	select {
	case <-bt.done:
		return bt.out, bt.err
	case <-ctx.Done():
		b.mu.Lock()
		bt.waiting--
		if bt.waiting == 0 {
			bt.cancel()
		}
		b.mu.Unlock()
		return nil, ctx.Err()
	}
}

// fire closes bt to newcomers and makes its call, once.
func (b *BatchingECS) fire(bt *batch) {
	b.mu.Lock()
	if bt.fired {
		b.mu.Unlock()
		return
	}
	bt.fired = true
	bt.timer.Stop()
	if b.open[bt.key] == bt {
		delete(b.open, bt.key)
	}
	items := slices.Clone(bt.items)
	b.mu.Unlock()

	go func() {
		defer bt.cancel()
		defer close(bt.done)
		switch bt.key.op {
		case "DescribeServices":
			b.dsCalls.Add(1)
			in := &ecs.DescribeServicesInput{Services: items, Include: bt.include}
			if bt.key.cluster != "" {
				in.Cluster = aws.String(bt.key.cluster)
			}
			bt.out, bt.err = b.DeployAPI.DescribeServices(bt.ctx, in)
		case "DescribeServiceDeployments":
			b.sdCalls.Add(1)
			bt.out, bt.err = b.DeployAPI.DescribeServiceDeployments(bt.ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: items})
		}
	}()
}

// lastSegment is what follows the last "/" of an ARN, or s itself.
func lastSegment(s string) string {
	return s[strings.LastIndexByte(s, '/')+1:]
}

// alignedSleep returns how long to sleep from now so as to wake at the
// first multiple of tick (since the Unix epoch, by the clock) not before
// now+d: waits polling on the same tick poll at the same instants.
func alignedSleep(now time.Time, d, tick time.Duration) time.Duration {
	if tick <= 0 {
		return d
	}
	at := now.Add(d)
	r := time.Duration(at.UnixNano() % int64(tick))
	if r == 0 {
		return d
	}
	return d + tick - r
}

package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
)

// Pauses between retries of transient errors (errorBackoff): exponential
// from errBackoffBase up to errBackoffMax.
const (
	errBackoffBase = 2 * time.Second
	errBackoffMax  = 30 * time.Second
)

// transient reports whether err is throttling, a server error or a broken
// connection: worth waiting out rather than failing a deploy for.
func transient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return true // the SDK's own retry budget ran out, most likely while throttled
	}
	if isThrottle(err) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultServer {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// transientIn is transient as the retry predicate of retrying and
// retryingUntil for calls made under ctx.
func transientIn(ctx context.Context) func(error) bool {
	return func(err error) bool { return transient(ctx, err) }
}

// isThrottle reports whether err is a throttling error ("Rate exceeded").
func isThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	_, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]
	return ok
}

// throttleRetryer lets the SDK retry a call only when it was throttled,
// which guarantees it was not applied. A 5xx or a reset connection may have
// applied an UpdateService, and repeating it blindly could start a second
// deployment.
type throttleRetryer struct{ aws.Retryer }

func (r throttleRetryer) IsErrorRetryable(err error) bool {
	return isThrottle(err) && r.Retryer.IsErrorRetryable(err)
}

// retryOnlyThrottling is an ecs.Options function for mutating calls.
func retryOnlyThrottling(o *ecs.Options) {
	if o.Retryer != nil {
		o.Retryer = throttleRetryer{o.Retryer}
	}
}

// maxCallAttempts bounds how often Deploy makes one call: with
// errorBackoff's pauses, eight attempts span about two minutes.
const maxCallAttempts = 8

// retrying calls f until it succeeds, fails with an error retry rejects or
// has been tried maxCallAttempts times, pausing errorBackoff on clock in
// between. The SDK's own retries (three attempts, backoff of a second or
// two) give up within a throttling burst that parallel deploys easily
// cause; this outlasts it.
func retrying[T any](ctx context.Context, clock Clock, retry func(error) bool, f func() (T, error)) (T, error) {
	for n := 1; ; n++ {
		v, err := f()
		if err == nil || n == maxCallAttempts || ctx.Err() != nil || !retry(err) {
			return v, err
		}
		if clock.Sleep(ctx, errorBackoff(n)) != nil {
			return v, err
		}
	}
}

// retryingUntil is retrying that neither retries nor sleeps past until
// on clock.
func retryingUntil[T any](ctx context.Context, clock Clock, until time.Time, retry func(error) bool, f func() (T, error)) (T, error) {
	for n := 1; ; n++ {
		v, err := f()
		now := clock.Now()
		if err == nil || n == maxCallAttempts || ctx.Err() != nil || !retry(err) || !now.Before(until) {
			return v, err
		}
		if clock.Sleep(ctx, min(errorBackoff(n), until.Sub(now))) != nil {
			return v, err
		}
	}
}

// errorBackoff is the pause after the nth transient error in a row:
// exponential from errBackoffBase up to errBackoffMax, with full jitter
// over its upper half.
func errorBackoff(n int) time.Duration {
	d := errBackoffBase << min(n-1, 8)
	d = min(d, errBackoffMax)
	return d/2 + rand.N(d/2+1)
}

// patientTaskReader retries each call's transient errors: the reasons are
// what a failed deploy's message is for, and one call in a throttled
// stretch should not lose them.
type patientTaskReader struct {
	api   TaskReader
	clock Clock
	until time.Time
}

// patientTasks is a patientTaskReader that retries for up to d on clock:
// the bound of a read that no deploy deadline limits.
func patientTasks(api TaskReader, clock Clock, d time.Duration) patientTaskReader {
	return patientTaskReader{api, clock, clock.Now().Add(d)}
}

func (p patientTaskReader) ListTasks(ctx context.Context, in *ecs.ListTasksInput, optFns ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return retryingUntil(ctx, p.clock, p.until, transientIn(ctx), func() (*ecs.ListTasksOutput, error) {
		return p.api.ListTasks(ctx, in, optFns...)
	})
}

func (p patientTaskReader) DescribeTasks(ctx context.Context, in *ecs.DescribeTasksInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return retryingUntil(ctx, p.clock, p.until, transientIn(ctx), func() (*ecs.DescribeTasksOutput, error) {
		return p.api.DescribeTasks(ctx, in, optFns...)
	})
}

// patientRegistrar retries the transient errors of the task definition
// reads previousRevision makes.
type patientRegistrar struct {
	TaskDefinitionRegistrar
	clock Clock
}

func (p patientRegistrar) ListTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsInput, optFns ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	return retrying(ctx, p.clock, transientIn(ctx), func() (*ecs.ListTaskDefinitionsOutput, error) {
		return p.TaskDefinitionRegistrar.ListTaskDefinitions(ctx, in, optFns...)
	})
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// fakeDescriber answers DescribeServices from a set of services per
// cluster and records every call; err, when set, fails every call.
type fakeDescriber struct {
	DeployAPI
	mu       sync.Mutex
	services map[string][]string // cluster -> services
	calls    []*ecs.DescribeServicesInput
	sdCalls  [][]string
	err      error
	delay    time.Duration
}

func (f *fakeDescriber) DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if f.err != nil {
		return nil, f.err
	}
	if len(in.Services) > maxDescribeServices {
		return nil, fmt.Errorf("InvalidParameterException: too many services")
	}
	cluster := aws.ToString(in.Cluster)
	out := &ecs.DescribeServicesOutput{}
	for _, s := range in.Services {
		if slices.Contains(f.services[cluster], s) {
			out.Services = append(out.Services, types.Service{
				ServiceName: aws.String(s),
				ServiceArn:  aws.String("arn:aws:ecs:us-east-1:123456789012:service/" + cluster + "/" + s),
				Status:      aws.String("ACTIVE"),
				ClusterArn:  aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/" + cluster),
			})
		} else {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String("arn:aws:ecs:us-east-1:123456789012:service/" + cluster + "/" + s), Reason: aws.String("MISSING")})
		}
	}
	return out, nil
}

func (f *fakeDescriber) DescribeServiceDeployments(ctx context.Context, in *ecs.DescribeServiceDeploymentsInput, _ ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	f.mu.Lock()
	f.sdCalls = append(f.sdCalls, in.ServiceDeploymentArns)
	f.mu.Unlock()
	out := &ecs.DescribeServiceDeploymentsOutput{}
	for _, a := range in.ServiceDeploymentArns {
		out.ServiceDeployments = append(out.ServiceDeployments, types.ServiceDeployment{ServiceDeploymentArn: aws.String(a), Status: types.ServiceDeploymentStatusInProgress})
	}
	return out, nil
}

// together runs f(i) for i in [0, n) in goroutines released at once.
func together(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func names(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%02d", prefix, i))
	}
	return out
}

// TestBatchingCoalesces: 25 concurrent single-service describes of one
// cluster are sent as 3 calls of at most 10, and every caller gets its
// own service, alone.
func TestBatchingCoalesces(t *testing.T) {
	svcs := names("svc-", 25)
	fake := &fakeDescriber{services: map[string][]string{"prod": svcs}}
	b := NewBatchingECS(fake, BatchOptions{Window: 200 * time.Millisecond})
	got := make([]*types.Service, len(svcs))
	errs := make([]error, len(svcs))
	together(len(svcs), func(i int) {
		got[i], errs[i] = describeService(context.Background(), b, "prod", svcs[i])
	})
	for i := range svcs {
		if errs[i] != nil || aws.ToString(got[i].ServiceName) != svcs[i] {
			t.Errorf("caller %d: %v, %v", i, got[i], errs[i])
		}
	}
	if len(fake.calls) != 3 {
		t.Fatalf("%d calls, want 3", len(fake.calls))
	}
	var all []string
	for _, c := range fake.calls {
		if len(c.Services) > 10 {
			t.Errorf("a call of %d services", len(c.Services))
		}
		all = append(all, c.Services...)
	}
	slices.Sort(all)
	if !slices.Equal(all, svcs) {
		t.Errorf("services described %v, want each once", all)
	}
	if st := b.Stats(); st.DescribeServicesCalls != 3 || st.DescribeServicesAsked != 25 {
		t.Errorf("stats %+v", st)
	}
}

// TestBatchingMissingService: a service missing from a batch is that
// caller's ErrServiceNotFound (its own MISSING failure); the others get
// theirs.
func TestBatchingMissingService(t *testing.T) {
	fake := &fakeDescriber{services: map[string][]string{"prod": {"web", "worker"}}}
	b := NewBatchingECS(fake, BatchOptions{Window: 200 * time.Millisecond})
	asked := []string{"web", "ghost", "worker"}
	errs := make([]error, 3)
	outs := make([]*ecs.DescribeServicesOutput, 3)
	together(3, func(i int) {
		outs[i], errs[i] = b.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{asked[i]}})
	})
	if len(fake.calls) != 1 {
		t.Fatalf("%d calls, want 1", len(fake.calls))
	}
	for i, s := range asked {
		if errs[i] != nil {
			t.Fatalf("%s: %v", s, errs[i])
		}
		o := outs[i]
		if s == "ghost" {
			if len(o.Services) != 0 || len(o.Failures) != 1 || aws.ToString(o.Failures[0].Reason) != "MISSING" {
				t.Errorf("ghost: %+v", o)
			}
			continue
		}
		if len(o.Services) != 1 || aws.ToString(o.Services[0].ServiceName) != s || len(o.Failures) != 0 {
			t.Errorf("%s: %+v", s, o)
		}
	}
	// Through describeService, as Deploy and Wait read.
	var err error
	together(2, func(i int) {
		if _, e := describeService(context.Background(), b, "prod", []string{"ghost", "web"}[i]); i == 0 {
			err = e
		} else if e != nil {
			t.Errorf("web: %v", e)
		}
	})
	if !errors.Is(err, ErrServiceNotFound) {
		t.Errorf("ghost: %v, want ErrServiceNotFound", err)
	}
}

// TestBatchingWholeCallError: an error of the whole call (throttling) is
// every caller's, as the API error it was.
func TestBatchingWholeCallError(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	fake := &fakeDescriber{services: map[string][]string{"prod": names("svc-", 4)}, err: throttle}
	b := NewBatchingECS(fake, BatchOptions{Window: 200 * time.Millisecond})
	errs := make([]error, 4)
	together(4, func(i int) {
		_, errs[i] = b.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{fmt.Sprintf("svc-%02d", i)}})
	})
	if len(fake.calls) != 1 {
		t.Fatalf("%d calls, want 1", len(fake.calls))
	}
	for i, err := range errs {
		if !isThrottle(err) {
			t.Errorf("caller %d: %v, want the throttling error", i, err)
		}
	}
}

// TestBatchingNeverMixes: clusters, and calls with different Include,
// are never in one call; calls for several services, or with options,
// pass through.
func TestBatchingNeverMixes(t *testing.T) {
	fake := &fakeDescriber{services: map[string][]string{"a": names("svc-", 6), "b": names("svc-", 6)}}
	b := NewBatchingECS(fake, BatchOptions{Window: 200 * time.Millisecond})
	together(18, func(i int) {
		cluster := []string{"a", "b"}[i%2]
		in := &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{fmt.Sprintf("svc-%02d", i/3)}}
		if i%3 == 2 {
			in.Include = []types.ServiceField{types.ServiceFieldTags}
		}
		out, err := b.DescribeServices(context.Background(), in)
		if err != nil || len(out.Services) != 1 || !strings.HasSuffix(aws.ToString(out.Services[0].ClusterArn), "/"+cluster) {
			t.Errorf("caller %d: %+v, %v", i, out, err)
		}
	})
	if len(fake.calls) != 4 {
		t.Errorf("%d calls, want 4 (2 clusters x with and without tags)", len(fake.calls))
	}
	for _, c := range fake.calls {
		for _, o := range fake.calls {
			if c != o && aws.ToString(c.Cluster) == aws.ToString(o.Cluster) && len(c.Include) == len(o.Include) {
				t.Errorf("two calls for cluster %s with include %v", aws.ToString(c.Cluster), c.Include)
			}
		}
	}
	fake.calls = nil
	if _, err := b.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("a"), Services: []string{"svc-00", "svc-01"}}); err != nil || len(fake.calls) != 1 {
		t.Errorf("several services: %v, %d calls", err, len(fake.calls))
	}
	if _, err := b.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("a"), Services: []string{"svc-00"}}, retryOnlyThrottling); err != nil || len(fake.calls) != 2 {
		t.Errorf("with options: %v, %d calls", err, len(fake.calls))
	}
}

// TestBatchingCallerGivesUp: a caller whose context ends gets its error at
// once; the others still get their answers.
func TestBatchingCallerGivesUp(t *testing.T) {
	fake := &fakeDescriber{services: map[string][]string{"prod": names("svc-", 3)}, delay: 300 * time.Millisecond}
	b := NewBatchingECS(fake, BatchOptions{Window: 50 * time.Millisecond})
	errs := make([]error, 3)
	together(3, func(i int) {
		ctx := context.Background()
		if i == 0 {
			c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			ctx = c
		}
		_, errs[i] = describeService(ctx, b, "prod", fmt.Sprintf("svc-%02d", i))
	})
	if !errors.Is(errs[0], context.DeadlineExceeded) || errs[1] != nil || errs[2] != nil {
		t.Errorf("errors %v, want the first caller's deadline alone", errs)
	}
}

// TestBatchingServiceDeployments coalesces DescribeServiceDeployments of
// one ARN each, up to 20 a call.
func TestBatchingServiceDeployments(t *testing.T) {
	fake := &fakeDescriber{}
	b := NewBatchingECS(fake, BatchOptions{Window: 200 * time.Millisecond})
	arns := names("arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/web/", 30)
	together(30, func(i int) {
		out, err := b.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arns[i]}})
		if err != nil || len(out.ServiceDeployments) != 1 || aws.ToString(out.ServiceDeployments[0].ServiceDeploymentArn) != arns[i] {
			t.Errorf("caller %d: %+v, %v", i, out, err)
		}
	})
	if len(fake.sdCalls) != 2 || len(fake.sdCalls[0])+len(fake.sdCalls[1]) != 30 || max(len(fake.sdCalls[0]), len(fake.sdCalls[1])) != 20 {
		t.Errorf("calls %v, want 20 + 10", fake.sdCalls)
	}
}

// TestAlignedSleep: sleeps end on the tick's multiples.
func TestAlignedSleep(t *testing.T) {
	now := time.Unix(1000, 300e6)
	for _, c := range []struct{ d, want time.Duration }{
		{0, 700 * time.Millisecond},
		{700 * time.Millisecond, 700 * time.Millisecond},
		{time.Second, 1700 * time.Millisecond},
	} {
		if got := alignedSleep(now, c.d, time.Second); got != c.want {
			t.Errorf("alignedSleep(%v) = %v, want %v", c.d, got, c.want)
		}
	}
	if got := alignedSleep(now, time.Second, 0); got != time.Second {
		t.Errorf("no tick: %v", got)
	}
}

package pipeline_test

import (
	"archive/tar"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/standin"
)

// startStandIn serves the rehearsal stand-in (ECS simulator, ECR token,
// STS, registry) and returns its URL and clients for it.
func startStandIn(t *testing.T, opts ...ecssim.Option) (string, *pipeline.AWS) {
	t.Helper()
	var si *standin.Server
	opts = append(opts, ecssim.WithCluster("rehearsal"), ecssim.WithImageCheck(func(image string) error { return si.CheckImage(image) }))
	si = standin.New(ecssim.New(opts...), "123456789012", "us-east-1")
	srv := httptest.NewServer(si)
	t.Cleanup(srv.Close)
	clients, err := pipeline.NewAWS(context.Background(), pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "rehearsal", SecretAccessKey: "not-a-secret", EndpointURL: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, clients
}

// layoutTarball writes img (or, with several, an index of them) as an OCI
// layout tarball, as Dagger's asTarball does, and returns its path.
func layoutTarball(t *testing.T, imgs ...v1.Image) string {
	t.Helper()
	return layoutTarballArchs(t, []string{"amd64", "arm64"}, imgs...)
}

// layoutTarballArchs is layoutTarball with the architecture of each image
// of an index.
func layoutTarballArchs(t *testing.T, archs []string, imgs ...v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) == 1 {
		err = p.AppendImage(imgs[0])
	} else {
		idx := v1.ImageIndex(empty.Index)
		for i, img := range imgs {
			arch := archs[i]
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		}
		err = p.AppendIndex(idx)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func randomImage(t *testing.T, created time.Time) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: created})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestStandInServesARehearsal drives the stand-in with the unmodified SDK
// and go-containerregistry: an ECR login, STS, a push through it under an
// ECR host name, and an ECS call that reaches the simulator.
func TestStandInServesARehearsal(t *testing.T) {
	ctx := context.Background()
	endpoint, clients := startStandIn(t)

	creds, err := pipeline.ECRLogin(ctx, clients.ECR)
	if err != nil {
		t.Fatal(err)
	}
	if creds.Username != "AWS" || len(creds.Password) < 32 || time.Until(creds.ExpiresAt) < 11*time.Hour {
		t.Fatalf("ECR login = %v expiring %v, want user AWS, a long token, 12 hours", creds, creds.ExpiresAt)
	}
	id, err := sts.NewFromConfig(clients.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "123456789012" || !strings.HasSuffix(aws.ToString(id.Arn), ":user/rehearsal") {
		t.Fatalf("GetCallerIdentity = %s %s", aws.ToString(id.Account), aws.ToString(id.Arn))
	}
	out, err := clients.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"rehearsal"}})
	if err != nil || len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].Status) != "ACTIVE" {
		t.Fatalf("DescribeClusters through the stand-in: %+v, %v", out, err)
	}

	img := randomImage(t, time.Now())
	want, _ := img.Digest()
	ref := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1"
	got, err := pipeline.PushLayout(ctx, layoutTarball(t, img), ref, creds, pipeline.PushOptions{Through: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	if got != ref+"@"+want.String() {
		t.Fatalf("PushLayout = %s, want %s@%s", got, ref, want)
	}
	// Read it back, by tag, as a client of the registry would.
	desc := getManifest(t, endpoint, ref, creds)
	if desc.Digest != want {
		t.Fatalf("the registry holds %s under v1, want %s", desc.Digest, want)
	}

	// A push with a token ECR did not hand out is refused, and says why.
	bad := creds
	bad.Password = strings.Repeat("x", len(creds.Password))
	_, err = pipeline.PushLayout(ctx, layoutTarball(t, img), strings.Replace(ref, ":v1", ":v2", 1), bad, pipeline.PushOptions{Through: endpoint})
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Fatalf("push with a wrong token: %v, want the registry refusing the credentials", err)
	}
	if strings.Contains(err.Error(), bad.Password) || strings.Contains(err.Error(), creds.Password) {
		t.Fatal("the error quotes the token")
	}
	// Without any credentials, /v2/ challenges as ECR does.
	resp, err := http.Get(endpoint + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("GET /v2/ without credentials = %d %q, want 401 with a Basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestPushLayoutCanonical shows what --reproducible rests on: the same
// files built at different times push under one digest when canonical, and
// under different digests when not; a multi-platform index too.
func TestPushLayoutCanonical(t *testing.T) {
	ctx := context.Background()
	endpoint, clients := startStandIn(t)
	creds, err := pipeline.ECRLogin(ctx, clients.ECR)
	if err != nil {
		t.Fatal(err)
	}
	base := randomImage(t, time.Now())
	later, err := mutate.CreatedAt(base, v1.Time{Time: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	arm := randomImage(t, time.Now())
	armLater, err := mutate.CreatedAt(arm, v1.Time{Time: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	push := func(tag string, canonical bool, imgs ...v1.Image) string {
		t.Helper()
		ref := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:" + tag
		got, err := pipeline.PushLayout(ctx, layoutTarball(t, imgs...), ref, creds, pipeline.PushOptions{Through: endpoint, Canonical: canonical})
		if err != nil {
			t.Fatal(err)
		}
		_, digest, _ := strings.Cut(got, "@")
		if held := getManifest(t, endpoint, ref, creds).Digest.String(); held != digest {
			t.Fatalf("pushed %s, the registry holds %s", digest, held)
		}
		return digest
	}
	if a, b := push("a", false, base), push("b", false, later); a == b {
		t.Fatalf("two creation times gave one digest %s without --reproducible; the test proves nothing", a)
	}
	if a, b := push("c", true, base), push("d", true, later); a != b {
		t.Fatalf("canonical pushes differ: %s and %s", a, b)
	}
	img, err := remote.Image(mustRef(t, "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:c"), remoteOptions(endpoint, creds)...)
	if err != nil {
		t.Fatal(err)
	}
	if cf, err := img.ConfigFile(); err != nil || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Fatalf("canonical image created %v (%v), want the Unix epoch", cf.Created, err)
	}
	if a, b := push("e", true, base, arm), push("f", true, later, armLater); a != b {
		t.Fatalf("canonical index pushes differ: %s and %s", a, b)
	}
	// Variants listed in another order (as an engine lists them in whichever
	// order their builds finished) give the same index.
	ref := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:g"
	swapped, err := pipeline.PushLayout(ctx, layoutTarballArchs(t, []string{"arm64", "amd64"}, arm, base), ref, creds, pipeline.PushOptions{Through: endpoint, Canonical: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := push("e2", true, base, arm); !strings.HasSuffix(swapped, "@"+e) {
		t.Fatalf("variants in another order pushed %s, want %s", swapped, e)
	}
	// The index keeps its platforms.
	idx, err := remote.Index(mustRef(t, "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:e"), remoteOptions(endpoint, creds)...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 || im.Manifests[0].Platform == nil || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("canonical index manifests = %+v, want amd64 and arm64", im.Manifests)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func remoteOptions(endpoint string, creds pipeline.RegistryCredentials) []remote.Option {
	u, _ := url.Parse(endpoint)
	return []remote.Option{
		remote.WithAuth(&authn.Basic{Username: creds.Username, Password: creds.Password}),
		remote.WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.URL.Scheme, r.URL.Host = u.Scheme, u.Host
			return http.DefaultTransport.RoundTrip(r)
		})),
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func getManifest(t *testing.T, endpoint, ref string, creds pipeline.RegistryCredentials) *remote.Descriptor {
	t.Helper()
	desc, err := remote.Get(mustRef(t, ref), remoteOptions(endpoint, creds)...)
	if err != nil {
		t.Fatalf("reading %s back: %v", ref, err)
	}
	return desc
}

// TestStandInTasksPullFromItsRegistry: tasks whose image the stand-in's
// registry lacks never start, and say so as ECS does; tasks of a pushed
// image, or of an image elsewhere, run.
func TestStandInTasksPullFromItsRegistry(t *testing.T) {
	ctx := context.Background()
	clock := ecssim.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	endpoint, clients := startStandIn(t, ecssim.WithClock(clock))
	creds, err := pipeline.ECRLogin(ctx, clients.ECR)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := pipeline.PushImage(ctx, randomImage(t, time.Now()), "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1", creds, pipeline.PushOptions{Through: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	missing := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v2"
	for name, image := range map[string]string{"pushed": pushed, "missing": missing, "elsewhere": "public.ecr.aws/docker/library/busybox:1"} {
		td, err := clients.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String(name),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image), Essential: aws.Bool(true)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := clients.ECS.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("rehearsal"), ServiceName: aws.String(name),
			TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	for name, wantRunning := range map[string]bool{"pushed": true, "missing": false, "elsewhere": true} {
		out, err := clients.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("rehearsal"), Services: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		svc := out.Services[0]
		if running := svc.RunningCount == 1; running != wantRunning {
			t.Errorf("service %s runs %d tasks, want running=%v", name, svc.RunningCount, wantRunning)
		}
		if wantRunning {
			continue
		}
		stopped, err := clients.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("rehearsal"), ServiceName: aws.String(name), DesiredStatus: ecstypes.DesiredStatusStopped})
		if err != nil || len(stopped.TaskArns) == 0 {
			t.Fatalf("no stopped tasks for %s: %v", name, err)
		}
		tasks, err := clients.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("rehearsal"), Tasks: stopped.TaskArns[:1]})
		if err != nil {
			t.Fatal(err)
		}
		if reason := aws.ToString(tasks.Tasks[0].StoppedReason); !strings.Contains(reason, "CannotPullContainerError") || !strings.Contains(reason, missing) {
			t.Errorf("stopped reason %q, want CannotPullContainerError naming %s", reason, missing)
		}
	}
}

// TestPushSurvivesDroppedConnections: a registry (or a tunnel to it) that
// drops connections for seconds, as a restarting load
// balancer or Dagger's tunnel to a registry on the host may, still gets
// the image: the push retries dropped connections for seconds, not the
// library's 0.4 s.
func TestPushSurvivesDroppedConnections(t *testing.T) {
	ctx := context.Background()
	endpoint, clients := startStandIn(t)
	creds, err := pipeline.ECRLogin(ctx, clients.ECR)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var dropped atomic.Int32
	until := time.Now().Add(4 * time.Second)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Now().Before(until) {
			dropped.Add(1)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // the client reads EOF
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	ref := "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:flaky"
	got, err := pipeline.PushLayout(ctx, layoutTarball(t, randomImage(t, time.Now())), ref, creds, pipeline.PushOptions{Through: flaky.URL})
	if err != nil {
		t.Fatalf("push through a registry dropping connections for 4 s: %v", err)
	}
	if dropped.Load() < 2 {
		t.Fatalf("only %d connections were dropped: the test proves nothing", dropped.Load())
	}
	_, digest, _ := strings.Cut(got, "@")
	if held := getManifest(t, endpoint, ref, creds).Digest.String(); held != digest {
		t.Fatalf("pushed %s, the registry holds %s", digest, held)
	}
}

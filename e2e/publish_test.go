package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/internal/registryserver"
	"github.com/ecs-pipeline/ecs-pipeline/internal/testserver"
)

// TestPublish pushes the sample app from a git checkout to the stand-in
// ECR, checks the returned reference against the registry's API, then
// publishes again and checks that nothing is uploaded twice.
func TestPublish(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	token := ecrToken(t, moto)
	reg := registryserver.Start(t, "AWS", token)
	src := copyApp(t)
	commit := gitCommitAll(t, src)
	repo := reg.Host + "/app"

	first := daggerCall(t, append(append([]string{"--source", src, "--registry-endpoint", "tcp://" + reg.Host}, awsArgs(moto)...),
		"publish", "--repository", repo, "--create-repository")...)
	if first.err != nil {
		t.Fatalf("publish: %v\n%s", first.err, first.all())
	}
	assertNoSecrets(t, first, token)
	ref := first.out()
	pinned := regexp.MustCompile(`^` + regexp.QuoteMeta(repo+":"+commit) + `@(sha256:[0-9a-f]{64})$`)
	m := pinned.FindStringSubmatch(ref)
	if m == nil {
		t.Fatalf("publish printed %q, want %s:%s@sha256:<digest>", ref, repo, commit)
	}
	got, err := reg.ManifestDigest("app", commit)
	if err != nil || got != m[1] {
		t.Fatalf("registry serves app:%s as %q (%v), publish reported %s", commit, got, err, m[1])
	}
	assertRepositoryExists(t, moto, "app")
	uploads := reg.BlobUploads("app")
	if uploads == 0 {
		t.Fatalf("the registry log shows no blob uploads after the first push:\n%s", reg.Log())
	}

	// Unchanged source, one more tag: the same digest, and no blob uploaded.
	second := daggerCall(t, append(append([]string{"--source", src, "--registry-endpoint", "tcp://" + reg.Host}, awsArgs(moto)...),
		"publish", "--repository", repo, "--tag", commit, "--tag", "stable")...)
	if second.err != nil {
		t.Fatalf("second publish: %v\n%s", second.err, second.all())
	}
	if second.out() != ref {
		t.Errorf("second publish printed %q, want %q", second.out(), ref)
	}
	if d, err := reg.ManifestDigest("app", "stable"); err != nil || d != m[1] {
		t.Errorf("app:stable is %q (%v), want %s", d, err, m[1])
	}
	if again := reg.BlobUploads("app") - uploads; again != 0 {
		t.Errorf("the second publish uploaded %d blobs, want 0", again)
	}
	t.Logf("first publish uploaded %d blobs; second publish uploaded %d", uploads, reg.BlobUploads("app")-uploads)
}

// TestPublishMultiPlatform pushes one image for two platforms from a source
// without .git, so the default tag is a content hash.
func TestPublishMultiPlatform(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	reg := registryserver.Start(t, "AWS", ecrToken(t, moto))
	repo := reg.Host + "/multi"

	r := daggerCall(t, append(append([]string{"--source", copyApp(t), "--registry-endpoint", "tcp://" + reg.Host}, awsArgs(moto)...),
		"publish", "--repository", repo, "--platform", "linux/amd64", "--platform", "linux/arm64")...)
	if r.err != nil {
		t.Fatalf("publish: %v\n%s", r.err, r.all())
	}
	m := regexp.MustCompile(`^` + regexp.QuoteMeta(repo) + `:(src-[0-9a-f]{12})@(sha256:[0-9a-f]{64})$`).FindStringSubmatch(r.out())
	if m == nil {
		t.Fatalf("publish printed %q, want %s:src-<hash>@sha256:<digest>", r.out(), repo)
	}
	var index struct {
		MediaType string
		Manifests []struct {
			Platform struct{ OS, Architecture string }
		}
	}
	getJSON(t, reg, "/v2/multi/manifests/"+m[2], &index)
	var platforms []string
	for _, mf := range index.Manifests {
		platforms = append(platforms, mf.Platform.OS+"/"+mf.Platform.Architecture)
	}
	if got := strings.Join(platforms, ","); !strings.Contains(got, "linux/amd64") || !strings.Contains(got, "linux/arm64") {
		t.Errorf("the pushed index lists platforms %q, want linux/amd64 and linux/arm64", got)
	}
}

// TestPublishReproducible pushes a two-platform image with --reproducible
// through --registry-endpoint: an index of both platforms
// whose images carry no time but the Unix epoch, the same digest when
// pushed again, and a digest other than the engine's own push of it.
func TestPublishReproducible(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	reg := registryserver.Start(t, "AWS", ecrToken(t, moto))
	repo := reg.Host + "/repro"
	app := copyApp(t)
	// reproducible: push through the registry endpoint with --reproducible;
	// otherwise the engine pushes as usual.
	publish := func(reproducible bool) string {
		t.Helper()
		args := append([]string{"--source", app, "--registry-endpoint", "tcp://" + reg.Host}, awsArgs(moto)...)
		args = append(args, "publish", "--repository", repo, "--platform", "linux/amd64", "--platform", "linux/arm64")
		if reproducible {
			args = append(args, "--reproducible", "--tag", "repro")
		}
		r := daggerCall(t, args...)
		if r.err != nil {
			t.Fatalf("publish (reproducible %v): %v\n%s", reproducible, r.err, tail(r.all(), 40))
		}
		assertNoSecrets(t, r, ecrToken(t, moto))
		_, digest, ok := strings.Cut(r.out(), "@")
		if !ok {
			t.Fatalf("publish printed %q, want a digest-pinned reference", r.out())
		}
		if held, err := reg.ManifestDigest("repro", digest); err != nil || held != digest {
			t.Fatalf("the registry holds %q for %s (%v)", held, digest, err)
		}
		return digest
	}
	first := publish(true)
	if again := publish(true); again != first {
		a, _ := reg.Get("/v2/repro/manifests/" + first)
		b, _ := reg.Get("/v2/repro/manifests/" + again)
		t.Errorf("--reproducible pushed %s, then %s:\n%s\n%s", first, again, a, b)
	}
	if plain := publish(false); plain == first {
		t.Errorf("the engine's push and --reproducible gave one digest %s: the build has no timestamps to normalise, so this test proves nothing", plain)
	}

	var index struct {
		Manifests []struct {
			Digest   string
			Platform struct{ OS, Architecture string }
		}
	}
	getJSON(t, reg, "/v2/repro/manifests/"+first, &index)
	if len(index.Manifests) != 2 {
		t.Fatalf("the reproducible index lists %d images, want 2", len(index.Manifests))
	}
	for _, m := range index.Manifests {
		var manifest struct{ Config struct{ Digest string } }
		getJSON(t, reg, "/v2/repro/manifests/"+m.Digest, &manifest)
		var config struct {
			Architecture string
			Created      string
			History      []struct{ Created string }
		}
		getJSON(t, reg, "/v2/repro/blobs/"+manifest.Config.Digest, &config)
		if config.Architecture != m.Platform.Architecture || config.Created != "1970-01-01T00:00:00Z" {
			t.Errorf("%s image: architecture %q created %q, want %s and the Unix epoch", m.Platform.Architecture, config.Architecture, config.Created, m.Platform.Architecture)
		}
		for _, h := range config.History {
			if h.Created != "" && h.Created != "1970-01-01T00:00:00Z" {
				t.Errorf("%s image: a history entry created %s", m.Platform.Architecture, h.Created)
			}
		}
	}
}

// TestPublishBadInput: each mistake ends the call with an error that names
// it, and nothing is reported as pushed.
func TestPublishBadInput(t *testing.T) {
	t.Parallel()
	moto := motoserver.Start(t)
	token := ecrToken(t, moto)
	reg := registryserver.Start(t, "AWS", token)
	wrongPassword := registryserver.Start(t, "AWS", "not-the-ecr-token")
	refusingMoto := motoserver.Start(t, "INITIAL_NO_AUTH_ACTION_COUNT=0")
	nobody := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t, 5001, 5010))

	broken := copyApp(t)
	writeFile(t, broken+"/Dockerfile", "FROM alpine:3.22\nRUN echo compiling && exit 3\n")

	cases := []struct {
		name   string
		moto   string
		args   []string
		want   []string
		reg    *registryserver.Registry
		source string
	}{
		{name: "missing Dockerfile", args: []string{"--repository", reg.Host + "/app", "--dockerfile", "build/Dockerfile"},
			want: []string{`no Dockerfile at "build/Dockerfile"`}},
		{name: "failing build", source: broken, args: []string{"--repository", reg.Host + "/app", "--tag", "broken"},
			want: []string{"exit code: 3"}, reg: reg},
		{name: "repository with a tag", args: []string{"--repository", reg.Host + "/app:v1"},
			want: []string{`repository "` + reg.Host + `/app:v1"`}},
		{name: "invalid tag", args: []string{"--repository", reg.Host + "/app", "--tag", "-v1"},
			want: []string{`tag "-v1"`}},
		{name: "ECR refuses the credentials", moto: refusingMoto, args: []string{"--repository", reg.Host + "/app", "--tag", "refused"},
			want: []string{"getting ECR authorization token: AWS refused the credentials (HTTP 403)"}, reg: reg},
		{name: "registry refuses the token", args: []string{"--repository", wrongPassword.Host + "/app", "--tag", "refused"},
			want: []string{"pushing " + wrongPassword.Host + "/app:refused: the registry refused the credentials from ECR", "401 Unauthorized"}, reg: wrongPassword},
		{name: "unreachable registry", args: []string{"--repository", nobody + "/app", "--tag", "nowhere"},
			want: []string{"pushing " + nobody + "/app:nowhere: cannot reach the registry", "connection refused"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.moto == "" {
				c.moto = moto
			}
			if c.source == "" {
				c.source = copyApp(t)
			}
			args := append([]string{"--source", c.source}, awsArgs(c.moto)...)
			if c.reg != nil {
				args = append(args, "--registry-endpoint", "tcp://"+c.reg.Host)
			}
			r := daggerCall(t, append(args, append([]string{"publish"}, c.args...)...)...)
			if r.err == nil {
				t.Fatalf("publish succeeded, want an error:\n%s", r.all())
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("the error does not say %q:\n%s", w, tail(r.stderr, 40))
				}
			}
			if strings.Contains(r.stdout, "@sha256:") {
				t.Errorf("a failed publish printed a reference: %q", r.stdout)
			}
			if c.reg != nil {
				tag := c.args[len(c.args)-1]
				if d, err := c.reg.ManifestDigest("app", tag); err == nil {
					t.Errorf("the registry holds app:%s (%s) after a failed publish", tag, d)
				}
			}
			assertNoSecrets(t, r, token)
		})
	}
}

// assertRepositoryExists checks moto's ECR for a repository.
func assertRepositoryExists(t testing.TB, motoURL, name string) {
	t.Helper()
	out, err := motoClients(t, motoURL).ECR.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil || len(out.Repositories) != 1 || aws.ToString(out.Repositories[0].RepositoryName) != name {
		t.Errorf("ECR repository %q after publish --create-repository: %v", name, err)
	}
}

// getJSON reads a registry API path as JSON.
func getJSON(t testing.TB, reg *registryserver.Registry, path string, v any) {
	t.Helper()
	body, err := reg.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

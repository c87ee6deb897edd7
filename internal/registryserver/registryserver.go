// Package registryserver runs a real OCI registry (docker-registry, the
// CNCF distribution registry packaged by Debian) as a stand-in for ECR in
// tests: one htpasswd user, plain http on 127.0.0.1.
package registryserver

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ecs-pipeline/ecs-pipeline/internal/testserver"
)

// The offline Dagger engine pushes over plain http only to loopback ports
// 5000-5010, and 5000 is its image mirror.
const firstPort, lastPort = 5001, 5010

// Registry is a running registry.
type Registry struct {
	// Host is host:port, the registry part of image references.
	Host string

	username, password string
	proc               *testserver.Process
}

// Start runs a registry that accepts username and password only, and stops
// it when the test ends.
func Start(t testing.TB, username, password string) *Registry {
	t.Helper()
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	write(t, htpasswd, username+":"+string(hash)+"\n")
	r := start(t, dir, fmt.Sprintf("auth: {htpasswd: {realm: ecs-pipeline-test, path: %s}}\n", htpasswd))
	r.username, r.password = username, password
	return r
}

// StartOpen runs a registry anyone may push to and pull from, as a team's
// mirror inside its network might be, and stops it when the test ends.
func StartOpen(t testing.TB) *Registry {
	t.Helper()
	return start(t, t.TempDir(), "")
}

func start(t testing.TB, dir, auth string) *Registry {
	t.Helper()
	r := &Registry{}
	_, r.proc = testserver.StartOnFreePort(t, firstPort, lastPort, func(port int) (string, testserver.Command) {
		r.Host = "127.0.0.1:" + strconv.Itoa(port)
		config := filepath.Join(dir, "config.yml")
		write(t, config, fmt.Sprintf(`version: 0.1
log: {level: info, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: %s}
`, filepath.Join(dir, "data"), r.Host)+auth)
		return "http://" + r.Host + "/v2/", testserver.Command{
			Program: "docker-registry",
			Args:    []string{"serve", config},
		}
	})
	return r
}

// BlobUploads counts the blobs pushed into a repository so far: completed
// uploads (PUT .../blobs/uploads/...?digest=), not blobs the pusher found
// already present.
func (r *Registry) BlobUploads(repo string) int {
	n := 0
	for _, line := range strings.Split(r.proc.Output(), "\n") {
		if strings.Contains(line, `"PUT /v2/`+repo+`/blobs/uploads/`) && strings.Contains(line, "digest=") {
			n++
		}
	}
	return n
}

// ManifestPuts counts the manifests pushed into a repository so far (one
// per tag pushed).
func (r *Registry) ManifestPuts(repo string) int {
	n := 0
	for _, line := range strings.Split(r.proc.Output(), "\n") {
		if strings.Contains(line, `"PUT /v2/`+repo+`/manifests/`) {
			n++
		}
	}
	return n
}

// ManifestDigest returns the digest the registry serves for repo:reference,
// read from its API (HEAD /v2/<repo>/manifests/<reference>).
func (r *Registry) ManifestDigest(repo, reference string) (string, error) {
	resp, err := r.do(http.MethodHead, "/v2/"+repo+"/manifests/"+reference)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	return resp.Header.Get("Docker-Content-Digest"), nil
}

// Get reads an API path, such as /v2/app/manifests/<digest>.
func (r *Registry) Get(path string) ([]byte, error) {
	resp, err := r.do(http.MethodGet, path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// do sends an authenticated request that accepts any manifest type and
// fails unless the answer is 200 OK.
func (r *Registry) do(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://"+r.Host+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(r.username, r.password)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json",
		"application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json",
		"application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s", method, req.URL, resp.Status)
	}
	return resp, nil
}

// Log returns the registry's log so far, for failure messages.
func (r *Registry) Log() string { return r.proc.Output() }

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

package pipeline_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// roleARN loads and renders the config opts name and returns the task role its
// tfstate lookup gives.
func roleARN(t *testing.T, opts pipeline.LoadConfigOptions) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := pipeline.LoadConfig(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cfg.RenderTaskDefinition(ctx, pipeline.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	arn, _ := d.Body["taskRoleArn"].(string)
	return arn
}

// TestLocalStateReadAgainWhenChanged: a local state file is read once
// while it stays as it was (same size and modification time), and again
// once it changes.
func TestLocalStateReadAgainWhenChanged(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", "region: us-east-1\nservice: app\ntask_definition: td.jsonnet\nplugins:\n  - name: tfstate\n    config:\n      path: local.tfstate\n")
	write(t, dir, "td.jsonnet", "{family: 'app', taskRoleArn: std.native('tfstate')('aws_iam_role.task.arn'), containerDefinitions: [{name: 'app', image: 'busybox'}]}")
	state, err := os.ReadFile("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "local.tfstate")
	write(t, dir, "local.tfstate", string(state))
	opts := pipeline.LoadConfigOptions{Dir: dir, AWSOptions: pipeline.AWSOptions{EndpointURL: "http://127.0.0.1:1", AccessKeyID: "x", SecretAccessKey: "x"}}
	first := roleARN(t, opts)
	if !strings.HasPrefix(first, "arn:aws:iam::") {
		t.Fatalf("taskRoleArn = %q, want the role from the state", first)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	// The same size and time: the state read before stands.
	same := strings.ReplaceAll(string(state), first, strings.Repeat("x", len(first)))
	if same == string(state) {
		t.Fatalf("the state does not hold %q", first)
	}
	write(t, dir, "local.tfstate", same)
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := roleARN(t, opts); got != first {
		t.Errorf("an unchanged state was read again: taskRoleArn = %q, want %q", got, first)
	}

	// A new time: read again.
	if err := os.Chtimes(path, fi.ModTime().Add(time.Second), fi.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := roleARN(t, opts); got != strings.Repeat("x", len(first)) {
		t.Errorf("a changed state was not read again: taskRoleArn = %q", got)
	}
}

// TestS3StateReadOnce: loads of configs reading one S3 state fetch it
// once, and through another endpoint it is fetched again; a failed fetch
// is not kept.
func TestS3StateReadOnce(t *testing.T) {
	state, err := os.ReadFile("testdata/tfstate/terraform.tfstate")
	if err != nil {
		t.Fatal(err)
	}
	var gets, fail atomic.Int32
	s3 := func() *httptest.Server {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || r.URL.Path != "/tfstate/app/terraform.tfstate" {
				http.NotFound(w, r)
				return
			}
			gets.Add(1)
			if fail.Load() > 0 {
				fail.Add(-1)
				http.Error(w, "<Error><Code>AccessDenied</Code></Error>", http.StatusForbidden)
				return
			}
			w.Write(state)
		}))
		t.Cleanup(ts.Close)
		return ts
	}
	dir := t.TempDir()
	write(t, dir, "ecspresso.yml", "region: us-east-1\nservice: app\ntask_definition: td.jsonnet\nplugins:\n  - name: tfstate\n    config:\n      url: s3://tfstate/app/terraform.tfstate\n")
	write(t, dir, "td.jsonnet", "{family: 'app', taskRoleArn: std.native('tfstate')('aws_iam_role.task.arn'), containerDefinitions: [{name: 'app', image: 'busybox'}]}")
	opts := pipeline.LoadConfigOptions{Dir: dir, AWSOptions: pipeline.AWSOptions{EndpointURL: s3().URL, AccessKeyID: "x", SecretAccessKey: "x"}}

	fail.Store(1)
	if _, err := pipeline.LoadConfig(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "s3://tfstate/app/terraform.tfstate") {
		t.Fatalf("LoadConfig with S3 refusing: %v", err)
	}
	for range 3 {
		if arn := roleARN(t, opts); !strings.HasPrefix(arn, "arn:aws:iam::") {
			t.Fatalf("taskRoleArn = %q, want the role from the state", arn)
		}
	}
	if n := gets.Load(); n != 2 {
		t.Errorf("%d GetObject calls for a failed load and three good ones, want 2", n)
	}
	opts.AWSOptions.EndpointURL = s3().URL
	roleARN(t, opts)
	if n := gets.Load(); n != 3 {
		t.Errorf("%d GetObject calls after a load through another endpoint, want 3", n)
	}
}

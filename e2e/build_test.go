package e2e

import (
	"strings"
	"testing"
)

// TestBuild builds the sample app for another platform and runs a command
// in the result (arm64, under qemu on this machine).
func TestBuild(t *testing.T) {
	t.Parallel()
	r := daggerCall(t, "--source", copyApp(t), "build", "--platform", "linux/arm64",
		"with-exec", "--args", "uname,-m", "stdout")
	if r.err != nil || r.out() != "aarch64" {
		t.Fatalf("build --platform linux/arm64, then uname -m = %q (%v), want aarch64\n%s", r.out(), r.err, tail(r.all(), 30))
	}
}

// TestTest runs the sample app's tests both ways (Dockerfile stage, command
// in an image), passing and with a deliberately failing test added.
func TestTest(t *testing.T) {
	t.Parallel()
	failing := copyApp(t)
	writeFile(t, failing+"/fail_test.go", `package main

import "testing"

func TestDeliberateFailure(t *testing.T) { t.Fatal("deliberately failing test") }
`)
	cases := []struct {
		name, source string
		args         []string
		wantErr      bool
		want         string
	}{
		{"stage passes", copyApp(t), nil, false, `tests passed: stage "test"`},
		{"stage fails", failing, nil, true, "--- FAIL: TestDeliberateFailure"},
		{"command passes", copyApp(t), []string{"--image", "golang:1.25-alpine", "--command", "go test -v ./..."}, false, "--- PASS: TestHealthz"},
		{"command fails", failing, []string{"--image", "golang:1.25-alpine", "--command", "go test -v ./..."}, true, "deliberately failing test"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := daggerCall(t, append([]string{"--source", c.source, "test"}, c.args...)...)
			if (r.err != nil) != c.wantErr {
				t.Fatalf("test: err = %v, want error: %v\n%s", r.err, c.wantErr, tail(r.all(), 30))
			}
			where := r.stdout
			if c.wantErr {
				where = r.stderr
			}
			if !strings.Contains(where, c.want) {
				t.Errorf("output lacks %q:\n%s", c.want, tail(r.all(), 30))
			}
		})
	}
}

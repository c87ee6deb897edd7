package lint

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsShellcheck runs shellcheck on the CI scripts, following the
// files they source.
func TestScriptsShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatalf("shellcheck is not on PATH (.ci/run installs it): %v", err)
	}
	scripts, err := filepath.Glob("../../.ci/*")
	if err != nil || len(scripts) < 4 {
		t.Fatalf("found %v in .ci (%v), want the CI scripts", scripts, err)
	}
	// From the repository root, where the scripts' source paths start.
	for i, s := range scripts {
		scripts[i], _ = filepath.Rel("../..", s)
	}
	cmd := exec.Command(shellcheck, append([]string{"-x", "--shell=bash"}, scripts...)...)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck .ci: %v\n%s", err, out)
	}
}

package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// workflows lists the workflow files of this repository and its starter kit.
func workflows(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"../../.github/workflows", "../../templates/.github/workflows"} {
		m, err := filepath.Glob(filepath.Join(dir, "*.yml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatal("no workflow files found")
	}
	return files
}

// TestWorkflowsLint runs actionlint on every workflow, with shellcheck on
// their run: scripts.
func TestWorkflowsLint(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatalf("shellcheck is not on PATH (.ci/run installs it): %v", err)
	}
	for _, f := range workflows(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		linter, err := actionlint.NewLinter(os.Stderr, &actionlint.LinterOptions{Shellcheck: shellcheck})
		if err != nil {
			t.Fatal(err)
		}
		errs, err := linter.Lint(f, fillPlaceholders(src), nil)
		if err != nil {
			t.Fatalf("linting %s: %v", f, err)
		}
		for _, e := range errs {
			t.Errorf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind)
		}
	}
}

// pinned is a step that uses an action by full commit SHA, with the
// version it stands for in a comment.
var pinned = regexp.MustCompile(`^\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d`)

// TestActionsPinnedBySHA: a tag can be moved; a commit cannot.
func TestActionsPinnedBySHA(t *testing.T) {
	for _, f := range workflows(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "uses:") && !pinned.MatchString(line) {
				t.Errorf("%s:%d: action not pinned by commit SHA (uses: owner/repo@<40 hex> # vX): %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// fillPlaceholders gives the starter kit's [[ .Field ]] placeholders
// example values, as init would.
func fillPlaceholders(src []byte) []byte {
	return regexp.MustCompile(`\[\[ *\.\w+ *\]\]`).ReplaceAll(src, []byte("placeholder"))
}

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

// TestStarterWorkflowsCheckTheirSettings runs the "Check settings" step of
// each starter workflow: without the AWS_ROLE_ARN variable it must fail
// with a message that names it, before any step that reaches AWS.
func TestStarterWorkflowsCheckTheirSettings(t *testing.T) {
	files, err := filepath.Glob("../../templates/.github/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no starter workflows: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, errs := actionlint.Parse(fillPlaceholders(src))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs[0])
		}
		for _, job := range wf.Jobs {
			if len(job.Steps) == 0 || job.Steps[0].Name == nil || job.Steps[0].Name.Value != "Check settings" {
				t.Errorf("%s: job %s does not start with a \"Check settings\" step", f, job.ID.Value)
				continue
			}
			script := job.Steps[0].Exec.(*actionlint.ExecRun).Run.Value
			for _, c := range []struct {
				role    string
				wantErr bool
			}{{"", true}, {"arn:aws:iam::123456789012:role/deploy", false}} {
				cmd := exec.Command("bash", "-e", "-c", script)
				cmd.Env = append(os.Environ(), "AWS_ROLE_ARN="+c.role)
				out, err := cmd.CombinedOutput()
				if (err != nil) != c.wantErr {
					t.Errorf("%s: Check settings with AWS_ROLE_ARN=%q: %v, want failure %v\n%s", f, c.role, err, c.wantErr, out)
				}
				if c.wantErr && !strings.Contains(string(out), "::error::Set the repository variable AWS_ROLE_ARN") {
					t.Errorf("%s: Check settings does not name the missing variable:\n%s", f, out)
				}
			}
		}
	}
}

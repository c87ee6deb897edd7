package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// generated are the files `dagger develop` writes; they are committed so a
// fresh clone vets and builds without an engine.
var generated = []string{"dagger.gen.go", "internal/dagger/dagger.gen.go", "internal/querybuilder", "internal/telemetry"}

// TestGeneratedCodeIsCurrent regenerates the module's code in a copy of the
// repository and compares it with what is committed.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	files, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	copyDir := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue // deleted in the work tree
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(copyDir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("dagger", "develop", "--progress=plain")
	cmd.Dir = copyDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dagger develop: %v\n%s", err, tail(string(out), 30))
	}
	for _, g := range append(generated, "go.mod", "go.sum", ".gitignore", "dagger.json") {
		filepath.WalkDir(filepath.Join(copyDir, g), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(copyDir, path)
			want, _ := os.ReadFile(path)
			got, _ := os.ReadFile(filepath.Join(root, rel))
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what `dagger develop` generates: run `dagger develop` and commit", rel)
			}
			return nil
		})
	}
}

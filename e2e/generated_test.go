package e2e

import (
	"bytes"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			if !bytes.Equal(got, want) && (!strings.HasSuffix(rel, ".go") || declarations(t, rel, got) != declarations(t, rel, want)) {
				t.Errorf("%s differs from what `dagger develop` generates: run `dagger develop` and commit", rel)
			}
			return nil
		})
	}
}

// declarations is a Go file's imports and top-level declarations, each
// printed on its own and sorted. Dagger v0.19.10's Go codegen writes the
// MarshalJSON and UnmarshalJSON methods of the module's types in an order
// that varies from one uncached run to the next (seen here: Deployment's
// and EcsService's swap places), so the generated code is compared as a
// set of declarations: a missing, extra or changed one still fails.
func declarations(t *testing.T, name string, src []byte) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return string(src) // not Go: compared byte for byte
	}
	var decls []string
	for _, d := range f.Decls {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, d); err != nil {
			t.Fatalf("printing a declaration of %s: %v", name, err)
		}
		decls = append(decls, b.String())
	}
	slices.Sort(decls)
	return f.Name.Name + "\n" + strings.Join(decls, "\n")
}

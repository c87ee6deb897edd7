package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
)

// The module's package cannot run tests (its generated code needs a
// Dagger session), so what it declares is read from its source here.

// moduleValue returns the value of a top-level var or const of the module
// (the repository's root package): a string, or a list of strings.
func moduleValue(t *testing.T, name string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gen.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
					continue
				}
				return stringsOf(t, vs.Values[0], consts(t, files))
			}
		}
	}
	t.Fatalf("the module declares no %s", name)
	return nil
}

// consts are the module's string constants.
func consts(t *testing.T, files []string) map[string]string {
	m := map[string]string{}
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, id := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							m[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
	}
	return m
}

func stringsOf(t *testing.T, e ast.Expr, consts map[string]string) []string {
	t.Helper()
	switch v := e.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(v.Value)
		if err != nil {
			t.Fatal(err)
		}
		return []string{s}
	case *ast.Ident:
		s, ok := consts[v.Name]
		if !ok {
			t.Fatalf("%s is not a string constant of the module", v.Name)
		}
		return []string{s}
	case *ast.CompositeLit:
		var out []string
		for _, el := range v.Elts {
			out = append(out, stringsOf(t, el, consts)...)
		}
		return out
	}
	t.Fatalf("cannot read %T as strings", e)
	return nil
}

// The module offers the simulator's scenarios without importing the
// simulator (it would enter the module's build): its list must stay true.
func TestRehearsalScenariosAreTheSimulators(t *testing.T) {
	got := moduleValue(t, "rehearsalScenarios")
	want := []string{"failing-migration"}
	for name := range ecssim.Scenarios {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("rehearsalScenarios = %q, want %q", got, want)
	}
}

// The engine is built from engineSources only: every package of this
// module that its programs import must be in it.
func TestEngineSourcesHoldWhatTheEngineImports(t *testing.T) {
	sources := moduleValue(t, "engineSources")
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", "./cmd/ecs-pipeline", "./cmd/ecssim")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d packages of this module, want the two programs and the library: %q", len(pkgs), pkgs)
	}
	for _, pkg := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, "github.com/ecs-pipeline/ecs-pipeline"), "/")
		covered := false
		for _, pattern := range sources {
			prefix, ok := strings.CutSuffix(pattern, "/**/*.go")
			covered = covered || ok && (rel == prefix || strings.HasPrefix(rel, prefix+"/"))
		}
		if !covered {
			t.Errorf("the engine imports %s, which engineSources leaves out of its build", pkg)
		}
	}
}

// A released engine is pinned by digest: a tag could be moved under the
// module's users. The pattern is also checked against what the release
// workflow writes.
func TestReleasedEngineIsPinnedByDigest(t *testing.T) {
	pinned := regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$`)
	if got := moduleValue(t, "releasedEngine")[0]; got != "" && !pinned.MatchString(got) {
		t.Errorf("releasedEngine = %q, want registry/name[:tag]@sha256:<64 hex>", got)
	}
	if w := "ghcr.io/acme/ecs-pipeline-engine:v1.2.3@sha256:" + strings.Repeat("0a", 32); !pinned.MatchString(w) {
		t.Errorf("the pin pattern refuses what the release workflow writes: %s", w)
	}
}

// The programs ship without test helpers: no package of this module that
// they import uses testing or net/http/httptest (sim/ecssimtest and
// internal/*server are for tests).
func TestEngineImportsNoTestHelpers(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}} {{join .Imports \" \"}}{{end}}{{end}}", "./cmd/ecs-pipeline", "./cmd/ecssim")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if imp == "testing" || imp == "net/http/httptest" {
				t.Errorf("%s imports %s", f[0], imp)
			}
		}
	}
}

// The module loads like a small one: its own package (the repository's
// root) compiles none of the engine's heavy dependencies and none of the
// engine, simulator or test helpers, which run in the engine image or in
// tests instead.
func TestModuleImportsNoEngine(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/ecs-pipeline/ecs-pipeline/internal/dagger") {
		t.Fatalf("go list -deps . lists %d packages, not the module's (no Dagger API among them)", len(deps))
	}
	forbidden := []string{
		"github.com/aws/", "github.com/fujiwara/tfstate-lookup", "github.com/google/go-jsonnet",
		"github.com/google/go-containerregistry/pkg/v1", "github.com/google/go-containerregistry/pkg/remote",
		"github.com/ecs-pipeline/ecs-pipeline/cmd/", "github.com/ecs-pipeline/ecs-pipeline/sim/",
		"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver", "github.com/ecs-pipeline/ecs-pipeline/internal/registryserver",
		"github.com/ecs-pipeline/ecs-pipeline/internal/testserver", "testing",
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("the module's package compiles %s", dep)
			}
		}
	}
	// pipeline/ itself is the engine's library; only the two small
	// packages the module shares with it may come in.
	for _, dep := range deps {
		if rest, ok := strings.CutPrefix(dep, "github.com/ecs-pipeline/ecs-pipeline/pipeline"); ok && rest != "/ref" && rest != "/starter" {
			t.Errorf("the module's package compiles %s", dep)
		}
	}
}

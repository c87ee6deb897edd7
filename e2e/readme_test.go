package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommands: README's first command is the rehearsal that
// TestRehearseSample runs, and its second is the test command .ci/run runs.
func TestReadmeCommands(t *testing.T) {
	root := moduleRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), 2)
	if len(blocks) < 2 {
		t.Fatalf("README has %d sh blocks, want the rehearsal and the test command first", len(blocks))
	}
	if got, want := strings.TrimSpace(blocks[0][1]), "dagger call -m github.com/ecs-pipeline/ecs-pipeline rehearse summary"; got != want {
		t.Errorf("README's first command is %q, want %q", got, want)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	test := strings.TrimSpace(blocks[1][1])
	if !strings.HasPrefix(test, "go test") && !strings.HasPrefix(test, "go vet") {
		t.Errorf("README's second command is %q, want the test command", test)
	}
	var runs bool
	for _, line := range strings.Split(string(ci), "\n") {
		runs = runs || strings.TrimSpace(line) == test
	}
	if !runs {
		t.Errorf(".ci/run does not run README's test command %q", test)
	}
}

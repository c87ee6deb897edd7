//go:build !reproducible

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// loadModuleFirst loads the module on the engine once, before the tests
// run in parallel: with Dagger v0.19.10, several clients loading a module
// the engine has not built yet can race on one snapshot ("failed to mount
// ... invalid argument").
func loadModuleFirst() error {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	cmd := exec.Command("dagger", "functions", "--progress=plain", "-m", root)
	cmd.Env = append(os.Environ(), "DO_NOT_TRACK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("loading the module with `dagger functions -m %s` failed (is the dagger CLI on PATH and an engine reachable? .ci/run provides both): %v\n%s", root, err, out)
	}
	return nil
}

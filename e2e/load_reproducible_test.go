//go:build reproducible

package e2e

// loadModuleFirst does nothing here: the reproducible test runs its own
// engines, one at a time, while the machine's engine is stopped.
func loadModuleFirst() error { return nil }

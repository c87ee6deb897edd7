package main

import (
	"regexp"
	"testing"
)

// A released engine is pinned by digest: a tag could be moved under the
// module's users.
func TestReleasedEngineIsPinnedByDigest(t *testing.T) {
	pinned := regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$`)
	if releasedEngine != "" && !pinned.MatchString(releasedEngine) {
		t.Errorf("releasedEngine = %q, want registry/name[:tag]@sha256:<64 hex>", releasedEngine)
	}
	const sed = `registry.example/ecs-pipeline-engine:v1.2.3@sha256:` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if !pinned.MatchString(sed) {
		t.Errorf("the pin pattern refuses what the release workflow writes: %s", sed)
	}
}

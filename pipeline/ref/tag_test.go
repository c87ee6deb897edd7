package ref

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestGitCommit(t *testing.T) {
	const a = "0123456789abcdef0123456789abcdef01234567"
	const b = "89abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		name   string
		files  fstest.MapFS
		want   string
		wantOK bool
	}{
		{"detached HEAD (actions/checkout)", fstest.MapFS{"HEAD": {Data: []byte(a + "\n")}}, a, true},
		{"loose branch ref", fstest.MapFS{
			"HEAD":            {Data: []byte("ref: refs/heads/main\n")},
			"refs/heads/main": {Data: []byte(b + "\n")},
		}, b, true},
		{"packed branch ref", fstest.MapFS{
			"HEAD":        {Data: []byte("ref: refs/heads/main\n")},
			"packed-refs": {Data: []byte("# pack-refs with: peeled fully-peeled sorted\n" + a + " refs/heads/other\n" + b + " refs/heads/main\n")},
		}, b, true},
		{"unborn branch", fstest.MapFS{"HEAD": {Data: []byte("ref: refs/heads/main\n")}}, "", false},
		{"no git directory", fstest.MapFS{}, "", false},
		{"garbage HEAD", fstest.MapFS{"HEAD": {Data: []byte("not a commit\n")}}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := GitCommit(func(p string) ([]byte, error) { return fs.ReadFile(c.files, p) })
			if ok != c.wantOK || (ok && got != c.want) {
				t.Errorf("GitCommit = %q, %v; want %q, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

func TestDefaultTag(t *testing.T) {
	if got := DefaultTag("0123456789abcdef0123456789abcdef01234567", "sha256:ffff"); got != "0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("with a commit: %q", got)
	}
	if got := DefaultTag("", "sha256:4f2a9c0d1e3b5a6978877665544332211"); got != "src-4f2a9c0d1e3b" {
		t.Errorf("without a commit: %q", got)
	}
}

func TestValidateTag(t *testing.T) {
	for _, ok := range []string{"v1.2.3", "main", "0123456789abcdef0123456789abcdef01234567", "src-4f2a9c0d1e3b", "a_b.c-d"} {
		if err := ValidateTag(ok); err != nil {
			t.Errorf("ValidateTag(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", ".x", "has space", "a/b", "x:y", string(make([]byte, 129))} {
		if err := ValidateTag(bad); err == nil {
			t.Errorf("ValidateTag(%q) = nil, want an error", bad)
		}
	}
}

// TestLengthBounds: the bounds the grammars give, at their edges.
func TestLengthBounds(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	if ValidateTag(a(128)) != nil || ValidateTag(a(129)) == nil {
		t.Errorf("ValidateTag: 128 characters want ok, 129 an error")
	}
	if !ECSName("a") || !ECSName(a(255)) || ECSName("") || ECSName(a(256)) || ECSName("a.b") {
		t.Errorf("ECSName: want 1 to 255 of [A-Za-z0-9_-]")
	}
	for s, want := range map[string]bool{a(40): true, a(64): true, a(39): false, a(41): false, a(63): false, a(65): false, strings.ToUpper(a(40)): false, "g" + a(39): false} {
		if isCommitID(s) != want {
			t.Errorf("isCommitID(%d characters %q...) = %v", len(s), s[:2], !want)
		}
	}
}

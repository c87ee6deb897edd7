package ref

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// validTag is the tag grammar of the OCI distribution spec.
var validTag = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

var commitID = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`) // SHA-1 or SHA-256 object names

// GitCommit returns the commit checked out in a git directory, reading its
// files through readFile (paths such as "HEAD", relative to .git). It
// resolves a symbolic HEAD through loose refs and packed-refs; ok is false
// when there is no git directory or HEAD names no commit yet.
func GitCommit(readFile func(path string) ([]byte, error)) (commit string, ok bool) {
	head, err := readFile("HEAD")
	if err != nil {
		return "", false
	}
	line := strings.TrimSpace(string(head))
	ref, symbolic := strings.CutPrefix(line, "ref: ")
	if !symbolic {
		return line, commitID.MatchString(line)
	}
	if loose, err := readFile(ref); err == nil {
		c := strings.TrimSpace(string(loose))
		return c, commitID.MatchString(c)
	}
	packed, err := readFile("packed-refs")
	if err != nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		c, r, _ := strings.Cut(sc.Text(), " ")
		if r == ref && commitID.MatchString(c) {
			return c, true
		}
	}
	return "", false
}

// DefaultTag is the tag publish uses when none is asked for: the source's
// git commit when known, otherwise "src-" and the start of the source's
// content digest, so an unchanged source always gets the same tag.
func DefaultTag(commit, sourceDigest string) string {
	if commit != "" {
		return commit
	}
	hex := strings.TrimPrefix(sourceDigest, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return "src-" + hex
}

// ValidateTag reports a tag that a registry would refuse.
func ValidateTag(tag string) error {
	if !validTag.MatchString(tag) {
		return fmt.Errorf("tag %q: want up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
	}
	return nil
}

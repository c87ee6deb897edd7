package ref

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// validTag reports whether tag follows the OCI distribution spec's tag
// grammar, [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, checked as a class and a
// length: bounded repeats compile a copy of their class per repeat, at
// every start of every program importing this package.
func validTag(tag string) bool {
	return len(tag) <= 128 && tagChars.MatchString(tag)
}

var tagChars = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]*$`)

// isCommitID reports whether s is a git object name: 40 (SHA-1) or 64
// (SHA-256) lowercase hex digits.
func isCommitID(s string) bool {
	return (len(s) == 40 || len(s) == 64) && hexDigits.MatchString(s)
}

var hexDigits = regexp.MustCompile(`^[0-9a-f]+$`)

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
		return line, isCommitID(line)
	}
	if loose, err := readFile(ref); err == nil {
		c := strings.TrimSpace(string(loose))
		return c, isCommitID(c)
	}
	packed, err := readFile("packed-refs")
	if err != nil {
		return "", false
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		c, r, _ := strings.Cut(sc.Text(), " ")
		if r == ref && isCommitID(c) {
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
	if !validTag(tag) {
		return fmt.Errorf("tag %q: want up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'", tag)
	}
	return nil
}

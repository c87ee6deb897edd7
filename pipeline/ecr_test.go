package pipeline

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRepository(t *testing.T) {
	cases := []struct {
		in   string
		want Repository
	}{
		{"123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app",
			Repository{Registry: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com", Name: "app", AccountID: "123456789012", Region: "ap-northeast-1"}},
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/team/app",
			Repository{Registry: "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", Name: "team/app", AccountID: "123456789012", Region: "us-east-1"}},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app",
			Repository{Registry: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Name: "app", AccountID: "123456789012", Region: "cn-north-1"}},
		{"127.0.0.1:5001/app", Repository{Registry: "127.0.0.1:5001", Name: "app"}},
		{"localhost:5001/team/app", Repository{Registry: "localhost:5001", Name: "team/app"}},
	}
	for _, c := range cases {
		got, err := ParseRepository(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRepository(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if err == nil && got.String() != c.in {
			t.Errorf("String() = %q, want %q", got.String(), c.in)
		}
	}
	for _, bad := range []string{"", "app", "team/app", "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app:v1",
		"127.0.0.1:5001/app@sha256:" + strings.Repeat("a", 64), "Registry.example.com/UPPER"} {
		if _, err := ParseRepository(bad); err == nil || !strings.Contains(err.Error(), "repository") {
			t.Errorf("ParseRepository(%q) = %v, want an error naming the repository", bad, err)
		}
	}
}

func TestRegistryCredentialsNeverFormatPassword(t *testing.T) {
	c := RegistryCredentials{Username: "AWS", Password: "s3cr3t-token"}
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("formatted credentials %q contain the password", s)
		}
	}
}

func TestPushError(t *testing.T) {
	cases := map[string]string{
		"failed to push r:t: unexpected status from HEAD request to http://r/v2/app/blobs/sha256:1: 401 Unauthorized":  "pushing r:t: the registry refused the credentials from ECR",
		`failed to do request: Head "http://127.0.0.1:5004/v2/": dial tcp 127.0.0.1:5004: connect: connection refused`: "pushing r:t: cannot reach the registry: failed to do request",
		"something else": "pushing r:t: something else",
	}
	for in, want := range cases {
		if got := PushError("r:t", errors.New(in)).Error(); !strings.HasPrefix(got, want) || !strings.Contains(got, in) {
			t.Errorf("PushError(%q) = %q, want it to start with %q and keep the cause", in, got, want)
		}
	}
}

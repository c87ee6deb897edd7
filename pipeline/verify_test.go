package pipeline

import (
	"net/url"
	"testing"
)

func TestTrustsECSTasks(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want bool
	}{
		{`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, true},
		{url.QueryEscape(`{"Statement":{"Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Action":["sts:AssumeRole"]}}`), true},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"}]}`, true},
		{`{"Statement":[{"Effect":"Deny","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:TagSession"}]}`, false},
		{`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`, false},
	} {
		if got, err := trustsECSTasks(c.doc); err != nil || got != c.want {
			t.Errorf("trustsECSTasks(%s) = %v, %v; want %v", c.doc, got, err, c.want)
		}
	}
	if _, err := trustsECSTasks("%7Bnot json"); err == nil {
		t.Error("trustsECSTasks accepted a document that is not JSON")
	}
}

func TestParseECRImage(t *testing.T) {
	const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	for _, c := range []struct {
		image string
		want  ecrImage
		ok    bool
	}{
		{host + "/team/app", ecrImage{"123456789012", "eu-west-1", "team/app", "latest", ""}, true},
		{host + "/app:v1", ecrImage{"123456789012", "eu-west-1", "app", "v1", ""}, true},
		{host + "/app:v1@sha256:abc", ecrImage{"123456789012", "eu-west-1", "app", "v1", "sha256:abc"}, true},
		{host + "/app@sha256:abc", ecrImage{"123456789012", "eu-west-1", "app", "latest", "sha256:abc"}, true},
		{"public.ecr.aws/nginx/nginx:1.27", ecrImage{}, false},
		{"nginx", ecrImage{}, false},
	} {
		if got, ok := parseECRImage(c.image); got != c.want || ok != c.ok {
			t.Errorf("parseECRImage(%q) = %+v, %v; want %+v, %v", c.image, got, ok, c.want, c.ok)
		}
	}
}

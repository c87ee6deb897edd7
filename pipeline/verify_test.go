package pipeline

import (
	"fmt"
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

func TestActionMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, action string
		want            bool
	}{
		{"ssmmessages:CreateControlChannel", "ssmmessages:CreateControlChannel", true},
		{"SSMMessages:createcontrolchannel", "ssmmessages:CreateControlChannel", true},
		{"ssmmessages:*", "ssmmessages:OpenDataChannel", true},
		{"*", "ssmmessages:OpenDataChannel", true},
		{"ssmmessages:Open*", "ssmmessages:OpenDataChannel", true},
		{"ssmmessages:Open*", "ssmmessages:CreateDataChannel", false},
		{"ssmmessages:*Channel", "ssmmessages:CreateDataChannel", true},
		{"ssmmessages:Open?ataChannel", "ssmmessages:OpenDataChannel", true},
		{"ssm:*", "ssmmessages:OpenDataChannel", false},
		{"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", false},
		{"ssmmessages:CreateDataChannel", "ssmmessages:CreateDataChannelX", false},
		{"", "ssmmessages:OpenDataChannel", false},
	} {
		if got := actionMatches(c.pattern, c.action); got != c.want {
			t.Errorf("actionMatches(%q, %q) = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

func TestEvaluateAction(t *testing.T) {
	const action = "ssmmessages:OpenDataChannel"
	for _, c := range []struct {
		name        string
		docs        []string
		allowed     bool
		conditional bool
		denied      bool
	}{
		{"action string, resource string", []string{`{"Statement":[{"Effect":"Allow","Action":"ssmmessages:*","Resource":"*"}]}`}, true, false, false},
		{"URL encoded, lists, one statement", []string{url.QueryEscape(`{"Statement":{"Effect":"Allow","Action":["s3:GetObject","ssmmessages:OpenDataChannel"],"Resource":["arn:aws:s3:::b/*","*"]}}`)}, true, false, false},
		{"resource not *", []string{`{"Statement":[{"Effect":"Allow","Action":"ssmmessages:*","Resource":"arn:aws:s3:::b"}]}`}, false, false, false},
		{"other action", []string{`{"Statement":[{"Effect":"Allow","Action":"ssmmessages:CreateDataChannel","Resource":"*"}]}`}, false, false, false},
		{"NotAction ignored", []string{`{"Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}`}, false, false, false},
		{"condition", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`}, true, true, false},
		{"unconditional wins over condition", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`,
			`{"Statement":[{"Effect":"Allow","Action":"ssmmessages:*","Resource":"*"}]}`,
		}, true, false, false},
		{"deny in another policy", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			`{"Statement":[{"Effect":"Deny","Action":"ssmmessages:Open*","Resource":"*"}]}`,
		}, true, false, true},
	} {
		var policies []namedPolicy
		for i, d := range c.docs {
			policies = append(policies, namedPolicy{fmt.Sprintf("policy %d", i), d})
		}
		v, err := evaluateAction(policies, action)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if (v.allowedBy != "") != c.allowed || v.conditional != c.conditional || (v.deniedBy != "") != c.denied {
			t.Errorf("%s: got %+v, want allowed %v conditional %v denied %v", c.name, v, c.allowed, c.conditional, c.denied)
		}
	}
	if _, err := evaluateAction([]namedPolicy{{"bad", "%7Bnot json"}}, action); err == nil {
		t.Error("evaluateAction accepted a document that is not JSON")
	}
}

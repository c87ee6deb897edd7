package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// execActions are the Session Manager channel actions the task role needs
// for ECS Exec: the SSM agent ECS starts in the container opens its control
// and data channels with the task's credentials. "Configure a task role
// with appropriate permissions. You must use a task role with the
// appropriate permissions for ECS Exec"
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec-run.html,
// Prerequisites); the actions are those of the ssmmessages service
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_ssmmessages.html).
var execActions = []string{
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
}

// execChecks checks what ECS Exec needs of the task definition when the
// service definition turns it on: a task role, and that role's policies
// allowing execActions.
func (v *verifier) execChecks(ctx context.Context, task *ecs.RegisterTaskDefinitionInput) {
	arn := aws.ToString(task.TaskRoleArn)
	if arn == "" {
		v.add(Check{Name: "exec task role", Subject: "-", Status: CheckFailed,
			Reason: "the service definition sets enableExecuteCommand, but the task definition sets no taskRoleArn: ECS Exec needs a task role"})
		v.add(Check{Name: "exec permissions", Subject: "-", Status: CheckSkipped, Reason: "the task definition sets no task role"})
		return
	}
	v.add(Check{Name: "exec task role", Subject: arn, Status: CheckOK, Reason: "the task definition sets a task role, which ECS Exec needs"})
	c := Check{Name: "exec permissions", Subject: arn}
	c.Status, c.Reason = v.execPermissions(ctx, arn[strings.LastIndex(arn, "/")+1:])
	v.add(c)
}

// namedPolicy is a policy document of a role and what to call it in a reason.
type namedPolicy struct {
	name string
	doc  string
}

// execPermissions reads every inline and attached managed policy of the
// role and evaluates them for execActions.
func (v *verifier) execPermissions(ctx context.Context, roleName string) (CheckStatus, string) {
	policies, err := v.rolePolicies(ctx, roleName)
	var noRole *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &noRole):
		return CheckFailed, fmt.Sprintf("role %s not found in IAM", roleName)
	case err != nil:
		return CheckFailed, fmt.Sprintf("reading the policies of role %s: %v", roleName, err)
	}
	var missing, conditional []string
	for _, action := range execActions {
		verdict, err := evaluateAction(policies, action)
		if err != nil {
			return CheckFailed, fmt.Sprintf("reading the policies of role %s: %v", roleName, err)
		}
		switch {
		case verdict.deniedBy != "":
			missing = append(missing, action+" (denied by "+verdict.deniedBy+")")
		case verdict.allowedBy == "":
			missing = append(missing, action)
		case verdict.conditional:
			conditional = append(conditional, action+" ("+verdict.allowedBy+")")
		}
	}
	if len(missing) > 0 {
		return CheckFailed, fmt.Sprintf("the policies of role %s do not allow %s, which ECS Exec needs on the task role", roleName, strings.Join(missing, ", "))
	}
	reason := fmt.Sprintf("role %s allows %s", roleName, strings.Join(execActions, ", "))
	if len(conditional) > 0 {
		reason += "; with conditions, not evaluated, for " + strings.Join(conditional, ", ")
	}
	return CheckOK, reason
}

// rolePolicies returns the documents of the role's inline policies and the
// default versions of its attached managed policies.
func (v *verifier) rolePolicies(ctx context.Context, roleName string) ([]namedPolicy, error) {
	var policies []namedPolicy
	var marker *string
	for {
		out, err := v.aws.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName), Marker: marker})
		if err != nil {
			return nil, err
		}
		for _, name := range out.PolicyNames {
			p, err := v.aws.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("inline policy %s: %w", name, err)
			}
			policies = append(policies, namedPolicy{"inline policy " + name, aws.ToString(p.PolicyDocument)})
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	marker = nil
	for {
		out, err := v.aws.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName), Marker: marker})
		if err != nil {
			return nil, err
		}
		for _, ap := range out.AttachedPolicies {
			arn := aws.ToString(ap.PolicyArn)
			p, err := v.aws.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
			if err != nil {
				return nil, fmt.Errorf("managed policy %s: %w", arn, err)
			}
			pv, err := v.aws.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: p.Policy.DefaultVersionId})
			if err != nil {
				return nil, fmt.Errorf("managed policy %s: %w", arn, err)
			}
			policies = append(policies, namedPolicy{"managed policy " + aws.ToString(ap.PolicyName), aws.ToString(pv.PolicyVersion.Document)})
		}
		if !out.IsTruncated {
			break
		}
		marker = out.Marker
	}
	return policies, nil
}

// policyStatement is the part of an IAM policy statement verify reads:
// Principal in a trust policy (trustsECSTasks), the rest in a permissions
// policy (evaluateAction).
type policyStatement struct {
	Effect    string
	Action    stringOrList
	NotAction stringOrList
	Resource  stringOrList
	Condition json.RawMessage
	Principal json.RawMessage // "*" or {"Service": ..., "AWS": ...}
}

// actionVerdict is what the policies of a role say about one action.
type actionVerdict struct {
	allowedBy   string // the policy of the first Allow, empty if none
	conditional bool   // every Allow has a Condition
	deniedBy    string // the policy of the first Deny, empty if none
}

// evaluateAction evaluates the policies for action on any resource. It is
// conservative: an Allow counts only with Action (not NotAction) matching
// and Resource "*"; an Allow with a Condition counts but is marked
// conditional; any Deny whose Action matches denies, whatever its Resource
// or Condition. Statements with NotAction are ignored.
func evaluateAction(policies []namedPolicy, action string) (actionVerdict, error) {
	var v actionVerdict
	for _, p := range policies {
		stmts, err := policyStatements(p.doc)
		if err != nil {
			return v, fmt.Errorf("%s: %w", p.name, err)
		}
		for _, s := range stmts {
			if !slices.ContainsFunc(s.Action, func(pattern string) bool { return actionMatches(pattern, action) }) {
				continue
			}
			conditional := len(s.Condition) > 0 && string(s.Condition) != "null" && string(s.Condition) != "{}"
			switch {
			case strings.EqualFold(s.Effect, "Deny"):
				if v.deniedBy == "" {
					v.deniedBy = p.name
				}
			case strings.EqualFold(s.Effect, "Allow") && slices.Contains(s.Resource, "*"):
				if v.allowedBy == "" || (v.conditional && !conditional) {
					v.allowedBy, v.conditional = p.name, conditional
				}
			}
		}
	}
	return v, nil
}

// policyStatements decodes a policy document, URL encoded as IAM returns
// it or not, whose Statement is a list or one object.
func policyStatements(doc string) ([]policyStatement, error) {
	if !strings.HasPrefix(strings.TrimSpace(doc), "{") {
		var err error
		if doc, err = url.QueryUnescape(doc); err != nil {
			return nil, err
		}
	}
	var policy struct{ Statement json.RawMessage }
	if err := json.Unmarshal([]byte(doc), &policy); err != nil {
		return nil, err
	}
	var stmts []policyStatement
	if err := json.Unmarshal(policy.Statement, &stmts); err != nil {
		var one policyStatement
		if err := json.Unmarshal(policy.Statement, &one); err != nil {
			return nil, err
		}
		stmts = []policyStatement{one}
	}
	return stmts, nil
}

// actionMatches reports whether an IAM Action pattern matches action. As
// in IAM, the match ignores case and the pattern may use * (any run of
// characters) and ? (one character): "ssmmessages:*" and "*" match every
// ssmmessages action.
func actionMatches(pattern, action string) bool {
	p, a := []rune(strings.ToLower(pattern)), []rune(strings.ToLower(action))
	// Iterative glob matching with one backtrack point for the last *.
	pi, ai, star, mark := 0, 0, -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == a[ai]):
			pi++
			ai++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

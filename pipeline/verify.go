package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// VerifyOptions configures Verify. The zero value verifies the definitions
// as rendered.
type VerifyOptions struct {
	// ImageOverrides maps a container name to the image verified instead of
	// the one in the task definition, as RenderOptions.ImageOverrides does
	// for deploy. Nil overrides nothing.
	ImageOverrides map[string]string
}

// CheckStatus is the outcome of one check.
type CheckStatus string

// The outcomes of a check. A skipped check did not apply, and says why.
const (
	CheckOK      CheckStatus = "OK"
	CheckFailed  CheckStatus = "FAILED"
	CheckSkipped CheckStatus = "SKIPPED"
)

// Check is one thing Verify looked up.
type Check struct {
	// Name is the kind of check: image, task role, execution role, exec
	// task role, exec permissions, log group, secret, cluster, service or
	// target group.
	Name string
	// Container is the container the checked value belongs to, empty for
	// task and service level checks.
	Container string
	// Subject is what was looked up: an image, ARN or name.
	Subject string
	// Status is the outcome.
	Status CheckStatus
	// Reason says what was found, or what is missing and where.
	Reason string
	// Warnings are problems that do not fail the check, such as an image
	// not pinned by digest.
	Warnings []string
}

// VerifyReport is the outcome of Verify: every check, in the order run.
type VerifyReport struct {
	Checks []Check
}

// OK reports whether no check failed.
func (r *VerifyReport) OK() bool {
	return !slices.ContainsFunc(r.Checks, func(c Check) bool { return c.Status == CheckFailed })
}

// counts returns the number of failed and skipped checks.
func (r *VerifyReport) counts() (failed, skipped int) {
	for _, c := range r.Checks {
		switch c.Status {
		case CheckFailed:
			failed++
		case CheckSkipped:
			skipped++
		}
	}
	return failed, skipped
}

// label names the check and, for container checks, its container.
func (c Check) label() string {
	if c.Container != "" {
		return c.Name + " (container " + c.Container + ")"
	}
	return c.Name
}

// String renders the report as text, one line per check (status, check,
// subject and why) followed by its warnings, then a summary line.
func (r *VerifyReport) String() string {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-7s %s %s: %s\n", c.Status, c.label(), c.Subject, c.Reason)
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "%-7s %s %s: %s\n", "WARNING", c.label(), c.Subject, w)
		}
	}
	failed, skipped := r.counts()
	fmt.Fprintf(&b, "verify: %d checks, %d failed, %d skipped\n", len(r.Checks), failed, skipped)
	return b.String()
}

// Markdown renders the report as a Markdown table with a heading, for a CI
// job summary such as $GITHUB_STEP_SUMMARY.
func (r *VerifyReport) Markdown() string {
	var b strings.Builder
	failed, skipped := r.counts()
	verdict := "passed"
	if failed > 0 {
		verdict = "failed"
	}
	fmt.Fprintf(&b, "### Verify %s: %d checks, %d failed, %d skipped\n\n", verdict, len(r.Checks), failed, skipped)
	b.WriteString("| Status | Check | Subject | Why |\n|---|---|---|---|\n")
	icons := map[CheckStatus]string{CheckOK: "✅", CheckFailed: "❌", CheckSkipped: "⏭️"}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "| %s %s | %s | `%s` | %s |\n", icons[c.Status], c.Status, mdCell(c.label()), mdCell(c.Subject), mdCell(c.Reason))
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "| ⚠️ WARNING | %s | `%s` | %s |\n", mdCell(c.label()), mdCell(c.Subject), mdCell(w))
		}
	}
	return b.String()
}

// mdCell keeps s on one line and inside its table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}

// Verify renders cfg's task and service definitions and checks that what
// they refer to exists in AWS: ECR images, IAM roles and their trust of
// ecs-tasks.amazonaws.com, awslogs log groups, secrets, the cluster, the
// service and load balancer target groups. Every check runs, failed or
// not; lookups that fail for another reason (access denied, throttling)
// fail their check with the error. Verify only reads: it calls no API that
// changes anything. When the service definition sets enableExecuteCommand,
// it also checks what ECS Exec needs: a task role whose policies allow the
// ssmmessages channel actions, and warns when the running service has
// exec off. The error is for definitions that do not render.
func Verify(ctx context.Context, clients *AWS, cfg *Config, opts VerifyOptions) (*VerifyReport, error) {
	want := renderTask | anyImages
	if cfg.ServiceDefinition != "" {
		want |= renderService
	}
	defs, err := cfg.definitions(ctx, want, RenderOptions{ImageOverrides: opts.ImageOverrides})
	if err != nil {
		return nil, err
	}
	task, svc := defs.task, defs.service

	v := &verifier{aws: clients, report: &VerifyReport{}}
	v.images(ctx, task)
	v.role(ctx, "task role", aws.ToString(task.TaskRoleArn), nil)
	v.role(ctx, "execution role", aws.ToString(task.ExecutionRoleArn), executionRoleNeeds(task))
	wantExec := svc != nil && svc.EnableExecuteCommand
	if wantExec {
		v.execChecks(ctx, task)
	}
	v.logGroups(ctx, task)
	v.secrets(ctx, task)
	clusterFound := v.cluster(ctx, cfg)
	v.service(ctx, cfg, clusterFound, wantExec)
	v.targetGroups(ctx, cfg, svc, task)
	return v.report, nil
}

type verifier struct {
	aws    *AWS
	report *VerifyReport
}

func (v *verifier) add(c Check) { v.report.Checks = append(v.report.Checks, c) }

// inRegion calls set with region unless it is empty. Per-call options use
// it to send a lookup to the region a value names (an ARN, awslogs-region,
// an ECR host) rather than the clients' region.
func inRegion(region string, set func(string)) {
	if region != "" {
		set(region)
	}
}

// images checks that every container's ECR image exists.
func (v *verifier) images(ctx context.Context, task *ecs.RegisterTaskDefinitionInput) {
	for _, cd := range task.ContainerDefinitions {
		image := aws.ToString(cd.Image)
		c := Check{Name: "image", Container: aws.ToString(cd.Name), Subject: image}
		ref, isECR := parseECRImage(image)
		if !strings.Contains(image, "@sha256:") {
			c.Warnings = append(c.Warnings, "not pinned by digest: deploy repo@sha256:... so every task runs the same image")
		}
		if !isECR {
			c.Status, c.Reason = CheckSkipped, "not an ECR image: its existence cannot be verified"
			v.add(c)
			continue
		}
		id := ecrtypes.ImageIdentifier{ImageTag: aws.String(ref.tag)}
		what := "tag " + ref.tag
		if ref.digest != "" {
			id = ecrtypes.ImageIdentifier{ImageDigest: aws.String(ref.digest)}
			what = "digest " + ref.digest
		}
		out, err := v.aws.ECR.BatchGetImage(ctx, &ecr.BatchGetImageInput{
			RegistryId:     aws.String(ref.account),
			RepositoryName: aws.String(ref.repo),
			ImageIds:       []ecrtypes.ImageIdentifier{id},
		}, func(o *ecr.Options) { inRegion(ref.region, func(r string) { o.Region = r }) })
		var noRepo *ecrtypes.RepositoryNotFoundException
		switch {
		case errors.As(err, &noRepo):
			c.Status, c.Reason = CheckFailed, fmt.Sprintf("repository %s not found in ECR (account %s, %s)", ref.repo, ref.account, ref.region)
		case err != nil:
			c.Status, c.Reason = CheckFailed, fmt.Sprintf("looking up image: %v", err)
		case len(out.Images) == 0:
			why := ""
			if len(out.Failures) > 0 {
				why = ": " + aws.ToString(out.Failures[0].FailureReason)
			}
			c.Status, c.Reason = CheckFailed, fmt.Sprintf("%s not found in repository %s%s", what, ref.repo, why)
		default:
			c.Status, c.Reason = CheckOK, fmt.Sprintf("%s found in repository %s", what, ref.repo)
		}
		v.add(c)
	}
}

// ecrImage is an image reference to an ECR repository.
type ecrImage struct {
	account, region, repo, tag, digest string
}

// parseECRImage splits host/repo[:tag][@sha256:...] when host is an ECR
// registry. The tag defaults to latest, as a pull's does.
func parseECRImage(image string) (ecrImage, bool) {
	rest, digest, _ := strings.Cut(image, "@")
	host, path, ok := strings.Cut(rest, "/")
	m := ref.ECRHost.FindStringSubmatch(host)
	if !ok || m == nil {
		return ecrImage{}, false
	}
	ref := ecrImage{account: m[1], region: m[2], repo: path, tag: "latest", digest: digest}
	if i := strings.LastIndex(path, ":"); i >= 0 {
		ref.repo, ref.tag = path[:i], path[i+1:]
	}
	return ref, true
}

// executionRoleNeeds lists what in the task needs an execution role:
// secrets always, ECR pulls and awslogs on Fargate (where no instance role
// can stand in).
func executionRoleNeeds(task *ecs.RegisterTaskDefinitionInput) []string {
	fargate := slices.Contains(task.RequiresCompatibilities, ecstypes.CompatibilityFargate)
	var needs []string
	for _, cd := range task.ContainerDefinitions {
		name := aws.ToString(cd.Name)
		if len(cd.Secrets) > 0 || (cd.LogConfiguration != nil && len(cd.LogConfiguration.SecretOptions) > 0) {
			needs = append(needs, "container "+name+" uses secrets")
		}
		if _, isECR := parseECRImage(aws.ToString(cd.Image)); fargate && isECR {
			needs = append(needs, "container "+name+" pulls from ECR on Fargate")
		}
		if fargate && cd.LogConfiguration != nil && cd.LogConfiguration.LogDriver == ecstypes.LogDriverAwslogs {
			needs = append(needs, "container "+name+" logs with awslogs on Fargate")
		}
	}
	return needs
}

// role checks that the role exists and that ECS tasks may assume it. A
// role the task does not set is skipped, unless needs says why it must be
// set.
func (v *verifier) role(ctx context.Context, name, arn string, needs []string) {
	c := Check{Name: name, Subject: arn}
	if arn == "" {
		c.Subject = "-"
		if len(needs) > 0 {
			c.Status, c.Reason = CheckFailed, "the task definition sets none, but "+strings.Join(needs, ", ")
		} else {
			c.Status, c.Reason = CheckSkipped, "the task definition sets none"
		}
		v.add(c)
		return
	}
	// A role ARN may have a path (role/path/name); GetRole takes the name.
	roleName := arn[strings.LastIndex(arn, "/")+1:]
	out, err := v.aws.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	var noRole *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &noRole):
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("role %s not found in IAM", roleName)
	case err != nil:
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("looking up role %s: %v", roleName, err)
	default:
		trusted, err := trustsECSTasks(aws.ToString(out.Role.AssumeRolePolicyDocument))
		switch {
		case err != nil:
			c.Status, c.Reason = CheckFailed, fmt.Sprintf("reading the trust policy of role %s: %v", roleName, err)
		case !trusted:
			c.Status, c.Reason = CheckFailed, fmt.Sprintf("the trust policy of role %s does not allow ecs-tasks.amazonaws.com to sts:AssumeRole", roleName)
		default:
			c.Status, c.Reason = CheckOK, "exists and trusts ecs-tasks.amazonaws.com"
		}
	}
	v.add(c)
}

// stringOrList decodes a policy value written as one string or a list.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringOrList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// trustsECSTasks reports whether an assume role policy document, URL
// encoded as IAM returns it, lets ecs-tasks.amazonaws.com call
// sts:AssumeRole. Conditions are not evaluated.
func trustsECSTasks(doc string) (bool, error) {
	stmts, err := policyStatements(doc)
	if err != nil {
		return false, err
	}
	for _, s := range stmts {
		if s.Effect != "Allow" || !slices.ContainsFunc(s.Action, func(a string) bool {
			return strings.EqualFold(a, "sts:AssumeRole") || a == "sts:*" || a == "*"
		}) {
			continue
		}
		var anyone string
		if json.Unmarshal(s.Principal, &anyone) == nil && anyone == "*" {
			return true, nil
		}
		var p struct{ Service stringOrList }
		if json.Unmarshal(s.Principal, &p) == nil && slices.Contains(p.Service, "ecs-tasks.amazonaws.com") {
			return true, nil
		}
	}
	return false, nil
}

// logGroups checks that the log group of every awslogs container exists
// or is created by ECS (awslogs-create-group).
func (v *verifier) logGroups(ctx context.Context, task *ecs.RegisterTaskDefinitionInput) {
	checked := false
	for _, cd := range task.ContainerDefinitions {
		lc := cd.LogConfiguration
		if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
			continue
		}
		checked = true
		group := lc.Options["awslogs-group"]
		c := Check{Name: "log group", Container: aws.ToString(cd.Name), Subject: group}
		switch {
		case group == "":
			c.Subject, c.Status, c.Reason = "-", CheckFailed, "awslogs needs the awslogs-group option"
		case strings.EqualFold(lc.Options["awslogs-create-group"], "true"):
			c.Status, c.Reason = CheckOK, "created by ECS when missing (awslogs-create-group); the execution role needs logs:CreateLogGroup"
		default:
			c.Status, c.Reason = v.logGroup(ctx, group, lc.Options["awslogs-region"])
		}
		v.add(c)
	}
	if !checked {
		v.add(Check{Name: "log group", Subject: "-", Status: CheckSkipped, Reason: "no container logs with awslogs"})
	}
}

func (v *verifier) logGroup(ctx context.Context, group, region string) (CheckStatus, string) {
	// The group itself sorts first among the groups it is a prefix of.
	out, err := v.aws.CloudWatchLogs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{
		LogGroupNamePrefix: aws.String(group),
		Limit:              aws.Int32(1),
	}, func(o *cloudwatchlogs.Options) { inRegion(region, func(r string) { o.Region = r }) })
	if err != nil {
		return CheckFailed, fmt.Sprintf("looking up log group %s: %v", group, err)
	}
	if len(out.LogGroups) == 0 || aws.ToString(out.LogGroups[0].LogGroupName) != group {
		return CheckFailed, fmt.Sprintf("log group %s not found in CloudWatch Logs and awslogs-create-group is not true", group)
	}
	return CheckOK, "exists"
}

// secrets checks that every secret a container reads, from Secrets Manager
// or SSM Parameter Store, exists.
func (v *verifier) secrets(ctx context.Context, task *ecs.RegisterTaskDefinitionInput) {
	checked := false
	for _, cd := range task.ContainerDefinitions {
		secrets := cd.Secrets
		if cd.LogConfiguration != nil {
			secrets = append(slices.Clip(secrets), cd.LogConfiguration.SecretOptions...)
		}
		for _, s := range secrets {
			checked = true
			c := Check{Name: "secret", Container: aws.ToString(cd.Name), Subject: aws.ToString(s.ValueFrom)}
			c.Status, c.Reason = v.secret(ctx, aws.ToString(s.Name), aws.ToString(s.ValueFrom))
			v.add(c)
		}
	}
	if !checked {
		v.add(Check{Name: "secret", Subject: "-", Status: CheckSkipped, Reason: "no container uses secrets"})
	}
}

// secret looks up one valueFrom: a Secrets Manager ARN, possibly followed
// by :json-key:version-stage:version-id, or an SSM parameter name or ARN.
func (v *verifier) secret(ctx context.Context, name, valueFrom string) (CheckStatus, string) {
	parts := strings.Split(valueFrom, ":")
	region := ""
	service := "ssm"
	if len(parts) >= 6 && parts[0] == "arn" {
		service, region = parts[2], parts[3]
	}
	switch {
	case service == "secretsmanager" && len(parts) >= 7:
		id := strings.Join(parts[:7], ":") // arn:aws:secretsmanager:region:account:secret:name-XXXXXX
		out, err := v.aws.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)},
			func(o *secretsmanager.Options) { inRegion(region, func(r string) { o.Region = r }) })
		var notFound *smtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &notFound):
			return CheckFailed, fmt.Sprintf("%s: secret %s not found in Secrets Manager", name, id)
		case err != nil:
			return CheckFailed, fmt.Sprintf("%s: looking up secret %s: %v", name, id, err)
		case out.DeletedDate != nil:
			return CheckFailed, fmt.Sprintf("%s: secret %s is scheduled for deletion", name, id)
		}
		return CheckOK, name + ": secret exists"
	case service == "ssm":
		_, err := v.aws.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(valueFrom)},
			func(o *ssm.Options) { inRegion(region, func(r string) { o.Region = r }) })
		var notFound *ssmtypes.ParameterNotFound
		switch {
		case errors.As(err, &notFound):
			return CheckFailed, fmt.Sprintf("%s: SSM parameter %s not found", name, valueFrom)
		case err != nil:
			return CheckFailed, fmt.Sprintf("%s: looking up SSM parameter %s: %v", name, valueFrom, err)
		}
		return CheckOK, name + ": SSM parameter exists"
	}
	return CheckFailed, fmt.Sprintf("%s: valueFrom is neither a Secrets Manager secret ARN nor an SSM parameter", name)
}

// inConfigRegion sends an ECS call to the config's region.
func inConfigRegion(cfg *Config) func(*ecs.Options) {
	return func(o *ecs.Options) { inRegion(cfg.Region, func(r string) { o.Region = r }) }
}

// cluster checks that the config's cluster exists and is ACTIVE, and
// reports whether it exists.
func (v *verifier) cluster(ctx context.Context, cfg *Config) bool {
	name := cfg.Cluster
	c := Check{Name: "cluster", Subject: name}
	defer func() { v.add(c) }()
	out, err := v.aws.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}}, inConfigRegion(cfg))
	switch {
	case err != nil:
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("looking up cluster: %v", err)
		return false
	case len(out.Clusters) == 0:
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("cluster %s not found in ECS", name)
		return false
	}
	if status := aws.ToString(out.Clusters[0].Status); status != "ACTIVE" {
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("cluster %s is %s, not ACTIVE", name, status)
		return true
	}
	c.Status, c.Reason = CheckOK, "exists and is ACTIVE"
	return true
}

// service checks that the config's service exists in its cluster. When
// the service definition turns ECS Exec on (wantExec) and the running
// service has it off, the check warns: only tasks started after a deploy
// turns it on get the agent.
func (v *verifier) service(ctx context.Context, cfg *Config, clusterFound, wantExec bool) {
	c := Check{Name: "service", Subject: cfg.Service}
	defer func() { v.add(c) }()
	switch {
	case cfg.Service == "":
		c.Subject, c.Status, c.Reason = "-", CheckSkipped, "the config names no service"
		return
	case !clusterFound:
		c.Status, c.Reason = CheckSkipped, fmt.Sprintf("cluster %s not found", cfg.Cluster)
		return
	}
	out, err := v.aws.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cfg.Cluster), Services: []string{cfg.Service}}, inConfigRegion(cfg))
	switch {
	case err != nil:
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("looking up service: %v", err)
	case len(out.Services) == 0:
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("service %s not found in cluster %s", cfg.Service, cfg.Cluster)
	case aws.ToString(out.Services[0].Status) != "ACTIVE":
		c.Status, c.Reason = CheckFailed, fmt.Sprintf("service %s is %s, not ACTIVE", cfg.Service, aws.ToString(out.Services[0].Status))
	default:
		c.Status, c.Reason = CheckOK, "exists in cluster "+cfg.Cluster
		if wantExec && !out.Services[0].EnableExecuteCommand {
			c.Warnings = append(c.Warnings, "enableExecuteCommand is true in the service definition but off on the running service: "+
				"ECS Exec works only in tasks started after a deploy turns it on")
		}
	}
}

// targetGroups checks that every target group of the service definition
// exists, that its target type suits the task's network mode, and that the
// container name and port it routes to match a port mapping.
func (v *verifier) targetGroups(ctx context.Context, cfg *Config, svc *ecs.CreateServiceInput, task *ecs.RegisterTaskDefinitionInput) {
	switch {
	case svc == nil:
		v.add(Check{Name: "target group", Subject: "-", Status: CheckSkipped, Reason: "the config sets no service_definition"})
		return
	case len(svc.LoadBalancers) == 0:
		v.add(Check{Name: "target group", Subject: "-", Status: CheckSkipped, Reason: "the service definition has no loadBalancers"})
		return
	}
	for _, lb := range svc.LoadBalancers {
		arn := aws.ToString(lb.TargetGroupArn)
		c := Check{Name: "target group", Subject: arn}
		if arn == "" {
			c.Subject, c.Status, c.Reason = aws.ToString(lb.LoadBalancerName), CheckSkipped, "a Classic Load Balancer: not checked"
			v.add(c)
			continue
		}
		c.Status, c.Reason = v.targetGroup(ctx, arn, lb, task)
		v.add(c)
	}
}

func (v *verifier) targetGroup(ctx context.Context, arn string, lb ecstypes.LoadBalancer, task *ecs.RegisterTaskDefinitionInput) (CheckStatus, string) {
	region := ""
	if parts := strings.Split(arn, ":"); len(parts) >= 6 {
		region = parts[3]
	}
	out, err := v.aws.ELBv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}},
		func(o *elbv2.Options) { inRegion(region, func(r string) { o.Region = r }) })
	var notFound *elbv2types.TargetGroupNotFoundException
	switch {
	case errors.As(err, &notFound):
		return CheckFailed, fmt.Sprintf("target group %s not found in Elastic Load Balancing", arn)
	case err != nil:
		return CheckFailed, fmt.Sprintf("looking up target group: %v", err)
	case len(out.TargetGroups) == 0:
		return CheckFailed, fmt.Sprintf("target group %s not found in Elastic Load Balancing", arn)
	}
	tg := out.TargetGroups[0]

	// ECS registers tasks as IP targets under awsvpc, as instances otherwise.
	wantType := elbv2types.TargetTypeEnumInstance
	if task.NetworkMode == ecstypes.NetworkModeAwsvpc {
		wantType = elbv2types.TargetTypeEnumIp
	}
	if tg.TargetType != wantType {
		return CheckFailed, fmt.Sprintf("target type %s does not suit network mode %s: want %s", tg.TargetType, networkMode(task), wantType)
	}

	container, port := aws.ToString(lb.ContainerName), aws.ToInt32(lb.ContainerPort)
	i := slices.IndexFunc(task.ContainerDefinitions, func(cd ecstypes.ContainerDefinition) bool { return aws.ToString(cd.Name) == container })
	if i < 0 {
		return CheckFailed, fmt.Sprintf("the service routes to container %q, which the task definition lacks", container)
	}
	var ports []string
	for _, pm := range task.ContainerDefinitions[i].PortMappings {
		if aws.ToInt32(pm.ContainerPort) == port {
			return CheckOK, fmt.Sprintf("%s exists (%s, port %d) and routes to container %s port %d",
				aws.ToString(tg.TargetGroupName), tg.TargetType, aws.ToInt32(tg.Port), container, port)
		}
		ports = append(ports, strconv.Itoa(int(aws.ToInt32(pm.ContainerPort))))
	}
	mapped := "none"
	if len(ports) > 0 {
		mapped = strings.Join(ports, ", ")
	}
	return CheckFailed, fmt.Sprintf("container %s has no port mapping for containerPort %d (it maps %s)", container, port, mapped)
}

// networkMode names the task's network mode, bridge when unset as on EC2.
func networkMode(task *ecs.RegisterTaskDefinitionInput) string {
	if task.NetworkMode == "" {
		return "bridge (unset)"
	}
	return string(task.NetworkMode)
}

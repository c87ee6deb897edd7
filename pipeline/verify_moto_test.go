package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecs-pipeline/ecs-pipeline/internal/motoserver"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

const (
	verifyAccount = "123456789012"
	verifyRepo    = verifyAccount + ".dkr.ecr.us-east-1.amazonaws.com/verify/app"
)

// TestVerifyAgainstMoto verifies testdata/verify against resources created
// in moto: once with everything present, then with one thing missing or
// wrong per case. Every case must give exactly the expected statuses, name
// what is missing, and make no call that changes anything.
func TestVerifyAgainstMoto(t *testing.T) {
	ctx := context.Background()
	endpoint := motoserver.Start(t)
	seed, err := pipeline.NewAWS(ctx, pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test", EndpointURL: endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	env := seedVerify(t, seed.Config, endpoint)

	// Verify gets its own clients, which record every operation they call.
	clients, ops := recordingClients(seed.Config)

	// The checks of testdata/verify in order, all as they should be.
	allOK := []string{
		"OK image app", "OK image worker", "SKIPPED image proxy",
		"OK task role", "OK execution role", "OK log group app",
		"OK secret app", "OK secret app", "OK cluster", "OK service", "OK target group",
	}
	missingDigest := "sha256:" + strings.Repeat("0", 64)
	for _, c := range []struct {
		name   string
		env    map[string]string
		want   map[int]string // index in allOK -> status and check
		at     int            // the check whose reason is tested: the changed one, if any
		reason string         // what that reason must say
	}{
		{name: "all present", at: 0, reason: "digest sha256:"},
		{name: "log group created by ECS", env: map[string]string{"LOG_GROUP": "/ecs/not-yet", "LOG_CREATE_GROUP": "true"}, at: 5, reason: "awslogs-create-group"},
		{name: "SSM parameter by ARN", env: map[string]string{"SSM_PARAMETER": "arn:aws:ssm:us-east-1:" + verifyAccount + ":parameter/verify/api-key"}, at: 7, reason: "API_KEY: SSM parameter exists"},
		{
			name: "missing image digest", env: map[string]string{"APP_IMAGE": verifyRepo + "@" + missingDigest},
			want: map[int]string{0: "FAILED image app"}, reason: "digest " + missingDigest + " not found in repository verify/app",
		},
		{
			name: "missing image tag", env: map[string]string{"WORKER_IMAGE": verifyRepo + ":v2"},
			want: map[int]string{1: "FAILED image worker"}, reason: "tag v2 not found in repository verify/app",
		},
		{
			name: "missing repository", env: map[string]string{"WORKER_IMAGE": verifyAccount + ".dkr.ecr.us-east-1.amazonaws.com/verify/nope:v1"},
			want: map[int]string{1: "FAILED image worker"}, reason: "repository verify/nope not found",
		},
		{
			name: "role without ecs-tasks trust", env: map[string]string{"TASK_ROLE_ARN": "arn:aws:iam::" + verifyAccount + ":role/verify-lambda"},
			want: map[int]string{3: "FAILED task role"}, reason: "role verify-lambda does not allow ecs-tasks.amazonaws.com",
		},
		{
			name: "missing role", env: map[string]string{"EXECUTION_ROLE_ARN": "arn:aws:iam::" + verifyAccount + ":role/verify-missing"},
			want: map[int]string{4: "FAILED execution role"}, reason: "role verify-missing not found in IAM",
		},
		{
			name: "no execution role for secrets", env: map[string]string{"EXECUTION_ROLE_ARN": ""},
			want: map[int]string{4: "FAILED execution role"}, reason: "container app uses secrets",
		},
		{
			name: "missing log group", env: map[string]string{"LOG_GROUP": "/ecs/missing"},
			want: map[int]string{5: "FAILED log group app"}, reason: "log group /ecs/missing not found",
		},
		{
			name: "missing secret", env: map[string]string{"SECRET_ARN": "arn:aws:secretsmanager:us-east-1:" + verifyAccount + ":secret:verify/missing-AbCdEf"},
			want: map[int]string{6: "FAILED secret app"}, reason: "DB_PASSWORD: secret arn:aws:secretsmanager:us-east-1:" + verifyAccount + ":secret:verify/missing-AbCdEf not found",
		},
		{
			name: "missing SSM parameter", env: map[string]string{"SSM_PARAMETER": "/verify/missing"},
			want: map[int]string{7: "FAILED secret app"}, reason: "API_KEY: SSM parameter /verify/missing not found",
		},
		{
			name: "missing cluster", env: map[string]string{"CLUSTER": "verify-missing"},
			want: map[int]string{8: "FAILED cluster", 9: "SKIPPED service"}, reason: "cluster verify-missing not found",
		},
		{
			name: "missing target group", env: map[string]string{"TARGET_GROUP_ARN": "arn:aws:elasticloadbalancing:us-east-1:" + verifyAccount + ":targetgroup/verify-missing/0123456789abcdef"},
			want: map[int]string{10: "FAILED target group"}, reason: "targetgroup/verify-missing/0123456789abcdef not found",
		},
		{
			name: "target group of instances under awsvpc", env: map[string]string{"TARGET_GROUP_ARN": env["INSTANCE_TARGET_GROUP_ARN"]},
			want: map[int]string{10: "FAILED target group"}, reason: "target type instance does not suit network mode awsvpc",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops.reset()
			vars := map[string]string{}
			for k, v := range env {
				vars[k] = v
			}
			for k, v := range c.env {
				vars[k] = v
			}
			conf, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{
				Path:      "testdata/verify/ecspresso.yml",
				LookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
				AWS:       clients,
			})
			if err != nil {
				t.Fatal(err)
			}
			report, err := pipeline.Verify(ctx, clients, conf, pipeline.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}

			want := slices.Clone(allOK)
			for i, s := range c.want {
				want[i] = s
			}
			at := c.at
			if len(c.want) > 0 {
				at = slices.Min(slices.Collect(maps.Keys(c.want)))
			}
			var got []string
			for _, ch := range report.Checks {
				got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s %s", ch.Status, ch.Name, ch.Container)))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("checks:\n%s\nwant %q", report, want)
			}
			if r := report.Checks[at].Reason; !strings.Contains(r, c.reason) {
				t.Errorf("reason %q does not say %q; report:\n%s", r, c.reason, report)
			}
			if report.OK() != (c.want == nil) {
				t.Errorf("OK() = %v with checks %q", report.OK(), got)
			}

			calls := ops.counts()
			reads := []string{"BatchGetImage", "GetRole", "DescribeLogGroups", "DescribeSecret", "GetParameter", "DescribeClusters", "DescribeServices", "DescribeTargetGroups"}
			for op := range calls {
				if !slices.Contains(reads, op) {
					t.Errorf("Verify called %s, which is not one of its read-only lookups %v", op, reads)
				}
			}
			if c.name == "all present" {
				for _, op := range reads {
					if calls[op] == 0 {
						t.Errorf("Verify never called %s (calls: %v)", op, calls)
					}
				}
			}
		})
	}
}

// TestVerifyReportRendering checks the text and Markdown renderings.
// operationLog counts the AWS operations of clients, by name.
type operationLog struct {
	mu    sync.Mutex
	calls map[string]int
}

// recordingClients are clients of cfg that record every operation they
// call in the returned log.
func recordingClients(cfg aws.Config) (*pipeline.AWS, *operationLog) {
	l := &operationLog{calls: map[string]int{}}
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("recordOperation",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				l.mu.Lock()
				l.calls[awsmiddleware.GetOperationName(ctx)]++
				l.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	return pipeline.NewAWSFromConfig(cfg), l
}

// reset forgets the operations counted so far.
func (l *operationLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.calls)
}

// counts returns the operations counted so far.
func (l *operationLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.calls)
}

func TestVerifyReportRendering(t *testing.T) {
	r := &pipeline.VerifyReport{Checks: []pipeline.Check{
		{Name: "image", Container: "app", Subject: "repo:v1", Status: pipeline.CheckOK, Reason: "tag v1 found", Warnings: []string{"not pinned by digest"}},
		{Name: "cluster", Subject: "prod", Status: pipeline.CheckFailed, Reason: "cluster prod | not found"},
		{Name: "target group", Subject: "-", Status: pipeline.CheckSkipped, Reason: "no loadBalancers"},
	}}
	wantText := `OK      image (container app) repo:v1: tag v1 found
WARNING image (container app) repo:v1: not pinned by digest
FAILED  cluster prod: cluster prod | not found
SKIPPED target group -: no loadBalancers
verify: 3 checks, 1 failed, 1 skipped
`
	if got := r.String(); got != wantText {
		t.Errorf("String() =\n%s\nwant\n%s", got, wantText)
	}
	wantMD := "### Verify failed: 3 checks, 1 failed, 1 skipped\n\n" +
		"| Status | Check | Subject | Why |\n|---|---|---|---|\n" +
		"| ✅ OK | image (container app) | `repo:v1` | tag v1 found |\n" +
		"| ⚠️ WARNING | image (container app) | `repo:v1` | not pinned by digest |\n" +
		"| ❌ FAILED | cluster | `prod` | cluster prod \\| not found |\n" +
		"| ⏭️ SKIPPED | target group | `-` | no loadBalancers |\n"
	if got := r.Markdown(); got != wantMD {
		t.Errorf("Markdown() =\n%s\nwant\n%s", got, wantMD)
	}
	if r.OK() {
		t.Error("OK() = true with a failed check")
	}
}

// seedVerify creates in moto everything testdata/verify refers to, and
// returns the environment that renders it with every check passing.
func seedVerify(t *testing.T, cfg aws.Config, endpoint string) map[string]string {
	t.Helper()
	ctx := context.Background()

	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},` +
		`"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":32,"digest":"sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}]}`
	sum := sha256.Sum256([]byte(manifest))
	digest := "sha256:" + hex.EncodeToString(sum[:])
	ecrc := ecr.NewFromConfig(cfg)
	must(t, "creating repository", func() error {
		_, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("verify/app")})
		return err
	})
	must(t, "putting image", func() error {
		_, err := ecrc.PutImage(ctx, &ecr.PutImageInput{
			RepositoryName: aws.String("verify/app"), ImageManifest: aws.String(manifest),
			ImageTag: aws.String("v1"), ImageDigest: aws.String(digest),
		})
		return err
	})

	iamc := iam.NewFromConfig(cfg)
	for name, trust := range map[string]string{
		// Statement as a list, Service as a string.
		"verify-task": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
		// Statement as an object, Service and Action as lists.
		"verify-exec":   `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","ecs-tasks.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}}`,
		"verify-lambda": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
	} {
		must(t, "creating role "+name, func() error {
			_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
			return err
		})
	}

	must(t, "creating log group", func() error {
		_, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/ecs/verify-app")})
		return err
	})
	must(t, "putting parameter", func() error {
		_, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
			Name: aws.String("/verify/api-key"), Value: aws.String("k"), Type: ssmtypes.ParameterTypeSecureString,
		})
		return err
	})
	secret, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("verify/db"), SecretString: aws.String(`{"password":"x"}`),
	})
	if err != nil {
		t.Fatalf("creating secret: %v", err)
	}

	ecsc := ecs.NewFromConfig(cfg)
	must(t, "creating cluster", func() error {
		_, err := ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("verify")})
		return err
	})
	must(t, "registering task definition", func() error {
		_, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("verify-app"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{
				{Name: aws.String("app"), Image: aws.String(verifyRepo + ":v1"), Memory: aws.Int32(512)},
			},
		})
		return err
	})
	must(t, "creating service", func() error {
		_, err := ecsc.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: aws.String("verify"), ServiceName: aws.String("verify-app"),
			TaskDefinition: aws.String("verify-app"), DesiredCount: aws.Int32(0),
		})
		return err
	})

	vpc := createVPC(t, cfg, endpoint)
	elbc := elbv2.NewFromConfig(cfg)
	tgARNs := map[elbv2types.TargetTypeEnum]string{}
	for name, typ := range map[string]elbv2types.TargetTypeEnum{"verify-app": elbv2types.TargetTypeEnumIp, "verify-instances": elbv2types.TargetTypeEnumInstance} {
		out, err := elbc.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(8080),
			VpcId: aws.String(vpc), TargetType: typ,
		})
		if err != nil {
			t.Fatalf("creating target group %s: %v", name, err)
		}
		tgARNs[typ] = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}

	return map[string]string{
		"CLUSTER":                   "verify",
		"TASK_ROLE_ARN":             "arn:aws:iam::" + verifyAccount + ":role/verify-task",
		"EXECUTION_ROLE_ARN":        "arn:aws:iam::" + verifyAccount + ":role/verify-exec",
		"APP_IMAGE":                 verifyRepo + ":v1@" + digest,
		"WORKER_IMAGE":              verifyRepo + ":v1",
		"SECRET_ARN":                aws.ToString(secret.ARN),
		"SSM_PARAMETER":             "/verify/api-key",
		"LOG_GROUP":                 "/ecs/verify-app",
		"LOG_CREATE_GROUP":          "false",
		"TARGET_GROUP_ARN":          tgARNs[elbv2types.TargetTypeEnumIp],
		"INSTANCE_TARGET_GROUP_ARN": tgARNs[elbv2types.TargetTypeEnumInstance],
	}
}

// createVPC creates a VPC for the target groups with a signed EC2 query
// request: one call does not justify the EC2 client, a large module.
func createVPC(t *testing.T, cfg aws.Config, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	body := "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", cfg.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("creating VPC: %v", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`<vpcId>(vpc-[0-9a-f]+)</vpcId>`).FindSubmatch(out)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("creating VPC: %s: %s", resp.Status, out)
	}
	return string(m[1])
}

func must(t *testing.T, doing string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", doing, err)
	}
}

// TestVerifyExecAgainstMoto verifies testdata/verify with
// enableExecuteCommand on in the service definition, against task roles
// created in moto with and without the ssmmessages actions ECS Exec needs,
// and with it off, when none of the exec checks run.
func TestVerifyExecAgainstMoto(t *testing.T) {
	ctx := context.Background()
	endpoint := motoserver.Start(t)
	seed, err := pipeline.NewAWS(ctx, pipeline.AWSOptions{
		Region: "us-east-1", AccessKeyID: "test", SecretAccessKey: "test", EndpointURL: endpoint,
	})
	if err != nil {
		t.Fatal(err)
	}
	env := seedVerify(t, seed.Config, endpoint)

	iamc := iam.NewFromConfig(seed.Config)
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	managed := func(name, doc string) *string {
		out, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		if err != nil {
			t.Fatalf("creating policy %s: %v", name, err)
		}
		return out.Policy.Arn
	}
	channels := `["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"]`
	fourActions := managed("exec-channels", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":`+channels+`,"Resource":["*"]}]}`)
	denyOpen := managed("exec-deny-open", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ssmmessages:OpenDataChannel","Resource":"*"}}`)
	for _, r := range []struct {
		name     string
		inline   string
		attached []*string
	}{
		{name: "exec-inline", inline: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssmmessages:*","Resource":"*"}]}`},
		{name: "exec-managed", attached: []*string{fourActions}},
		{name: "exec-none", inline: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ssmmessages:CreateControlChannel"],"Resource":"*"}]}`},
		{name: "exec-deny", inline: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, attached: []*string{denyOpen}},
		{name: "exec-conditional", inline: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssmmessages:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`},
	} {
		must(t, "creating role "+r.name, func() error {
			_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(trust)})
			return err
		})
		if r.inline != "" {
			must(t, "putting the inline policy of "+r.name, func() error {
				_, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(r.name + "-inline"), PolicyDocument: aws.String(r.inline)})
				return err
			})
		}
		for _, arn := range r.attached {
			must(t, "attaching a policy to "+r.name, func() error {
				_, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(r.name), PolicyArn: arn})
				return err
			})
		}
	}

	clients, ops := recordingClients(seed.Config)
	verify := func(t *testing.T, vars map[string]string) *pipeline.VerifyReport {
		t.Helper()
		all := maps.Clone(env)
		maps.Copy(all, vars)
		conf, err := pipeline.LoadConfig(ctx, pipeline.LoadConfigOptions{
			Path:      "testdata/verify/ecspresso.yml",
			LookupEnv: func(k string) (string, bool) { v, ok := all[k]; return v, ok },
			AWS:       clients,
		})
		if err != nil {
			t.Fatal(err)
		}
		report, err := pipeline.Verify(ctx, clients, conf, pipeline.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return report
	}
	find := func(r *pipeline.VerifyReport, name string) *pipeline.Check {
		for i := range r.Checks {
			if r.Checks[i].Name == name {
				return &r.Checks[i]
			}
		}
		return nil
	}
	role := func(name string) string { return "arn:aws:iam::" + verifyAccount + ":role/" + name }

	for _, c := range []struct {
		name       string
		taskRole   string
		roleStatus pipeline.CheckStatus // of "exec task role"
		status     pipeline.CheckStatus // of "exec permissions"
		reason     []string             // what the exec permissions reason must say
	}{
		{name: "inline ssmmessages:*", taskRole: role("exec-inline"), roleStatus: pipeline.CheckOK, status: pipeline.CheckOK,
			reason: []string{"role exec-inline allows ssmmessages:CreateControlChannel, ssmmessages:CreateDataChannel, ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel"}},
		{name: "managed policy with the four actions", taskRole: role("exec-managed"), roleStatus: pipeline.CheckOK, status: pipeline.CheckOK,
			reason: []string{"role exec-managed allows"}},
		{name: "conditional allow", taskRole: role("exec-conditional"), roleStatus: pipeline.CheckOK, status: pipeline.CheckOK,
			reason: []string{"with conditions", "inline policy exec-conditional-inline"}},
		{name: "no such policy", taskRole: role("exec-none"), roleStatus: pipeline.CheckOK, status: pipeline.CheckFailed,
			reason: []string{"role exec-none do not allow ssmmessages:CreateDataChannel, ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel,"}},
		{name: "role without policies", taskRole: role("verify-task"), roleStatus: pipeline.CheckOK, status: pipeline.CheckFailed,
			reason: []string{"role verify-task do not allow ssmmessages:CreateControlChannel, ssmmessages:CreateDataChannel, ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel,"}},
		{name: "deny", taskRole: role("exec-deny"), roleStatus: pipeline.CheckOK, status: pipeline.CheckFailed,
			reason: []string{"do not allow ssmmessages:OpenDataChannel (denied by managed policy exec-deny-open)"}},
		{name: "no task role", taskRole: "", roleStatus: pipeline.CheckFailed, status: pipeline.CheckSkipped,
			reason: []string{"no task role"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ops.reset()
			report := verify(t, map[string]string{"ENABLE_EXEC": "true", "TASK_ROLE_ARN": c.taskRole})
			rc, pc := find(report, "exec task role"), find(report, "exec permissions")
			if rc == nil || pc == nil {
				t.Fatalf("no exec checks:\n%s", report)
			}
			if rc.Status != c.roleStatus || pc.Status != c.status {
				t.Fatalf("exec task role %s, exec permissions %s; want %s, %s:\n%s", rc.Status, pc.Status, c.roleStatus, c.status, report)
			}
			for _, want := range c.reason {
				if !strings.Contains(pc.Reason, want) {
					t.Errorf("exec permissions reason %q does not say %q", pc.Reason, want)
				}
			}
			if c.taskRole == "" && !strings.Contains(rc.Reason, "ECS Exec needs a task role") {
				t.Errorf("exec task role reason %q does not say ECS Exec needs a task role", rc.Reason)
			}
			if report.OK() != (c.status == pipeline.CheckOK && c.roleStatus == pipeline.CheckOK) {
				t.Errorf("OK() = %v:\n%s", report.OK(), report)
			}
			// The running service (created by seedVerify) has exec off.
			svc := find(report, "service")
			if svc == nil || svc.Status != pipeline.CheckOK || len(svc.Warnings) != 1 || !strings.Contains(svc.Warnings[0], "off on the running service") {
				t.Errorf("the service check does not warn that exec is off on the running service:\n%s", report)
			}
			calls := ops.counts()
			reads := []string{"BatchGetImage", "GetRole", "DescribeLogGroups", "DescribeSecret", "GetParameter", "DescribeClusters", "DescribeServices", "DescribeTargetGroups",
				"ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies", "GetPolicy", "GetPolicyVersion"}
			for op := range calls {
				if !slices.Contains(reads, op) {
					t.Errorf("Verify called %s, which is not one of its read-only lookups %v", op, reads)
				}
			}
		})
	}

	t.Run("exec on in the running service", func(t *testing.T) {
		must(t, "turning exec on", func() error {
			_, err := ecs.NewFromConfig(seed.Config).UpdateService(ctx, &ecs.UpdateServiceInput{
				Cluster: aws.String("verify"), Service: aws.String("verify-app"), EnableExecuteCommand: aws.Bool(true),
			})
			return err
		})
		report := verify(t, map[string]string{"ENABLE_EXEC": "true", "TASK_ROLE_ARN": role("exec-inline")})
		if svc := find(report, "service"); svc == nil || len(svc.Warnings) > 0 || !report.OK() {
			t.Errorf("with exec on in the service, the service check warns or the report fails:\n%s", report)
		}
	})

	t.Run("exec off", func(t *testing.T) {
		report := verify(t, map[string]string{"ENABLE_EXEC": "false", "TASK_ROLE_ARN": ""})
		for _, ch := range report.Checks {
			if strings.HasPrefix(ch.Name, "exec ") || len(ch.Warnings) > 0 && ch.Name == "service" {
				t.Errorf("with enableExecuteCommand off, Verify added %s %s: %s (warnings %q)", ch.Status, ch.Name, ch.Reason, ch.Warnings)
			}
		}
		if !report.OK() {
			t.Errorf("report failed:\n%s", report)
		}
	})
}

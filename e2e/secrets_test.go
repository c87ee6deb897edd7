package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Recognisable secret values kept in SSM and Secrets Manager: definitions
// reference them by ARN, so no output may hold them.
const (
	fakeSSMSecureValue    = "e2e-ssm-securestring-must-never-be-printed"
	fakeSecretsManagerVal = "e2e-secretsmanager-value-must-never-be-printed"
)

// TestSecretsNeverPrinted runs render, verify and ship on a definition that
// references an SSM SecureString and a Secrets Manager secret, with fake
// AWS credentials and moto's ECR token in play, and scans everything each
// call printed and every file init exported for all of them.
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	s := startECSStandIns(t)
	ctx := context.Background()
	cfg := motoClients(t, s.sim.URL).Config
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/hello/api-key"), Value: aws.String(fakeSSMSecureValue), Type: ssmtypes.ParameterTypeSecureString,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("hello/db"), SecretString: aws.String(fakeSecretsManagerVal),
	}); err != nil {
		t.Fatal(err)
	}
	token := ecrToken(t, s.sim.URL)
	secrets := []string{fakeSSMSecureValue, fakeSecretsManagerVal, token}

	app := initApp(t)
	writeFile(t, filepath.Join(app, "ecspresso-secrets.yml"), strings.Replace(
		readFile(t, filepath.Join(app, "ecspresso.yml")), "task_definition: ecs-task-def.jsonnet", "task_definition: ecs-task-def-secrets.jsonnet", 1))
	writeFile(t, filepath.Join(app, "ecs-task-def-secrets.jsonnet"), `
local base = import 'ecs-task-def.jsonnet';
local secretsmanager_arn = std.native('secretsmanager_arn');
base {
  containerDefinitions: [base.containerDefinitions[0] {
    secrets: [
      { name: 'DB_PASSWORD', valueFrom: secretsmanager_arn('hello/db') },
      { name: 'API_KEY', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/hello/api-key' },
    ],
  }],
}
`)
	for _, f := range walkFiles(t, app) {
		assertNotIn(t, "exported file "+f, readFile(t, f), secrets...)
	}

	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	service := append(s.args(app), "service", "--config", "ecspresso-secrets.yml", "--image", image)
	r := daggerCall(t, append(service, "render")...)
	if r.err != nil || !strings.Contains(r.stdout, "arn:aws:secretsmanager:us-east-1:123456789012:secret:hello/db") {
		t.Fatalf("render: %v; want the secret referenced by ARN:\n%s", r.err, tail(r.all(), 30))
	}
	calls := []result{r}
	calls = append(calls, daggerCall(t, append(service, "verify", "--allow-failures")...))
	ship := daggerCall(t, append(s.args(app), "ship", "--repository", s.reg.Host+"/hello", "--config", "ecspresso-secrets.yml", "summary")...)
	if ship.err != nil {
		t.Fatalf("ship: %v\n%s", ship.err, tail(ship.all(), 30))
	}
	calls = append(calls, ship)
	for i, c := range calls {
		assertNoSecrets(t, c, secrets...)
		if t.Failed() {
			t.Fatalf("call %d printed a secret", i)
		}
	}
}

// assertNotIn fails the test if text holds any of the secrets.
func assertNotIn(t testing.TB, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret (%.8s...)", what, s)
		}
	}
}

// walkFiles lists the files below dir.
func walkFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// readFile reads a file, failing the test on error.
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

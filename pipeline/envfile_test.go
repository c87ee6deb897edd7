package pipeline_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline"
)

// TestEnvFileLiteral reads an envfile as ecspresso v2.8 does (envfile.go,
// hashicorp/go-envparse): values are taken literally, with no $NAME or
// ${NAME} expansion, so a password with dollar signs arrives unchanged.
// Quotes, the export prefix and comments follow go-envparse.
func TestEnvFileLiteral(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app.env", strings.Join([]string{
		"# a comment line",
		"PASSWORD=p@$$W0RD",
		"HOME_REF=${HOME}/x",
		"DOLLAR=$USER",
		"export EXPORTED=yes",
		"SINGLE='a $b \\n c'",
		`DOUBLE="tab\there \u00e9 $x"`,
		"SPACED = trimmed value  ",
		"EMPTY=",
		"",
	}, "\n"))
	// A YAML definition is a template in every version, so only the envfile
	// reading is under test here.
	write(t, dir, "ecspresso.yml", "service: app\ntask_definition: td.yml\n")
	var src strings.Builder
	src.WriteString("family: app\ncontainerDefinitions:\n  - name: app\n    image: app:1\n    environment:\n")
	for _, k := range []string{"PASSWORD", "HOME_REF", "DOLLAR", "EXPORTED", "SINGLE", "DOUBLE", "SPACED", "EMPTY"} {
		src.WriteString("      - name: " + k + "\n        value: \"[{{ must_env `" + k + "` | json_escape }}]\"\n")
	}
	write(t, dir, "td.yml", src.String())
	env := map[string]string{"HOME": "/home/u", "USER": "u", "W0RD": "expanded"}
	cfg, err := pipeline.LoadConfig(context.Background(), pipeline.LoadConfigOptions{
		Dir: dir, LookupEnv: mapEnv(env), EnvFiles: []string{filepath.Join(dir, "app.env")},
	})
	if err != nil {
		t.Fatal(err)
	}
	td, err := cfg.RenderTaskDefinition(context.Background(), pipeline.RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	c := td.Body["containerDefinitions"].([]any)[0].(map[string]any)
	for _, e := range c["environment"].([]any) {
		m := e.(map[string]any)
		got[m["name"].(string)] = m["value"].(string)
	}
	want := map[string]string{
		"PASSWORD": "[p@$$W0RD]",
		"HOME_REF": "[${HOME}/x]",
		"DOLLAR":   "[$USER]",
		"EXPORTED": "[yes]",
		"SINGLE":   `[a $b \n c]`,
		"DOUBLE":   "[tab\there é $x]",
		"SPACED":   "[trimmed value]",
		"EMPTY":    "[]",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
}

// TestEnvFileErrors names the file and line of a bad envfile line and
// never its value.
func TestEnvFileErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.env", "OK=1\nSECRET=\"s3cr3t-value\n")
	write(t, dir, "ecspresso.yml", "service: app\ntask_definition: td.json\n")
	_, err := pipeline.LoadConfig(context.Background(), pipeline.LoadConfigOptions{
		Dir: dir, LookupEnv: mapEnv(nil), EnvFiles: []string{filepath.Join(dir, "bad.env")},
	})
	if err == nil {
		t.Fatal("want an error for an unmatched quote")
	}
	if !strings.Contains(err.Error(), "reading envfile "+filepath.Join(dir, "bad.env")+":2: unmatched \"") {
		t.Errorf("error %q does not name the file and line 2", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q shows the value", err)
	}
}

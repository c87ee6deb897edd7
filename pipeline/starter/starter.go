package starter

import (
	"bytes"
	"fmt"
	"io/fs"
	"sort"
	"text/template"

	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// Options fill in the starter kit (templates/ in this repository):
// an ecspresso config, task and service definitions and workflows that a
// user copies into an application repository.
type Options struct {
	// Cluster and Service name the ECS service to deploy.
	Cluster string
	Service string
	// Repository is the ECR repository images are published to.
	Repository string
	// Region is the AWS region of the cluster.
	Region string
	// TFStateURL is the Terraform state the definitions read, such as
	// s3://bucket/path/terraform.tfstate or a local path.
	TFStateURL string
}

// check reports the first option that is missing or malformed, by the
// name of its argument.
func (o Options) check() error {
	for _, f := range []struct{ name, value string }{
		{"cluster", o.Cluster}, {"service", o.Service}, {"repository", o.Repository},
		{"region", o.Region}, {"tfstate-url", o.TFStateURL},
	} {
		if f.value == "" {
			return fmt.Errorf("starter kit: --%s is required", f.name)
		}
	}
	if !ref.ECSName(o.Cluster) {
		return fmt.Errorf("starter kit: --cluster %q: want up to 255 letters, digits, '-' and '_'", o.Cluster)
	}
	if !ref.ECSName(o.Service) {
		return fmt.Errorf("starter kit: --service %q: want up to 255 letters, digits, '-' and '_'", o.Service)
	}
	if !ref.AWSRegion.MatchString(o.Region) {
		return fmt.Errorf("starter kit: --region %q is not an AWS region such as ap-northeast-1", o.Region)
	}
	if _, err := ref.ParseRepository(o.Repository); err != nil {
		return fmt.Errorf("starter kit: --%w", err)
	}
	return nil
}

// Read reads every file of a starter kit (such as templates/) into
// a map from its slash-separated path to its content, for Fill.
func Read(fsys fs.FS) (map[string]string, error) {
	files := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		files[p] = string(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading the starter kit: %w", err)
	}
	return files, nil
}

// Fill fills the [[ .Field ]] placeholders of the starter files
// (path to content) from the options. The files' own {{ }} templates and
// ${{ }} expressions are left for ecspresso and GitHub Actions.
func Fill(files map[string]string, o Options) (map[string]string, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make(map[string]string, len(files))
	for _, p := range paths {
		t, err := template.New(p).Delims("[[", "]]").Option("missingkey=error").Parse(files[p])
		if err != nil {
			return nil, fmt.Errorf("parsing starter file: %w", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, o); err != nil {
			return nil, fmt.Errorf("filling starter file: %w", err)
		}
		out[p] = buf.String()
	}
	return out, nil
}

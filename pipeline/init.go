package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-jsonnet/formatter"
	"sigs.k8s.io/yaml"
)

// InitOptions configures InitFromService, ecspresso's init (kayac/ecspresso
// init.go, InitOption: --region, --cluster, --service,
// --task-definition-path, --service-definition-path, --jsonnet).
type InitOptions struct {
	Region, Cluster, Service string
	// ConfigPath, ServiceDefinitionPath and TaskDefinitionPath are the
	// files' names; with Jsonnet a .json or .yml/.yaml name becomes
	// .jsonnet, as in ecspresso.
	ConfigPath, ServiceDefinitionPath, TaskDefinitionPath string
	Jsonnet                                               bool
}

// InitFile is one file InitFromService made.
type InitFile struct {
	Path    string
	Content []byte
}

// InitAPI is what InitFromService calls.
type InitAPI interface {
	ServiceDescriber
	TaskDefinitionDescriber
}

// InitFromService makes the config, service definition and task
// definition files of a running service, as ecspresso's init does: the
// service as DescribeServices reports it (with its tags) less what
// describes its state rather than its definition, the task definition it
// runs as RegisterTaskDefinition takes it (with its tags), and a config
// naming both. Deploying them unchanged changes nothing.
func InitFromService(ctx context.Context, api InitAPI, opts InitOptions) ([]InitFile, error) {
	if opts.Service == "" {
		return nil, fmt.Errorf("init: give the service (--service)")
	}
	if opts.Jsonnet {
		opts.ServiceDefinitionPath = toJsonnet(opts.ServiceDefinitionPath, ".json")
		opts.TaskDefinitionPath = toJsonnet(opts.TaskDefinitionPath, ".json")
		opts.ConfigPath = toJsonnet(opts.ConfigPath, ".yml", ".yaml")
	}
	svc, err := describeService(ctx, api, opts.Cluster, opts.Service, types.ServiceFieldTags)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	sd, _ := apiValue(reflect.ValueOf(svc), false).(map[string]any)
	sd = StripFields(sd, append(append([]string{}, ServiceReadOnlyFields...), "serviceName", "taskDefinition"))
	if p, _ := sd["propagateTags"].(string); p != string(types.PropagateTagsService) && p != string(types.PropagateTagsTaskDefinition) {
		sd["propagateTags"] = string(types.PropagateTagsNone)
	}
	td, err := DescribeTaskDefinition(ctx, api, shortTaskDefinition(aws.ToString(svc.TaskDefinition)))
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	td = StripFields(td, TaskDefinitionReadOnlyFields)

	config := map[string]any{
		"region":             opts.Region,
		"cluster":            opts.Cluster,
		"service":            opts.Service,
		"service_definition": opts.ServiceDefinitionPath,
		"task_definition":    opts.TaskDefinitionPath,
		"timeout":            "10m0s",
	}
	var files []InitFile
	for _, f := range []struct {
		path string
		v    map[string]any
	}{{opts.ServiceDefinitionPath, sd}, {opts.TaskDefinitionPath, td}, {opts.ConfigPath, config}} {
		b, err := CanonicalJSON(f.v)
		if err != nil {
			return nil, err
		}
		var out []byte
		switch ext := filepath.Ext(f.path); {
		case ext == ".jsonnet":
			s, err := formatter.Format(f.path, string(b), formatter.DefaultOptions())
			if err != nil {
				return nil, fmt.Errorf("init: formatting %s as Jsonnet: %w", f.path, err)
			}
			out = []byte(s)
		case ext == ".yml" || ext == ".yaml":
			if out, err = yaml.JSONToYAML(b); err != nil {
				return nil, err
			}
		default:
			var buf bytes.Buffer
			if err := json.Indent(&buf, b, "", "  "); err != nil {
				return nil, err
			}
			out = append(buf.Bytes(), '\n')
		}
		files = append(files, InitFile{Path: f.path, Content: out})
	}
	return files, nil
}

// toJsonnet renames a file with one of the extensions to .jsonnet.
func toJsonnet(path string, exts ...string) string {
	for _, ext := range exts {
		if strings.HasSuffix(path, ext) {
			return strings.TrimSuffix(path, ext) + ".jsonnet"
		}
	}
	return path
}

package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/pmezard/go-difflib/difflib"
)

// DiffOptions configures DiffTaskDefinitions and DiffServiceDefinitions.
type DiffOptions struct {
	// FromFile and ToFile label the running and local sides in the diff
	// header; they default to "running" and "local".
	FromFile string
	ToFile   string
	// IgnoreTags are tag keys left out of the comparison (ignore.tags).
	IgnoreTags []string
}

// DiffTaskDefinitions returns a unified diff from the running to the local
// task definition after normalising both, or "" when they are equal. Each
// side may be a map[string]any, JSON ([]byte or json.RawMessage), or an SDK
// value such as *types.TaskDefinition or *ecs.RegisterTaskDefinitionInput.
func DiffTaskDefinitions(running, local any, opts DiffOptions) (string, error) {
	return diffDefinitions(running, local, opts, NormalizeTaskDefinition)
}

// DiffServiceDefinitions is DiffTaskDefinitions for service definitions;
// a side may also be a *types.Service.
func DiffServiceDefinitions(running, local any, opts DiffOptions) (string, error) {
	return diffDefinitions(running, local, opts, NormalizeServiceDefinition)
}

// DescribeTaskDefinition reads a running task definition, with its tags, as
// a plain value ready for DiffTaskDefinitions.
func DescribeTaskDefinition(ctx context.Context, ecsClient TaskDefinitionDescriber, name string) (map[string]any, error) {
	out, err := ecsClient.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(name),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s: %w", name, err)
	}
	m, _ := apiValue(reflect.ValueOf(out.TaskDefinition), false).(map[string]any)
	if m == nil {
		return nil, fmt.Errorf("describing task definition %s: empty response", name)
	}
	if tags := apiValue(reflect.ValueOf(out.Tags), false); tags != nil {
		m["tags"] = tags
	}
	return m, nil
}

type normalizer func(path string, def map[string]any, opts NormalizeOptions) (map[string]any, error)

func diffDefinitions(running, local any, opts DiffOptions, normalize normalizer) (string, error) {
	from, to := opts.FromFile, opts.ToFile
	if from == "" {
		from = "running"
	}
	if to == "" {
		to = "local"
	}
	a, err := normalizedJSON(from, running, opts, normalize)
	if err != nil {
		return "", err
	}
	b, err := normalizedJSON(to, local, opts, normalize)
	if err != nil {
		return "", err
	}
	if a == b {
		return "", nil
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        difflib.SplitLines(a),
		B:        difflib.SplitLines(b),
		FromFile: from,
		ToFile:   to,
		Context:  3,
	})
	if err != nil {
		return "", fmt.Errorf("diffing %s and %s: %w", from, to, err)
	}
	return diff, nil
}

// normalizedJSON normalises v and encodes it as indented JSON with sorted keys.
func normalizedJSON(name string, v any, opts DiffOptions, normalize normalizer) (string, error) {
	m, err := plainObject(name, v)
	if err != nil {
		return "", err
	}
	n, err := normalize(name, m, NormalizeOptions{IgnoreTags: opts.IgnoreTags})
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(n); err != nil {
		return "", fmt.Errorf("encoding %s: %w", name, err)
	}
	return buf.String(), nil
}

// plainObject turns a map, JSON, Definition or SDK value into a plain object.
func plainObject(name string, v any) (map[string]any, error) {
	switch v := v.(type) {
	case map[string]any:
		return v, nil
	case *Definition:
		return v.Body, nil
	case []byte:
		return parseObject(name, v)
	case json.RawMessage:
		return parseObject(name, v)
	case string:
		return parseObject(name, []byte(v))
	}
	m, ok := apiValue(reflect.ValueOf(v), false).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("reading %s: %T is not a definition", name, v)
	}
	return m, nil
}

func parseObject(name string, b []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, jsonError(name, b, err)
	}
	return m, nil
}

// DiffServiceOptions configures DiffService.
type DiffServiceOptions struct {
	// ImageOverrides are applied to the local task definition, as in Deploy.
	ImageOverrides map[string]string
}

// DiffService shows what a deploy would change: a unified diff from the
// task definition the service runs to the local one, then from the running
// service, read with its tags, to the local service definition (when the
// config has one). desiredCount is compared only when the service
// definition sets it, as only then does a deploy change it. It returns ""
// when nothing would change, and changes nothing itself.
func DiffService(ctx context.Context, api DiffAPI, cfg *Config, opts DiffServiceOptions) (string, error) {
	defs, err := cfg.definitions(ctx, renderTask|anyImages, RenderOptions{ImageOverrides: opts.ImageOverrides})
	if err != nil {
		return "", err
	}
	local := defs.task
	// Tags are read with the service so that unchanged tags show no diff
	// (ecspresso diff.go compares the service's tags too).
	svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service, types.ServiceFieldTags)
	if errors.Is(err, ErrServiceNotFound) && !errors.Is(err, ErrClusterNotFound) {
		return diffNewService(ctx, cfg, local)
	}
	if err != nil {
		return "", err
	}
	runningArn := aws.ToString(svc.TaskDefinition)
	running, err := DescribeTaskDefinition(ctx, api, runningArn)
	if err != nil {
		return "", err
	}
	out, err := DiffTaskDefinitions(running, local, DiffOptions{
		FromFile: shortTaskDefinition(runningArn), ToFile: cfg.relative(cfg.TaskDefinition), IgnoreTags: cfg.Ignore.Tags,
	})
	if err != nil || cfg.ServiceDefinition == "" {
		return out, err
	}
	sd, err := cfg.RenderServiceDefinition(ctx)
	if err != nil {
		return "", err
	}
	// Without desiredCount in the file, deploy leaves the count to auto
	// scaling, so the running count is no change a deploy would make
	// (ecspresso diff.go, diffServices).
	runningSvc, err := plainObject("running service", svc)
	if err != nil {
		return "", err
	}
	if lookupKey(sd.Body, "desiredCount") == nil || svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		delete(runningSvc, "desiredCount")
	}
	localSvc := maps.Clone(sd.Body)
	if svc.SchedulingStrategy == types.SchedulingStrategyDaemon {
		localSvc = StripFields(localSvc, []string{"desiredCount"}) // ECS owns a DAEMON service's count
	}
	serviceDiff, err := DiffServiceDefinitions(runningSvc, localSvc, DiffOptions{
		FromFile: "service " + aws.ToString(svc.ServiceName), ToFile: cfg.relative(cfg.ServiceDefinition), IgnoreTags: cfg.Ignore.Tags,
	})
	return out + serviceDiff, err
}

// diffNewService shows a service that deploy will create: everything in
// the definitions is new.
func diffNewService(ctx context.Context, cfg *Config, local *ecs.RegisterTaskDefinitionInput) (string, error) {
	none := fmt.Sprintf("(service %q does not exist in cluster %q: deploy creates it)", cfg.Service, cfg.Cluster)
	out, err := DiffTaskDefinitions(map[string]any{}, local, DiffOptions{FromFile: none, ToFile: cfg.relative(cfg.TaskDefinition), IgnoreTags: cfg.Ignore.Tags})
	if err != nil || cfg.ServiceDefinition == "" {
		return out, err
	}
	sd, err := cfg.RenderServiceDefinition(ctx)
	if err != nil {
		return "", err
	}
	serviceDiff, err := DiffServiceDefinitions(map[string]any{}, sd.Body, DiffOptions{FromFile: none, ToFile: cfg.relative(cfg.ServiceDefinition), IgnoreTags: cfg.Ignore.Tags})
	return out + serviceDiff, err
}

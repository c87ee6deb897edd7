package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-containerregistry/pkg/name"
)

// MaxTaskDefinitionSize is the largest task definition, in bytes of JSON,
// that ECS registers.
const MaxTaskDefinitionSize = 65536

// TaskDefinitionReadOnlyFields are the fields DescribeTaskDefinition returns
// that RegisterTaskDefinition rejects. Every other field passes through.
var TaskDefinitionReadOnlyFields = []string{
	"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt",
}

// ServiceReadOnlyFields are the fields DescribeServices returns that
// CreateService and UpdateService do not take.
var ServiceReadOnlyFields = []string{
	"serviceArn", "clusterArn", "status", "runningCount", "pendingCount", "events",
	"deployments", "taskSets", "createdAt", "createdBy", "roleArn", "platformFamily",
	"currentServiceDeployment", "currentServiceRevisions", "resourceManagementType",
}

// serviceIdentityFields name a service rather than define it; they are left
// out of comparisons (the task definition is compared on its own).
var serviceIdentityFields = []string{"serviceName", "cluster", "taskDefinition", "clientToken"}

// StripFields returns a shallow copy of def without the named top-level
// fields, matched case-insensitively.
func StripFields(def map[string]any, fields []string) map[string]any {
	out := make(map[string]any, len(def))
	for k, v := range def {
		if !slices.ContainsFunc(fields, func(f string) bool { return strings.EqualFold(f, k) }) {
			out[k] = v
		}
	}
	return out
}

// TaskDefinitionInput turns a rendered (or described) task definition into
// the RegisterTaskDefinition input: read-only fields are stripped, the rest
// is decoded with field names matched case-insensitively (the SDK types
// have no JSON tags, so encoding/json's case-insensitive matching of
// exported names accepts camelCase as ecspresso does), fields the SDK does
// not know are an error naming them, and the canonical registered JSON
// must not exceed MaxTaskDefinitionSize.
func TaskDefinitionInput(d *Definition) (*ecs.RegisterTaskDefinitionInput, error) {
	var in ecs.RegisterTaskDefinitionInput
	if err := decodeDefinition(d.Path, StripFields(d.Body, TaskDefinitionReadOnlyFields), &in); err != nil {
		return nil, err
	}
	b, err := CanonicalJSON(&in)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", d.Path, err)
	}
	if len(b) > MaxTaskDefinitionSize {
		return nil, fmt.Errorf("%s: task definition is %d bytes, over the ECS limit of %d", d.Path, len(b), MaxTaskDefinitionSize)
	}
	return &in, nil
}

// ServiceDefinitionInput decodes a rendered (or described) service
// definition into the CreateService input, read-only fields stripped and
// field names matched as in TaskDefinitionInput. Fields the SDK does not
// know are an error naming them.
func ServiceDefinitionInput(d *Definition) (*ecs.CreateServiceInput, error) {
	var in ecs.CreateServiceInput
	if err := decodeDefinition(d.Path, StripFields(d.Body, ServiceReadOnlyFields), &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// decodeDefinition decodes body into the SDK type v, rejecting unknown fields.
func decodeDefinition(path string, body map[string]any, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := decodeStrict(path, b, v); err != nil {
		return err
	}
	return nil
}

// CanonicalJSON encodes v as compact JSON with sorted keys, nulls and empty
// lists dropped. SDK structs are encoded with the ECS API's camelCase field
// names and their unset zero values left out.
func CanonicalJSON(v any) ([]byte, error) {
	if m, ok := v.(map[string]any); ok {
		v = cloneJSON(m) // prune must not change the caller's map
	} else {
		v = apiValue(reflect.ValueOf(v), false)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(prune(v, false)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// cloneJSON deep-copies the maps and lists of a decoded JSON value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, e := range v {
			l[i] = cloneJSON(e)
		}
		return l
	}
	return v
}

// apiValue converts an SDK value to plain JSON values with the API's field
// names. Zero scalars not behind a pointer (struct fields) are unset and
// become nil; list elements and map values are kept whatever they hold.
func apiValue(v reflect.Value, viaPtr bool) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return apiValue(v.Elem(), true)
	case reflect.Struct:
		m := map[string]any{}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if e := apiValue(v.Field(i), false); e != nil {
				m[apiName(f.Name)] = e
			}
		}
		if len(m) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			// An element is a value even when zero: "" in a command
			// (["sh", "-c", ""]) or 0 in a list must survive.
			if e := apiValue(v.Index(i), true); e != nil {
				out = append(out, e)
			}
		}
		return out
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		m := map[string]any{}
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(k.Interface())] = apiValue(v.MapIndex(k), true)
		}
		return m
	}
	if !viaPtr && v.IsZero() {
		return nil
	}
	if v.Kind() == reflect.String {
		return v.String() // enums become plain strings
	}
	return v.Interface()
}

// apiName maps an SDK field name to the ECS API's JSON name.
func apiName(field string) string {
	if strings.HasPrefix(field, "FSx") {
		return "fsx" + field[3:]
	}
	r := []rune(field)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// NormalizeOptions configures NormalizeTaskDefinition and
// NormalizeServiceDefinition.
type NormalizeOptions struct {
	// IgnoreTags are tag keys left out of the result (the config's ignore.tags).
	IgnoreTags []string
}

// NormalizeTaskDefinition returns the comparable form of a task definition:
// read-only fields stripped, the API's field names, containers sorted by
// name, environment and secrets by name, port mappings, mount points,
// volumesFrom, requiresCompatibilities, placement constraints and tags
// sorted, hostPort filled from containerPort under awsvpc, protocol "tcp"
// and essential true filled in as the API does, "0.25 vCPU" and "0.5 GB"
// style sizes turned into the API's units, false booleans (but essential),
// nulls and empty lists dropped; empty strings are values and stay.
func NormalizeTaskDefinition(path string, def map[string]any, opts NormalizeOptions) (map[string]any, error) {
	var in ecs.RegisterTaskDefinitionInput
	if err := decodeDefinition(path, StripFields(def, TaskDefinitionReadOnlyFields), &in); err != nil {
		return nil, err
	}
	m, _ := apiValue(reflect.ValueOf(in), false).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	awsvpc := m["networkMode"] == "awsvpc"
	for _, k := range []string{"cpu", "memory"} {
		if s, ok := m[k].(string); ok {
			m[k] = normalizeSize(s)
		}
	}
	containers := objects(m["containerDefinitions"])
	for _, c := range containers {
		if _, ok := c["essential"]; !ok {
			c["essential"] = true
		}
		sortBy(c, "environment", "name")
		sortBy(c, "secrets", "name")
		sortBy(c, "mountPoints", "containerPath", "sourceVolume")
		sortCanonical(c, "volumesFrom")
		for _, p := range objects(c["portMappings"]) {
			if _, ok := p["hostPort"]; !ok && awsvpc {
				if cp, ok := p["containerPort"]; ok {
					p["hostPort"] = cp
				}
			}
			if _, ok := p["protocol"]; !ok {
				p["protocol"] = "tcp"
			}
		}
		sortBy(c, "portMappings", "containerPort", "hostPort", "protocol", "name")
	}
	sortBy(m, "containerDefinitions", "name")
	sortBy(m, "volumes", "name")
	// Orders that carry no meaning, as ecspresso's diff.go (sortTaskDefinition) sorts them.
	sortStrings(m, "requiresCompatibilities")
	sortBy(m, "tags", "key")
	sortCanonical(m, "placementConstraints")
	dropTags(m, opts.IgnoreTags)
	out := pruneObject(m)
	// Pruning drops essential false, and a missing essential reads as true:
	// keep the false so that a normalised definition normalises to itself.
	for _, c := range objects(out["containerDefinitions"]) {
		if _, ok := c["essential"]; !ok {
			c["essential"] = false
		}
	}
	return out, nil
}

// NormalizeServiceDefinition returns the comparable form of a service
// definition: read-only and identity fields (serviceName, cluster,
// taskDefinition) stripped, the API's field names, defaults the API fills
// in (scheduling strategy, deployment controller, percentages of 200/100
// for REPLICA and 100/0 for DAEMON, platform version, propagateTags,
// assignPublicIp) filled in, subnets, security groups, placement and tags
// sorted, false booleans, nulls and empty lists dropped.
func NormalizeServiceDefinition(path string, def map[string]any, opts NormalizeOptions) (map[string]any, error) {
	var in ecs.CreateServiceInput
	body := StripFields(StripFields(def, ServiceReadOnlyFields), serviceIdentityFields)
	if err := decodeDefinition(path, body, &in); err != nil {
		return nil, err
	}
	m, _ := apiValue(reflect.ValueOf(in), false).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	if v, ok := m["healthCheckGracePeriodSeconds"].(int32); ok && v == 0 {
		delete(m, "healthCheckGracePeriodSeconds") // the API reports 0 when unset
	}
	setDefault(m, "schedulingStrategy", "REPLICA")
	setDefault(m, "propagateTags", "NONE")
	if m["launchType"] == "FARGATE" {
		setDefault(m, "platformVersion", "LATEST")
	}
	setDefault(m, "deploymentController", map[string]any{})
	setDefault(m["deploymentController"].(map[string]any), "type", "ECS")
	if m["deploymentController"].(map[string]any)["type"] == "ECS" {
		// The percentages ECS fills in: 200/100 for REPLICA, 100/0 for
		// DAEMON (ecspresso diff.go, ServiceDefinitionForDiff).
		maxPct, minPct := int32(200), int32(100)
		if m["schedulingStrategy"] == "DAEMON" {
			maxPct, minPct = 100, 0
		}
		setDefault(m, "deploymentConfiguration", map[string]any{})
		dc := m["deploymentConfiguration"].(map[string]any)
		setDefault(dc, "maximumPercent", maxPct)
		setDefault(dc, "minimumHealthyPercent", minPct)
	}
	if nc, ok := m["networkConfiguration"].(map[string]any); ok {
		if vpc, ok := nc["awsvpcConfiguration"].(map[string]any); ok {
			setDefault(vpc, "assignPublicIp", "DISABLED")
			for _, k := range []string{"subnets", "securityGroups"} {
				if l, ok := vpc[k].([]any); ok {
					slices.SortFunc(l, func(a, b any) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
				}
			}
		}
	}
	sortBy(m, "tags", "key")
	sortCanonical(m, "placementConstraints")
	sortCanonical(m, "placementStrategy")
	dropTags(m, opts.IgnoreTags)
	return pruneObject(m), nil
}

// sortStrings sorts the list m[key] of scalars.
func sortStrings(m map[string]any, key string) {
	if l, ok := m[key].([]any); ok {
		slices.SortStableFunc(l, compareValues)
	}
}

// sortCanonical sorts the list m[key] by each element's canonical JSON.
func sortCanonical(m map[string]any, key string) {
	l, ok := m[key].([]any)
	if !ok {
		return
	}
	enc := func(v any) string { b, _ := json.Marshal(v); return string(b) } // maps encode with sorted keys
	slices.SortStableFunc(l, func(a, b any) int { return cmp.Compare(enc(a), enc(b)) })
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

var sizeUnit = regexp.MustCompile(`(?i)^\s*([0-9]*\.?[0-9]+)\s*(vcpu|gb)\s*$`)

// normalizeSize turns "0.25 vCPU" into "256" and "0.5 GB" into "512".
func normalizeSize(s string) string {
	m := sizeUnit.FindStringSubmatch(s)
	if m == nil {
		return strings.TrimSpace(s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return s
	}
	return strconv.Itoa(int(f * 1024))
}

// objects returns the objects of a list value.
func objects(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// sortBy sorts the list m[key] of objects by the given fields, in order.
func sortBy(m map[string]any, key string, fields ...string) {
	l, ok := m[key].([]any)
	if !ok {
		return
	}
	slices.SortStableFunc(l, func(a, b any) int {
		am, _ := a.(map[string]any)
		bm, _ := b.(map[string]any)
		for _, f := range fields {
			if c := compareValues(am[f], bm[f]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func compareValues(a, b any) int {
	af, aok := number(a)
	bf, bok := number(b)
	if aok && bok {
		return cmp.Compare(af, bf)
	}
	return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func number(v any) (float64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// dropTags removes tags whose key is ignored.
func dropTags(m map[string]any, ignore []string) {
	l, ok := m["tags"].([]any)
	if !ok || len(ignore) == 0 {
		return
	}
	m["tags"] = slices.DeleteFunc(l, func(t any) bool {
		tm, _ := t.(map[string]any)
		k, _ := tm["key"].(string)
		return slices.Contains(ignore, k)
	})
}

// pruneObject prunes a top-level object for comparison; never nil.
func pruneObject(m map[string]any) map[string]any {
	if out, ok := prune(m, true).(map[string]any); ok {
		return out
	}
	return map[string]any{}
}

// definitionSet names the definitions Config.definitions renders.
type definitionSet uint8

const (
	// renderTask: the task definition, with RenderOptions applied and
	// every image checked to be a valid reference (checkImages).
	renderTask definitionSet = 1 << iota
	// renderService: the service definition.
	renderService
	// anyImages: with renderTask, images are not checked; Verify and
	// DiffService report on them rather than refuse them.
	anyImages
)

// definitions is what the config's definition files render and decode to.
type definitions struct {
	// task is the RegisterTaskDefinition input; nil without renderTask.
	task *ecs.RegisterTaskDefinitionInput
	// taskPath is the task definition file, for messages.
	taskPath string
	// service is the CreateService input; nil without renderService.
	service *ecs.CreateServiceInput
	// serviceBody is the rendered service definition, which says which
	// fields it sets.
	serviceBody map[string]any
}

// definitions renders the definitions want names, the task definition
// first, and decodes them into the SDK inputs (TaskDefinitionInput,
// ServiceDefinitionInput). Errors are the renderer's and decoder's own,
// for the caller to wrap. Deploy, Create, Register, Run and Verify read
// the definitions through it, and DiffService its task definition (it
// compares the service definition as rendered, undecoded).
func (c *Config) definitions(ctx context.Context, want definitionSet, opts RenderOptions) (*definitions, error) {
	var defs definitions
	if want&renderTask != 0 {
		d, err := c.RenderTaskDefinition(ctx, opts)
		if err != nil {
			return nil, err
		}
		if defs.task, err = TaskDefinitionInput(d); err != nil {
			return nil, err
		}
		if want&anyImages == 0 {
			if err := checkImages(d.Path, images(defs.task.ContainerDefinitions)); err != nil {
				return nil, err
			}
		}
		defs.taskPath = d.Path
	}
	if want&renderService != 0 {
		d, err := c.RenderServiceDefinition(ctx)
		if err != nil {
			return nil, err
		}
		if defs.service, err = ServiceDefinitionInput(d); err != nil {
			return nil, err
		}
		defs.serviceBody = d.Body
	}
	return &defs, nil
}

// checkImages reports the first container whose image is not a valid
// reference, which ECS would register and then fail to pull.
func checkImages(path string, images map[string]string) error {
	for _, n := range slices.Sorted(maps.Keys(images)) {
		if _, err := name.ParseReference(images[n]); err != nil {
			return fmt.Errorf("%s: container %q: image %q is not a valid image reference: %w", path, n, images[n], err)
		}
	}
	return nil
}

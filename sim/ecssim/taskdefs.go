package ecssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// maxTaskDefinitionBytes is the largest task definition ECS registers.
const maxTaskDefinitionBytes = 64 << 10

// taskDef is one registered revision; doc is its wire document, kept whole
// so that every field the caller sent comes back.
type taskDef struct {
	arn      string
	family   string
	revision int
	doc      map[string]any
}

func (td *taskDef) status() string { return td.doc["status"].(string) }

var familyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (s *Simulator) registerTaskDefinition(body []byte) (any, *apiError) {
	if len(body) > maxTaskDefinitionBytes {
		return nil, errClient("Actual task definition size (%d) exceeds the maximum size allowed (%d).", len(body), maxTaskDefinitionBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep numbers as sent
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, newAPIError(http.StatusBadRequest, "SerializationException", "decoding request: %v", err)
	}
	family, _ := doc["family"].(string)
	if !familyRE.MatchString(family) {
		return nil, errClient("Family must be 1-255 letters, numbers, hyphens and underscores.")
	}
	containers, _ := doc["containerDefinitions"].([]any)
	if len(containers) == 0 {
		return nil, errClient("Container list cannot be empty.")
	}
	for _, c := range containers {
		m, _ := c.(map[string]any)
		if name, _ := m["name"].(string); name == "" {
			return nil, errClient("Container.name should not be null or empty.")
		}
		if image, _ := m["image"].(string); image == "" {
			return nil, errClient("Container.image should not be null or empty.")
		}
	}
	tags, err := decodeTags(doc["tags"])
	if err != nil {
		return nil, err
	}
	delete(doc, "tags")
	fillTaskDefinitionDefaults(doc)

	revision := len(s.families[family]) + 1
	td := &taskDef{
		arn:      s.arn(fmt.Sprintf("task-definition/%s:%d", family, revision)),
		family:   family,
		revision: revision,
		doc:      doc,
	}
	doc["taskDefinitionArn"] = td.arn
	doc["revision"] = revision
	doc["status"] = "ACTIVE"
	doc["registeredAt"] = epochTime(s.now)
	doc["registeredBy"] = "arn:aws:iam::" + s.account + ":root"
	doc["compatibilities"] = compatibilities(doc)
	doc["requiresAttributes"] = []any{map[string]any{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}}
	if revision == 1 {
		s.familyNames = append(s.familyNames, family)
		slices.Sort(s.familyNames)
	}
	s.families[family] = append(s.families[family], td)
	if len(tags) > 0 {
		s.tags[td.arn] = tags
	}
	return map[string]any{"taskDefinition": doc, "tags": nonNil(tags)}, nil
}

// fillTaskDefinitionDefaults adds the defaults ECS fills in, so that diffs
// against a simulated service show the same noise as against a real one.
func fillTaskDefinitionDefaults(doc map[string]any) {
	awsvpc := doc["networkMode"] == "awsvpc"
	for _, c := range doc["containerDefinitions"].([]any) {
		m := c.(map[string]any)
		setDefault(m, "cpu", json.Number("0"))
		setDefault(m, "essential", true)
		for _, k := range []string{"portMappings", "environment", "mountPoints", "volumesFrom", "systemControls"} {
			setDefault(m, k, []any{})
		}
		pms, _ := m["portMappings"].([]any)
		for _, pm := range pms {
			p, ok := pm.(map[string]any)
			if !ok {
				continue
			}
			setDefault(p, "protocol", "tcp")
			if cp, ok := p["containerPort"]; ok && awsvpc {
				setDefault(p, "hostPort", cp)
			}
		}
	}
	setDefault(doc, "volumes", []any{})
	setDefault(doc, "placementConstraints", []any{})
}

func setDefault(m map[string]any, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// compatibilities returns the launch types a definition can run on.
func compatibilities(doc map[string]any) []string {
	out := []string{"EC2"}
	req, _ := doc["requiresCompatibilities"].([]any)
	if slices.Contains(req, any("FARGATE")) || doc["networkMode"] == "awsvpc" {
		out = append(out, "FARGATE")
	}
	return out
}

func decodeTags(v any) ([]tag, *apiError) {
	if v == nil {
		return nil, nil
	}
	b, _ := json.Marshal(v)
	var tags []tag
	if err := json.Unmarshal(b, &tags); err != nil {
		return nil, errInvalidParameter("Tags must be a list of {key, value}.")
	}
	return tags, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// taskDef resolves an ARN, "family:revision" or a family (its latest
// ACTIVE revision).
func (s *Simulator) taskDef(ref string) *taskDef {
	family, rev, hasRev := strings.Cut(shortRef(ref), ":")
	revs := s.families[family]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].status() == "ACTIVE" {
				return revs[i]
			}
		}
		return nil
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || n > len(revs) {
		return nil
	}
	return revs[n-1]
}

type describeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

func (s *Simulator) describeTaskDefinition(in *describeTaskDefinitionInput) (any, *apiError) {
	td := s.taskDef(in.TaskDefinition)
	if td == nil {
		return nil, errClient("Unable to describe task definition.")
	}
	out := map[string]any{"taskDefinition": td.doc}
	if includes(in.Include, "TAGS") {
		out["tags"] = nonNil(s.tags[td.arn])
	}
	return out, nil
}

type listTaskDefinitionsInput struct {
	FamilyPrefix string `json:"familyPrefix"`
	Status       string `json:"status"`
	Sort         string `json:"sort"`
	listInput
}

func (s *Simulator) listTaskDefinitions(in *listTaskDefinitionsInput) (any, *apiError) {
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	arns := []string{}
	for _, f := range s.familyNames {
		if !strings.HasPrefix(f, in.FamilyPrefix) {
			continue
		}
		for _, td := range s.families[f] {
			if td.status() == status {
				arns = append(arns, td.arn)
			}
		}
	}
	if in.Sort == "DESC" {
		slices.Reverse(arns)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"taskDefinitionArns": page}, next), nil
}

func (s *Simulator) listTaskDefinitionFamilies(in *listTaskDefinitionsInput) (any, *apiError) {
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	families := []string{}
	for _, f := range s.familyNames {
		if !strings.HasPrefix(f, in.FamilyPrefix) {
			continue
		}
		active := slices.ContainsFunc(s.families[f], func(td *taskDef) bool { return td.status() == "ACTIVE" })
		if status == "ALL" || (status == "ACTIVE") == active {
			families = append(families, f)
		}
	}
	page, next, err := paginate(families, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"families": page}, next), nil
}

func (s *Simulator) deregisterTaskDefinition(in *describeTaskDefinitionInput) (any, *apiError) {
	ref := shortRef(in.TaskDefinition)
	if !strings.Contains(ref, ":") {
		return nil, errClient("Revision is required to deregister a task definition.")
	}
	td := s.taskDef(ref)
	if td == nil {
		return nil, errClient("The specified task definition does not exist.")
	}
	if td.status() == "ACTIVE" {
		td.doc["status"] = "INACTIVE"
		td.doc["deregisteredAt"] = epochTime(s.now)
	}
	return map[string]any{"taskDefinition": td.doc}, nil
}

type deleteTaskDefinitionsInput struct {
	TaskDefinitions []string `json:"taskDefinitions"`
}

// deleteTaskDefinitions is DeleteTaskDefinitions: up to 10 revisions, each
// INACTIVE (deregistered) first, go to DELETE_IN_PROGRESS; the others are
// failures, the call itself succeeding.
func (s *Simulator) deleteTaskDefinitions(in *deleteTaskDefinitionsInput) (any, *apiError) {
	if n := len(in.TaskDefinitions); n < 1 || n > 10 {
		return nil, errInvalidParameter("taskDefinitions must name 1 to 10 task definitions.")
	}
	deleted, failures := []any{}, []any{}
	for _, ref := range in.TaskDefinitions {
		td := s.taskDef(ref)
		switch {
		case td == nil || !strings.Contains(shortRef(ref), ":"):
			failures = append(failures, map[string]any{"arn": ref, "reason": "TASK_DEFINITION_NOT_FOUND"})
		case td.status() == "ACTIVE":
			failures = append(failures, map[string]any{"arn": td.arn, "reason": "TASK_DEFINITION_NOT_INACTIVE", "detail": "Deregister the task definition before deleting it."})
		default:
			td.doc["status"] = "DELETE_IN_PROGRESS"
			deleted = append(deleted, td.doc)
		}
	}
	return map[string]any{"taskDefinitions": deleted, "failures": failures}, nil
}

// shortRef is a task definition reference without its ARN prefix.
func shortRef(ref string) string {
	if i := strings.Index(ref, ":task-definition/"); i >= 0 {
		return ref[i+len(":task-definition/"):]
	}
	return ref
}

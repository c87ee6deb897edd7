package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// This file is ecspresso's revisions and deregister (kayac/ecspresso
// revisions.go and deregister.go, v2): the revisions of the config's task
// definition family, which of them are in use, and removing the others.

// Revision is one revision of the family: "family:N" and what uses it
// ("RUNNING task", "PRIMARY deployment"), empty when nothing does.
type Revision struct {
	Name  string `json:"name"`
	InUse string `json:"in_use"`
}

// Family is the family of the config's task definition, as rendered.
func (c *Config) Family(ctx context.Context) (string, error) {
	td, err := c.RenderTaskDefinition(ctx, RenderOptions{})
	if err != nil {
		return "", err
	}
	family, _ := td.Body["family"].(string)
	if family == "" {
		return "", fmt.Errorf("%s: the task definition has no family", c.relative(td.Path))
	}
	return family, nil
}

// InUse returns the config's task definition family and maps its
// revisions in use to what uses them, as ecspresso's inUseRevisions does:
// the tasks of the family in the cluster that have not stopped (their
// last, else desired, status), then the service's deployments, which win.
func InUse(ctx context.Context, api RevisionsAPI, cfg *Config) (string, map[string]string, error) {
	family, err := cfg.Family(ctx)
	if err != nil {
		return "", nil, err
	}
	inUse := map[string]string{}
	for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		arns, err := listTasks(ctx, api, &ecs.ListTasksInput{Cluster: aws.String(cfg.Cluster), Family: aws.String(family), DesiredStatus: st})
		if err != nil {
			return "", nil, fmt.Errorf("listing tasks of family %q: %w", family, err)
		}
		tasks, err := describeTasks(ctx, api, cfg.Cluster, arns)
		if err != nil {
			return "", nil, err
		}
		for _, t := range tasks {
			st := aws.ToString(t.LastStatus)
			if st == "" {
				st = aws.ToString(t.DesiredStatus)
			}
			if st != "STOPPED" {
				inUse[shortTaskDefinition(aws.ToString(t.TaskDefinitionArn))] = st + " task"
			}
		}
	}
	if cfg.Service != "" {
		svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
		if err != nil {
			return "", nil, err
		}
		for _, d := range svc.Deployments {
			inUse[shortTaskDefinition(aws.ToString(d.TaskDefinition))] = aws.ToString(d.Status) + " deployment"
		}
	}
	return family, inUse, nil
}

// Revisions lists the family's ACTIVE revisions, oldest first, each with
// what uses it.
func Revisions(ctx context.Context, api RevisionsAPI, cfg *Config) ([]Revision, error) {
	family, inUse, err := InUse(ctx, api, cfg)
	if err != nil {
		return nil, err
	}
	names, err := familyRevisions(ctx, api, family)
	if err != nil {
		return nil, err
	}
	revs := make([]Revision, 0, len(names))
	for _, n := range names {
		revs = append(revs, Revision{Name: n, InUse: inUse[n]})
	}
	return revs, nil
}

// familyRevisions lists the family's ACTIVE revisions, "family:N", oldest
// first. FamilyPrefix matches other families that begin with this one's
// name; they are left out.
func familyRevisions(ctx context.Context, api RevisionsAPI, family string) ([]string, error) {
	var names []string
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing task definitions of family %q: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if n := shortTaskDefinition(arn); strings.HasPrefix(n, family+":") {
				names = append(names, n)
			}
		}
	}
	return names, nil
}

// DescribeRevision returns one revision of the family as the ECS API's
// JSON, as ecspresso's revisions --revision prints it (the definition, not
// its tags):
// which is a revision number, "current" (the service's) or "latest".
func DescribeRevision(ctx context.Context, api RevisionsAPI, cfg *Config, which string) ([]byte, error) {
	family, err := cfg.Family(ctx)
	if err != nil {
		return nil, err
	}
	name, ok := familyRevision(family, which)
	if which == "current" {
		if cfg.Service == "" {
			return nil, fmt.Errorf("--revision current: %s names no service", cfg.relative(cfg.Path))
		}
		svc, err := describeService(ctx, api, cfg.Cluster, cfg.Service)
		if err != nil {
			return nil, err
		}
		name, ok = shortTaskDefinition(aws.ToString(svc.TaskDefinition)), true
	}
	if !ok {
		return nil, fmt.Errorf("--revision %q: want a revision number, current or latest", which)
	}
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(name),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s: %w", name, err)
	}
	b, err := indentedJSON(out.TaskDefinition)
	return []byte(b), err
}

// familyRevision is which revision of family a --revision names: a number
// (family:N) or "latest" (the family, which ECS reads as its latest
// ACTIVE revision); false for anything else.
func familyRevision(family, which string) (string, bool) {
	if which == "latest" {
		return family, true
	}
	n, err := strconv.ParseInt(which, 10, 32)
	if err != nil || n < 1 {
		return "", false
	}
	return fmt.Sprintf("%s:%d", family, n), true
}

// DeregisterOptions configures Deregister: exactly one of Revision and
// Keeps.
type DeregisterOptions struct {
	// Revision is the revision to deregister: a number or "latest".
	Revision string
	// Keeps is how many of the family's revisions not in use to keep, the
	// newest; the older ones are deregistered.
	Keeps int
	// Delete deletes the deregistered revisions too (DeleteTaskDefinitions).
	Delete bool
	// DryRun says what would be deregistered, changing nothing.
	DryRun bool
	// Confirm, when set, is asked before anything changes, with what
	// would be done; false aborts. ecspresso asks unless --force.
	Confirm func(question string) bool
}

// DeregisterResult is what Deregister did (or, dry, would do).
type DeregisterResult struct {
	// Deregistered are the revisions deregistered, "family:N".
	Deregistered []string
	// Deleted are those deleted too.
	Deleted []string
	// Kept are the revisions left alone because they are in use, with
	// what uses them.
	Kept []Revision
}

// ErrAborted is a change the user declined when asked.
var ErrAborted = fmt.Errorf("aborted: not confirmed")

// Deregister deregisters one revision of the family, or all but the
// newest Keeps of those not in use, as ecspresso's deregister does: a
// revision in use is never deregistered (naming it is an error).
func Deregister(ctx context.Context, api RevisionsAPI, cfg *Config, opts DeregisterOptions) (*DeregisterResult, error) {
	if (opts.Revision == "") == (opts.Keeps <= 0) {
		return nil, fmt.Errorf("deregister: give --revision or --keeps (a number above 0)")
	}
	family, inUse, err := InUse(ctx, api, cfg)
	if err != nil {
		return nil, err
	}
	res := &DeregisterResult{}
	var doomed []string
	if opts.Revision != "" {
		name, ok := familyRevision(family, opts.Revision)
		if !ok {
			return nil, fmt.Errorf("--revision %q: want a revision number or latest", opts.Revision)
		}
		out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("describing task definition %s: %w", name, err)
		}
		name = fmt.Sprintf("%s:%d", family, out.TaskDefinition.Revision)
		if use := inUse[name]; use != "" {
			return nil, fmt.Errorf("%s is in use by a %s: not deregistered", name, use)
		}
		doomed = []string{name}
	} else {
		names, err := familyRevisions(ctx, api, family)
		if err != nil {
			return nil, err
		}
		var idle []string
		for _, n := range names {
			if use := inUse[n]; use != "" {
				res.Kept = append(res.Kept, Revision{Name: n, InUse: use})
			} else {
				idle = append(idle, n)
			}
		}
		if len(idle) > opts.Keeps {
			doomed = idle[:len(idle)-opts.Keeps]
		}
	}
	if opts.DryRun || len(doomed) == 0 {
		res.Deregistered = doomed
		if opts.Delete {
			res.Deleted = doomed
		}
		return res, nil
	}
	if opts.Confirm != nil && !opts.Confirm(fmt.Sprintf("Deregister %s?", strings.Join(doomed, ", "))) {
		return nil, ErrAborted
	}
	for _, n := range doomed {
		if err := deregisterTaskDefinition(ctx, api, SystemClock{}, n); err != nil {
			return res, fmt.Errorf("deregistering %s: %w", n, err)
		}
		res.Deregistered = append(res.Deregistered, n)
	}
	if opts.Delete {
		for batch := range slices.Chunk(doomed, 10) { // DeleteTaskDefinitions takes 10 at most
			out, err := api.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: batch})
			if err != nil {
				return res, fmt.Errorf("deleting %s: %w", strings.Join(batch, ", "), err)
			}
			for _, td := range out.TaskDefinitions {
				res.Deleted = append(res.Deleted, fmt.Sprintf("%s:%d", aws.ToString(td.Family), td.Revision))
			}
			if len(out.Failures) > 0 {
				f := out.Failures[0]
				return res, fmt.Errorf("deleting %s: %s %s", shortTaskDefinition(aws.ToString(f.Arn)), aws.ToString(f.Reason), aws.ToString(f.Detail))
			}
		}
	}
	return res, nil
}

// String says what Deregister did, or with dry what it would do.
func (r *DeregisterResult) String(dry bool) string {
	var b strings.Builder
	verb := func(did, would string) string {
		if dry {
			return would
		}
		return did
	}
	for _, k := range r.Kept {
		fmt.Fprintf(&b, "%s is in use by a %s: kept\n", k.Name, k.InUse)
	}
	if len(r.Deregistered) == 0 {
		b.WriteString("no revision to deregister\n")
	}
	for _, n := range r.Deregistered {
		fmt.Fprintf(&b, "%s %s\n", n, verb("deregistered", "would be deregistered"))
	}
	for _, n := range r.Deleted {
		fmt.Fprintf(&b, "%s %s\n", n, verb("deleted", "would be deleted"))
	}
	return b.String()
}

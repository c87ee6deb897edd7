package ecssim

// cluster is an ECS cluster; its JSON fields are the wire shape.
type cluster struct {
	ClusterArn                        string `json:"clusterArn"`
	ClusterName                       string `json:"clusterName"`
	Status                            string `json:"status"`
	RegisteredContainerInstancesCount int    `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int    `json:"runningTasksCount"`
	PendingTasksCount                 int    `json:"pendingTasksCount"`
	ActiveServicesCount               int    `json:"activeServicesCount"`
	Tags                              []tag  `json:"tags,omitempty"`

	services     map[string]*service
	serviceNames []string // in creation order
	tasks        map[string]*task
	taskOrder    []*task
}

type createClusterInput struct {
	ClusterName string `json:"clusterName"`
	Tags        []tag  `json:"tags"`
}

func (s *Simulator) createClusterOp(in *createClusterInput) (any, *apiError) {
	c := s.createCluster(in.ClusterName, in.Tags)
	return map[string]any{"cluster": s.clusterView(c, true)}, nil
}

// createCluster returns the cluster named name, creating it if needed, as
// ECS does.
func (s *Simulator) createCluster(name string, tags []tag) *cluster {
	if name == "" {
		name = "default"
	}
	if c, ok := s.clusters[name]; ok {
		return c
	}
	c := &cluster{
		ClusterArn:  s.arn("cluster/" + name),
		ClusterName: name,
		Status:      "ACTIVE",
		services:    map[string]*service{},
		tasks:       map[string]*task{},
	}
	s.clusters[name] = c
	s.clusterNames = append(s.clusterNames, name)
	if len(tags) > 0 {
		s.tags[c.ClusterArn] = tags
	}
	return c
}

// cluster resolves a cluster name or ARN; empty means "default".
func (s *Simulator) cluster(nameOrArn string) (*cluster, *apiError) {
	if nameOrArn == "" {
		nameOrArn = "default"
	}
	c, ok := s.clusters[lastSegment(nameOrArn)]
	if !ok {
		return nil, errClusterNotFound()
	}
	return c, nil
}

// clusterView returns a copy of c with its counts filled in.
func (s *Simulator) clusterView(c *cluster, withTags bool) cluster {
	v := *c
	for _, t := range c.taskOrder {
		switch {
		case t.DesiredStatus == "STOPPED":
		case t.LastStatus == "RUNNING":
			v.RunningTasksCount++
		case t.LastStatus == "PROVISIONING" || t.LastStatus == "PENDING":
			v.PendingTasksCount++
		}
	}
	for _, svc := range c.services {
		if svc.Status == "ACTIVE" {
			v.ActiveServicesCount++
		}
	}
	if withTags {
		v.Tags = s.tags[c.ClusterArn]
	}
	return v
}

type describeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

func (s *Simulator) describeClusters(in *describeClustersInput) (any, *apiError) {
	names := in.Clusters
	if len(names) == 0 {
		names = []string{"default"}
	}
	found, failures := []cluster{}, []failure{}
	for _, n := range names {
		c, ok := s.clusters[lastSegment(n)]
		if !ok {
			failures = append(failures, failure{Arn: s.arn("cluster/" + lastSegment(n)), Reason: "MISSING"})
			continue
		}
		found = append(found, s.clusterView(c, includes(in.Include, "TAGS")))
	}
	return map[string]any{"clusters": found, "failures": failures}, nil
}

type listInput struct {
	MaxResults *int32 `json:"maxResults"`
	NextToken  string `json:"nextToken"`
}

func (s *Simulator) listClusters(in *listInput) (any, *apiError) {
	arns := make([]string, 0, len(s.clusterNames))
	for _, n := range s.clusterNames {
		arns = append(arns, s.clusters[n].ClusterArn)
	}
	page, next, err := paginate(arns, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"clusterArns": page}, next), nil
}

// withToken adds nextToken to a list response when there is one.
func withToken(out map[string]any, next string) map[string]any {
	if next != "" {
		out["nextToken"] = next
	}
	return out
}

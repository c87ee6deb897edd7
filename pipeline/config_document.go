package pipeline

// Document is the loaded config under the config file's keys (ecspresso
// v2.8's Config), as `ecspresso render config` prints it: region (as
// resolved, AWS_REGION when the file sets none), cluster, service, the
// definition files relative to the config's directory, timeout as a
// duration string, and the optional sections only when set.
func (c *Config) Document() map[string]any {
	doc := map[string]any{
		"region":             c.Region,
		"cluster":            c.Cluster,
		"service":            c.Service,
		"task_definition":    c.relative(c.TaskDefinition),
		"service_definition": c.relative(c.ServiceDefinition),
		"timeout":            c.Timeout.String(),
	}
	if c.ServiceDefinition == "" {
		delete(doc, "service_definition")
	}
	if c.RequiredVersion != "" {
		doc["required_version"] = c.RequiredVersion
	}
	if len(c.Plugins) > 0 {
		doc["plugins"] = c.Plugins
	}
	if len(c.Ignore.Tags) > 0 {
		doc["ignore"] = c.Ignore
	}
	if c.CodeDeploy != nil {
		doc["codedeploy"] = c.CodeDeploy
	}
	if len(c.AppSpec) > 0 {
		doc["appspec"] = c.AppSpec
	}
	if c.FilterCommand != "" {
		doc["filter_command"] = c.FilterCommand
	}
	return doc
}

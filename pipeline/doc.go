// Package pipeline is the plain-Go library behind the ecs-pipeline Dagger
// module, with no Dagger types: it talks to ECR for publishing (ecr.go,
// tag.go), loads ecspresso v2 configuration files, renders task and service
// definitions the way ecspresso does (Go templates, Jsonnet, tfstate, SSM and
// Secrets Manager lookups), prepares task definitions for registration,
// shows unified diffs between running and local definitions and verifies
// them against AWS before a deploy.
//
// One verb lives in one file, with its options struct beside it: aws.go
// builds AWS clients (NewAWS), config.go loads a config (LoadConfig),
// render.go renders definitions (Config.RenderTaskDefinition), definition.go
// strips, decodes and normalises them (TaskDefinitionInput,
// NormalizeTaskDefinition), diff.go compares them (DiffTaskDefinitions) and
// verify.go checks, without changing anything, that what they refer to
// exists in AWS: ECR images, IAM roles trusted by ECS tasks, log groups,
// secrets, the cluster, the service and its target groups (Verify).
// deploy.go registers the task definition and updates the service with
// exactly one UpdateService call (Deploy); wait.go follows that deployment
// until ECS reports it completed, rolled back, failed or stopped, streaming
// service events and naming the stopped tasks' reasons (Wait);
// rollback.go stops a deployment in progress or returns the service to the
// previous revision (Rollback); status.go shows a service, its deployments
// and its events (Status). ecs.go holds the small ECS interfaces they use.
//
// # Compatibility with ecspresso
//
// Config files are ecspresso v2's (see CompatibleVersion): keys region,
// cluster, service, service_definition, task_definition, timeout, plugins,
// ignore.tags and required_version; any other key is an error naming it.
// .yml/.yaml files are rendered as Go templates, then parsed as YAML; any
// other extension (.json, .jsonnet) is evaluated as Jsonnet, then rendered as
// a Go template. Inside .json files write template arguments with backquotes
// ({{ must_env `IMAGE` }}): Jsonnet re-escapes double quotes. Line
// numbers in template errors of Jsonnet files refer to the Jsonnet output.
//
// Template functions: env, must_env, json_escape, ssm (with an optional
// StringList index), secretsmanager_arn, and per tfstate plugin tfstate and
// tfstatef, prefixed by func_prefix. Jsonnet natives: env, must_env, ssm,
// ssm_list, secretsmanager_arn and tfstate (prefixed). Only the tfstate
// plugin is supported (config.path, or config.url with s3://, file://,
// http(s)://, remote:// or a local path); cloudformation is not.
//
// Task and service definitions are decoded into the aws-sdk-go-v2 ECS input
// types with encoding/json. Those types carry no JSON tags, and encoding/json
// matches keys to exported field names case-insensitively, so the camelCase
// of the ECS API and ecspresso files and the PascalCase of the SDK both
// work, as in ecspresso. Keys no SDK field matches are an error, since they
// could not be sent. Output uses the API's camelCase names.
package pipeline

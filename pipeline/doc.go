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
// exactly one UpdateService call (Deploy), after migrate.go's migration
// (DeployOptions.RunBefore, a one-off task run as run.go's Run does)
// exited 0; wait.go follows that deployment
// until ECS reports it completed, rolled back, failed or stopped, streaming
// service events and naming the stopped tasks' reasons (Wait);
// rollback.go stops a deployment in progress or returns the service to the
// previous revision (Rollback); status.go shows a service, its deployments
// and its events (Status). ecs_api.go holds the small ECS interfaces they
// use; clock.go and retry.go how they pace and retry their calls;
// outcome.go and errors.go how they end.
//
// # Compatibility with ecspresso
//
// Config files are ecspresso v2.8's (see CompatibleVersion): keys region,
// cluster, service, service_definition, task_definition, timeout, plugins,
// ignore.tags, required_version, and codedeploy, appspec and
// filter_command, which are accepted with a warning since nothing here
// uses them. An unknown key is a warning naming it, as in ecspresso;
// warnings are returned in Config.Warnings for the caller to print.
// Configs: .yml/.yaml are rendered as Go templates, then parsed as YAML;
// .json and .jsonnet are evaluated as Jsonnet, then rendered. Definitions:
// .jsonnet is evaluated as Jsonnet, then rendered; .json (and any other
// extension) is a Go template only, so templates may stand outside strings
// and wrap keys in {{ if }}; .yml/.yaml definitions, an extension of ours,
// are rendered, then parsed as YAML. A task definition may be the output of
// aws ecs describe-task-definition ({"taskDefinition": ..., "tags": ...}).
// Envfiles are read literally with ecspresso's parser, go-envparse.
//
// Template functions: env, must_env, json_escape; the default plugins' ssm
// (with an optional StringList index), secretsmanager_arn and
// secretsmanager_arnf; the cloudformation plugin's cfn_output and
// cfn_export; per tfstate plugin tfstate and tfstatef (config.path, or
// config.url with s3://, file://, http(s)://, remote:// or a local path;
// optional: true turns an unreadable state into a warning). Jsonnet natives:
// env, must_env, ssm, ssm_list, secretsmanager_arn, secretsmanager_arnf,
// cfn_output, cfn_export and tfstate. Every plugin's names take its
// func_prefix.
//
// Task and service definitions are decoded into the aws-sdk-go-v2 ECS input
// types with encoding/json. Those types carry no JSON tags, and encoding/json
// matches keys to exported field names case-insensitively, so the camelCase
// of the ECS API and ecspresso files and the PascalCase of the SDK both
// work, as in ecspresso. Keys no SDK field matches are an error, since they
// could not be sent. Output uses the API's camelCase names.
package pipeline

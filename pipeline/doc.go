// Package pipeline is the plain-Go library behind the ecs-pipeline Dagger
// module: it loads ecspresso v2 configuration files, renders task and service
// definitions the way ecspresso does (Go templates, Jsonnet, tfstate, SSM and
// Secrets Manager lookups), prepares task definitions for registration and
// shows unified diffs between running and local definitions.
//
// One verb lives in one file, with its options struct beside it:
// aws.go builds AWS clients, config.go loads a config, render.go renders
// definitions, definition.go strips, decodes and normalises them, and
// diff.go compares them.
package pipeline

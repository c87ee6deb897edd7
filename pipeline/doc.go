// Package pipeline is the library behind the ecs-pipeline Dagger module:
// everything that does not need Dagger types (reading image references and
// git state, talking to ECR, and the ecspresso-compatible deploy engine)
// lives here and is tested with plain `go test`.
package pipeline

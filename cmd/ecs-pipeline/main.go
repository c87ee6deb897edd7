// Command ecs-pipeline deploys to Amazon ECS from an ecspresso config: the
// verbs and global flags of ecspresso v2.8, over the library in pipeline/,
// and what the Dagger module runs in its engine image for everything that
// talks to AWS. See cli.go for the contract.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

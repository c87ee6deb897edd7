package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// Ship the application to ECS in one call: check the definitions and the
// service (a dry run), build, test, publish to ECR, render the ecspresso
// definitions with the published image (digest-pinned), show the diff,
// run the --run-before migration if any, deploy and wait. The deploy
// fails, and so does the call, when the migration fails or ECS rolls the
// deployment back or stops it.
// Cached for the session only: a caller that reads several fields of the
// result (outcome, then task-definition) deploys once; every new call
// deploys again.
// +cache="session"
func (m *EcsPipeline) Ship(
	ctx context.Context,
	// ECR repository to push to, without tag.
	repository string,
	// The ecspresso config, relative to the source; found as ecspresso
	// finds it when none. Repeat, or give a glob, to ship one image to
	// several services: one build, one test, one push, then every service
	// deployed together and followed to its end (one row each in the
	// summary); the call fails if any fails.
	// +optional
	config []string,
	// With several services: start no more after one fails (those started
	// are followed to their end).
	// +optional
	failFast bool,
	// Tags to push; default: the source's git commit, or a content hash.
	// +optional
	tag []string,
	// Platforms to build and push as one image.
	// +optional
	platform []dagger.Platform,
	// Create the ECR repository when it does not exist.
	// +optional
	createRepository bool,
	// Dockerfile path, relative to the source directory.
	// +default="Dockerfile"
	dockerfile string,
	// Build stage to publish; the last stage when empty.
	// +optional
	target string,
	// Build arguments as NAME=VALUE.
	// +optional
	buildArg []string,
	// Dockerfile stage that runs the tests.
	// +default="test"
	testTarget string,
	// Shell command that runs the tests instead, in --test-image or in the
	// --test-target stage.
	// +optional
	testCommand string,
	// Image to run --test-command in, with the source at /src.
	// +optional
	testImage string,
	// Container that runs the published image (the definitions read it as
	// IMAGE too); default: the definitions read it as IMAGE.
	// +optional
	container string,
	// Variables for the templates, as NAME=VALUE.
	// +optional
	env []string,
	// Env files in the source, loaded before rendering.
	// +optional
	envfile []string,
	// Env file lines held in a Dagger secret, loaded after --envfile (see
	// service).
	// +optional
	secretEnvfile []*dagger.Secret,
	// Jsonnet external variables, as NAME=VALUE.
	// +optional
	extStr []string,
	// Jsonnet external code variables, as NAME=EXPRESSION.
	// +optional
	extCode []string,
	// Set the service's desired count; -1 leaves it alone.
	// +default=-1
	desiredCount int,
	// Return once the service is updated, without waiting.
	// +optional
	noWait bool,
	// How long to wait for the deployment; the config's timeout when empty.
	// +optional
	timeout string,
	// When to stop waiting (ecspresso's --wait-until): deployed, when the
	// deployment has ended (the default); stable, the same; paused, when a
	// PAUSE lifecycle hook of a blue/green, linear or canary deployment
	// awaits action; ecs:STAGE, when such a deployment, still in progress,
	// has reached lifecycle stage STAGE (such as ecs:BAKE_TIME) or a later
	// one. The last two are refused on a ROLLING service before anything
	// changes.
	// +optional
	waitUntil string,
	// Publish a reproducible image: the same source gives the same digest
	// on any engine (see publish).
	// +optional
	reproducible bool,
	// Shell command to run before the service is updated, such as a
	// database migration: "sh -c COMMAND" in a one-off task of the new
	// revision, in --container (else the first container); the service is
	// updated only if it exits 0.
	// +optional
	runBefore string,
) (*Deployment, error) {
	return m.ship(ctx, shipArgs{
		repository: repository, config: config, failFast: failFast, tag: tag, platform: platform, createRepository: createRepository,
		dockerfile: dockerfile, target: target, buildArg: buildArg,
		testTarget: testTarget, testCommand: testCommand, testImage: testImage, container: container,
		env: env, envfile: envfile, secretEnvfile: secretEnvfile, extStr: extStr, extCode: extCode,
		desiredCount: desiredCount, noWait: noWait, timeout: timeout, waitUntil: waitUntil, reproducible: reproducible, runBefore: runBefore,
	})
}

// shipArgs are ship's arguments, which rehearse passes on.
type shipArgs struct {
	repository              string
	config                  []string
	failFast                bool
	tag                     []string
	platform                []dagger.Platform
	createRepository        bool
	dockerfile, target      string
	buildArg                []string
	testTarget, testCommand string
	testImage, container    string
	env, envfile            []string
	secretEnvfile           []*dagger.Secret
	extStr, extCode         []string
	desiredCount            int
	noWait, reproducible    bool
	timeout, runBefore      string
	waitUntil               string
	// rehearsal: the rehearsal's engine server, which runs the simulator
	// too; nil starts an engine server for this call.
	rehearsal *rehearsalServer
}

// rehearsalServer is how a rehearsal's ship gets its engine server ready.
type rehearsalServer struct {
	// start starts the server (with the simulator beside it).
	start func(context.Context) (*engineServer, error)
	// setup runs on the started server beside the tests and the build,
	// instead of the dry run (it reads the config and its definitions
	// with ship's arguments), and returns the repository to push to and
	// the ship's environment over the server's.
	setup func(context.Context, *engineServer) (repository string, env map[string]string, err error)
	// flags are global flags for the ship (--time-scale).
	flags []string
}

// ship checks, builds, tests, publishes and deploys.
func (m *EcsPipeline) ship(ctx context.Context, a shipArgs) (*Deployment, error) {
	var repo ref.Repository
	if a.rehearsal == nil { // the rehearsal's setup tells it
		var err error
		if repo, err = ref.ParseRepository(a.repository); err != nil {
			return nil, err
		}
	}
	if err := checkTimeout(a.timeout); err != nil {
		return nil, err
	}
	service := func(image string) *EcsService {
		return m.serviceFor(a.config, image, a.container, a.env, a.envfile, a.secretEnvfile, a.extStr, a.extCode)
	}
	flags := deployFlags{
		desiredCount: a.desiredCount, noWait: a.noWait, timeout: a.timeout, waitUntil: a.waitUntil, requireDigest: true,
		runBefore: a.runBefore, runBeforeContainer: a.container, dryRun: true, failFast: a.failFast,
	}

	// One engine server runs the dry run, then the push and the deploy; it
	// starts while the image is tested and built.
	var env map[string]string
	var global []string
	var server *pending
	if r := a.rehearsal; r != nil {
		server, global = startingServer(ctx, r.start), r.flags
	} else {
		server = startingServer(ctx, func(ctx context.Context) (*engineServer, error) {
			ctr, args, err := service("").container(ctx)
			if err != nil {
				return nil, err
			}
			return m.startServer(ctx, ctr, args)
		})
	}
	defer func() {
		if srv, err := server.get(ctx); err == nil {
			srv.stop(ctx)
		}
	}()

	// The dry run checks the definitions and the service with a stand-in
	// for the image to come (in a rehearsal, setup reads them and sets up
	// the simulator), while the image is tested and built (neither touches
	// AWS); nothing is pushed until it has passed, and when it fails the
	// build is cancelled and its error is the call's. An image ready
	// before the server (a rerun, its build cached) needs no dry run of
	// its own: the engine's ship makes the same checks before it pushes.
	var tarball string
	var tags []string
	remove := func() {}
	defer func() { remove() }()
	built := make(chan struct{})
	err := beside(ctx, func(ctx context.Context) error {
		srv, err := server.get(ctx)
		if err != nil {
			return err
		}
		if r := a.rehearsal; r != nil {
			a.repository, env, err = r.setup(ctx, srv)
			if err == nil {
				repo, err = ref.ParseRepository(a.repository)
			}
			return err
		}
		select {
		case <-built:
			return nil
		default:
		}
		placeholder := repo.String() + "@sha256:" + strings.Repeat("0", 64)
		r, err := srv.run(ctx, env, append(service(placeholder).flags(), flags.args()...)...)
		if err != nil {
			return err
		}
		if r.Code != 0 {
			return r.Failure("deploy")
		}
		return nil
	}, func(ctx context.Context) error {
		// The image goes to this function's disk while the server starts.
		image, t, err := m.testAndBuild(ctx, a)
		if err != nil {
			return err
		}
		path, rm, err := exportLocal(ctx, image)
		if err != nil {
			return fmt.Errorf("exporting the image: %w", err)
		}
		tarball, tags, remove = path, t, rm
		close(built)
		return nil
	})
	if err != nil {
		return nil, err
	}

	// One run pushes, shows the diff, then deploys the pushed image,
	// reading the config once more; the engine checks it before it
	// pushes.
	srv, err := server.get(ctx)
	if err != nil {
		return nil, err
	}
	layout, err := srv.upload(ctx, "image.tar", tarball)
	if err != nil {
		return nil, err
	}
	flags.dryRun, flags.diff = false, true
	args := append(append(global, service("").flags()...), "ship")
	args = append(args, publishFlags(layout, repo, tags, a.createRepository, a.reproducible, srv.through)...)
	if a.container != "" {
		args = append(args, "--publish-container="+a.container)
	}
	r, err := srv.runLast(ctx, env, append(args, flags.flags()...)...)
	if err != nil {
		return nil, err
	}
	// From the push on, the result names the image, even if the deploy
	// failed.
	var d struct {
		Deployment
		Image string `json:"image"`
	}
	rerr := json.Unmarshal([]byte(r.Result), &d)
	if d.Image != "" {
		fmt.Fprintf(os.Stderr, "published %s\n", d.Image)
	}
	if r.Code != 0 {
		return nil, r.Failure("ship")
	}
	if rerr != nil {
		return nil, fmt.Errorf("reading the deploy's result: %w", rerr)
	}
	return &d.Deployment, nil
}

// testAndBuild runs ship's tests and builds the image to push, side by
// side (the engine shares the stages they have in common); a failed test
// cancels the build and is the error.
func (m *EcsPipeline) testAndBuild(ctx context.Context, a shipArgs) (tarball *dagger.File, tags []string, err error) {
	err = beside(ctx, func(ctx context.Context) error {
		_, err := m.Test(ctx, a.dockerfile, a.testTarget, a.buildArg, a.testCommand, a.testImage)
		return err
	}, func(ctx context.Context) (err error) {
		tarball, tags, err = m.imageTarball(ctx, a.tag, a.platform, a.dockerfile, a.target, a.buildArg)
		return err
	})
	return tarball, tags, err
}

// beside runs first and then side by side: then on a context that
// first's failure cancels (its work is not wanted any more). First's
// error wins over then's.
func beside(ctx context.Context, first, then func(context.Context) error) error {
	thenCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := first(ctx)
		if err != nil {
			cancel()
		}
		done <- err
	}()
	err := then(thenCtx)
	if ferr := <-done; ferr != nil {
		return ferr
	}
	return err
}

// serviceFor is the service to ship image to: read by the definitions as
// IMAGE, and in container when one is named (--container); with no
// image, the service as the definitions describe it (ship's engine run
// sets the image it pushes as the engine's ship does).
func (m *EcsPipeline) serviceFor(config []string, image, container string, env, envfile []string, secretEnvfile []*dagger.Secret, extStr, extCode []string) *EcsService {
	var containerImage []string
	if image != "" && container != "" {
		containerImage = []string{container + "=" + image}
	}
	return m.Service(config, image, containerImage, env, envfile, secretEnvfile, extStr, extCode)
}

package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/ecs-pipeline/ecs-pipeline/internal/dagger"
	"github.com/ecs-pipeline/ecs-pipeline/pipeline/ref"
)

// The rehearsal's stand-in account; the sample is rehearsed as service
// hello in cluster rehearsal.
const (
	rehearsalAccount = "123456789012"
	rehearsalCluster = "rehearsal"
	rehearsalService = "hello"
	rehearsalRegion  = "ap-northeast-1"
	// rehearsalPort is where the simulator listens inside its service.
	rehearsalPort = 8080
)

// failingMigration is the scenario whose --run-before migration fails.
const failingMigration = "failing-migration"

// rehearsalScenarios are the simulator's scenarios (ecssim.Scenarios) and
// failing-migration; rehearse_test.go keeps the list true.
var rehearsalScenarios = []string{"crash-on-start", "failing-health-checks", failingMigration, "healthy", "slow-start"}

// Rehearse the whole pipeline with no AWS account: ship to a simulated
// ECS that runs as a Dagger service, built from this module's own source,
// and also serves ECR's token, STS and the registry. The service is first
// created as it would exist (revision 1 running), then ship runs as it
// would against AWS: test, publish, diff, register, update, wait while
// printing events, and report. With no Dockerfile in the source, the
// sample application is rehearsed with the starter kit from init.
// Simulated time runs --time-scale times faster than the wall clock.
// Cached for the session only, as ship is: reading several fields of the
// result rehearses once.
// +cache="session"
func (m *EcsPipeline) Rehearse(
	ctx context.Context,
	// What the new tasks do: healthy; failing-health-checks (the circuit
	// breaker rolls back, and the call fails as a real ship would);
	// crash-on-start (the container logs why and exits 1); slow-start
	// (minutes to start, then healthy); failing-migration (the
	// --run-before migration exits 1, and the service is not updated).
	// +default="healthy"
	scenario string,
	// The ecspresso config, relative to the source; found as ecspresso
	// finds it when empty. Unused for the sample.
	// +optional
	config string,
	// A Terraform state file in the source that every tfstate lookup reads
	// instead of the config's url (an s3:// state needs AWS).
	// +optional
	tfstate string,
	// ECR repository to push to; default:
	// 123456789012.dkr.ecr.REGION.amazonaws.com/SERVICE.
	// +optional
	repository string,
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
	// Container that runs the published image; default: the definitions
	// read it as IMAGE.
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
	// How many times faster than the wall clock simulated time runs.
	// +default=20
	timeScale int,
	// Shell command to run as a migration before the update, as ship
	// --run-before does; failing-migration defaults it to ./migrate.
	// +optional
	runBefore string,
) (*Deployment, error) {
	if !slices.Contains(rehearsalScenarios, scenario) {
		return nil, fmt.Errorf("--scenario %q: want one of %s", scenario, strings.Join(rehearsalScenarios, ", "))
	}
	if scenario == failingMigration {
		runBefore = cmp.Or(runBefore, "./migrate")
	}
	if timeScale < 1 || timeScale > 600 {
		return nil, fmt.Errorf("--time-scale %d: want 1 to 600", timeScale)
	}

	// The rehearsal's own copy of the pipeline: stand-in credentials, and
	// every AWS call and push to the simulator.
	r := *m
	r.Endpoint, r.EndpointURL, r.RegistryEndpoint, r.TFStateFile = nil, "", nil, tfstate
	r.AwsAccessKeyID = dag.SetSecret("rehearsal-access-key-id", "rehearsal-stand-in")
	r.AwsSecretAccessKey = dag.SetSecret("rehearsal-secret-access-key", "rehearsal-not-a-secret")
	r.AwsSessionToken = nil
	hasDockerfile, err := m.Source.Exists(ctx, dockerfile, dagger.DirectoryExistsOpts{ExpectedType: dagger.ExistsTypeRegularType})
	if err != nil {
		return nil, fmt.Errorf("reading the source: %w", err)
	}
	if !hasDockerfile {
		if dockerfile != "Dockerfile" || config != "" || tfstate != "" {
			return nil, fmt.Errorf("--dockerfile %q: no such file in the source", dockerfile)
		}
		if r.Region == "" {
			r.Region = rehearsalRegion
		}
		if repository == "" {
			repository = defaultRehearsalRepository(r.Region, rehearsalService)
		}
		if r.Source, err = r.sample(repository); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "No %s in the source: rehearsing the sample application (testdata/app) with the starter kit.\n", dockerfile)
	}

	var configs []string
	if config != "" {
		configs = []string{config}
	}
	service := func(image string) *EcsService {
		return r.serviceFor(configs, image, container, env, envfile, secretEnvfile, extStr, extCode)
	}

	// One service runs the simulator (with its stand-ins) and the engine
	// server side by side: every AWS call and push of the rehearsal goes
	// to the simulator on the service's own localhost. Setup reads the
	// config first (a broken one fails before anything is set up), then
	// gives the simulator the config's region and cluster, and the
	// service as it would exist before this change: revision 1 of an
	// earlier image, running and steady; then the scenario's behaviour.
	simURL := fmt.Sprintf("http://127.0.0.1:%d", rehearsalPort)
	r.EndpointURL, r.RegistryURL = simURL, simURL
	ctr, args, err := service("").container(ctx)
	if err != nil {
		return nil, err
	}
	start := func(ctx context.Context) (*engineServer, error) {
		srv, err := r.startServer(ctx, r.withSimulator(ctr), args, "sh", "-c", fmt.Sprintf(
			"%s -standin -addr 0.0.0.0:%d -account %s -time-scale %d & exec %s serve --addr=0.0.0.0:%d",
			engineSim, rehearsalPort, rehearsalAccount, timeScale, engineCLI, serverPort))
		if err != nil {
			return nil, fmt.Errorf("starting the ECS simulator: %w", err)
		}
		return srv, nil
	}
	setupArgs := append(service("").flags(), "rehearsal", "setup", "--sim="+simURL, "--scenario="+scenario)
	if repository != "" {
		if _, err := ref.ParseRepository(repository); err != nil {
			return nil, err
		}
		setupArgs = append(setupArgs, "--repository="+repository)
	}
	if runBefore != "" {
		setupArgs = append(setupArgs, "--run-before="+runBefore)
	}
	setup := func(ctx context.Context, srv *engineServer) (string, map[string]string, error) {
		ran, err := srv.run(ctx, nil, setupArgs...)
		if err != nil {
			return "", nil, err
		}
		if ran.Code != 0 {
			return "", nil, ran.Failure("rehearsal setup")
		}
		var account struct{ Region, Repository string }
		if err := json.Unmarshal([]byte(ran.Result), &account); err != nil {
			return "", nil, fmt.Errorf("reading the rehearsal's setup: %w", err)
		}
		fmt.Fprintf(os.Stderr, "Rehearsal: simulated time runs %d times faster than the wall clock; %s.\n", timeScale, strings.TrimSpace(ran.Stdout))
		return account.Repository, map[string]string{"AWS_REGION": account.Region}, nil
	}

	// Ship starts the service and runs setup while it tests and builds
	// the image. The deploy's clock runs as fast as the simulator's, so
	// that it polls, bakes and times out in simulated time.
	return r.ship(ctx, shipArgs{
		config: configs, dockerfile: dockerfile, target: target, buildArg: buildArg,
		testTarget: testTarget, testCommand: testCommand, testImage: testImage, container: container,
		env: env, envfile: envfile, secretEnvfile: secretEnvfile, extStr: extStr, extCode: extCode,
		desiredCount: -1, runBefore: runBefore,
		rehearsal: &rehearsalServer{start: start, setup: setup, flags: []string{"--time-scale=" + strconv.Itoa(timeScale)}},
	})
}

// sample is the sample application with the starter kit, filled in for
// the rehearsal, and a Terraform state for its lookups.
func (m *EcsPipeline) sample(repository string) (*dagger.Directory, error) {
	own := dag.CurrentModule().Source()
	kit, err := m.Init(rehearsalCluster, rehearsalService, repository, "terraform.tfstate", m.Region)
	if err != nil {
		return nil, err
	}
	return own.Directory("testdata/app").
		WithDirectory(".", kit).
		WithFile("terraform.tfstate", own.File("pipeline/testdata/tfstate/terraform.tfstate")), nil
}

// withSimulator is ctr, an engine container, made to run the ECS
// simulator too: its port exposed (the service is up once both answer)
// and a fresh nonce, so that each rehearsal gets its own.
func (m *EcsPipeline) withSimulator(ctr *dagger.Container) *dagger.Container {
	var nonce [8]byte
	rand.Read(nonce[:])
	return ctr.
		WithEnvVariable("ECSSIM_REHEARSAL", hex.EncodeToString(nonce[:])).
		WithExposedPort(rehearsalPort)
}

// defaultRehearsalRepository is the stand-in account's ECR repository
// named after the service.
func defaultRehearsalRepository(region, service string) string {
	return rehearsalAccount + ".dkr.ecr." + region + ".amazonaws.com/" + service
}

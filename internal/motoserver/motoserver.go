// Package motoserver starts moto, the AWS service emulator, for tests.
package motoserver

import (
	"strconv"
	"testing"

	"github.com/ecs-pipeline/ecs-pipeline/internal/testserver"
)

// Start runs `moto_server` on a free port of 127.0.0.1, waits until it
// answers and stops it when the test ends. It returns moto's URL. A missing
// moto_server fails the test. env (NAME=VALUE) configures moto, for example
// INITIAL_NO_AUTH_ACTION_COUNT=0 to refuse unknown credentials as AWS does.
func Start(t testing.TB, env ...string) string {
	t.Helper()
	port, _ := testserver.StartOnFreePort(t, 0, 0, func(port int) (string, testserver.Command) {
		return url(port) + "/moto-api/", testserver.Command{
			Program: "moto_server",
			Args:    []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)},
			Env:     env,
		}
	})
	return url(port)
}

func url(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

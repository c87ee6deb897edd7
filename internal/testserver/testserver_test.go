package testserver

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestFreePortHeldAcrossProcesses: a port handed to a test is refused to
// another test binary until that test ends (go test runs packages side by
// side, and a CI run once lost a registry to "address already in use").
func TestFreePortHeldAcrossProcesses(t *testing.T) {
	if p := os.Getenv("TESTSERVER_CHILD_PORT"); p != "" {
		port, _ := strconv.Atoi(p)
		FreePort(t, port, port) // fails the child when the port is held
		return
	}
	child := func(port int) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFreePortHeldAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TESTSERVER_CHILD_PORT="+strconv.Itoa(port))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	var port int
	t.Run("held", func(t *testing.T) {
		port = FreePort(t, 0, 0)
		if release, err := hold(port); err != nil || release != nil {
			t.Errorf("hold(%d) in the process holding it = %v, %v; want refused", port, release != nil, err)
		}
		out, err := child(port)
		if err == nil || !strings.Contains(out, "no free port") {
			t.Errorf("another process got held port %d: err %v\n%s", port, err, out)
		}
	})
	if out, err := child(port); err != nil {
		t.Errorf("port %d still refused after the test holding it ended: %v\n%s", port, err, out)
	}
}

// TestStartOnFreePortMovesOffATakenPort: a port taken by a process outside
// the tests after FreePort checked it is given up for another, and the
// server runs there.
func TestStartOnFreePortMovesOffATakenPort(t *testing.T) {
	var taken []int
	port, _ := StartOnFreePort(t, 0, 0, func(port int) (string, Command) {
		if len(taken) == 0 {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}
		taken = append(taken, port)
		return "http://127.0.0.1:" + strconv.Itoa(port) + "/", Command{
			Program: "python3",
			Args:    []string{"-m", "http.server", "--bind", "127.0.0.1", strconv.Itoa(port)},
		}
	})
	if len(taken) != 2 || port != taken[1] || taken[0] == taken[1] {
		t.Fatalf("ports tried %v, server on %d; want a second, different port", taken, port)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

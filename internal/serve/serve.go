// Package serve is the protocol of `ecs-pipeline serve`
// (cmd/ecs-pipeline/serve.go), which runs the command's own command lines
// sent to it over HTTP, and the client the Dagger module talks to it with.
// It holds no Dagger types, so both sides (and their tests) share it.
//
// Every request carries "Authorization: Bearer TOKEN", the server's token
// read from TokenEnv:
//
//	PUT /files/NAME       stores the body as a file and answers {"path": P}
//	POST /run             a Request; runs its args (its env over the
//	                      server's) and answers with newline-delimited
//	                      JSON Frames: {"stdout": TEXT} and {"stderr":
//	                      TEXT} as written, then {"exit": CODE, "result":
//	                      --result's content, "error": --error-file's
//	                      content}.
package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenEnv names the server's variable holding the bearer token.
const TokenEnv = "ECS_PIPELINE_SERVE_TOKEN"

// Request is POST /run's body.
type Request struct {
	Args []string          `json:"args"`
	Env  map[string]string `json:"env,omitempty"`
	// Last asks the server to exit once this run is answered.
	Last bool `json:"last,omitempty"`
}

// Frame is one line of POST /run's answer.
type Frame struct {
	Stdout string  `json:"stdout,omitempty"`
	Stderr string  `json:"stderr,omitempty"`
	Exit   *int    `json:"exit,omitempty"`
	Result *string `json:"result,omitempty"`
	Error  *string `json:"error,omitempty"`
}

// Client talks to one server.
type Client struct {
	// URL is the server's base URL, such as http://host:8081.
	URL   string
	Token string
}

// Ran is a finished run: its exit code, its --result and its error
// message ("" when it wrote none).
type Ran struct {
	Code          int
	Result, Error string
}

// Await waits until the server's host and port accept a connection,
// trying every 10 ms, for at most timeout: a server started without a
// health check (Dagger's polls on a backoff from 0.1 s) is used as soon
// as it listens.
func (c *Client) Await(ctx context.Context, timeout time.Duration) error {
	u, err := url.Parse(c.URL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", u.Host)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept a connection within %s: %w", u.Host, timeout, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Upload stores body as the server's file name and returns its path
// there.
func (c *Client) Upload(ctx context.Context, name string, body io.Reader) (string, error) {
	resp, err := c.do(ctx, http.MethodPut, "/files/"+name, body)
	if err != nil {
		return "", fmt.Errorf("sending %s to the engine: %w", name, err)
	}
	defer resp.Body.Close()
	var put struct{ Path string }
	if err := json.NewDecoder(resp.Body).Decode(&put); err != nil || put.Path == "" {
		return "", fmt.Errorf("sending %s to the engine: no path in its answer (%v)", name, err)
	}
	return put.Path, nil
}

// Run runs req and copies its stdout and stderr to the writers as they
// come. The error is for a run that could not be sent or whose answer
// broke off; a command that failed is a Ran with a Code other than 0.
func (c *Client) Run(ctx context.Context, req Request, stdout, stderr io.Writer) (*Ran, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodPost, "/run", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var f Frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return nil, fmt.Errorf("reading its output: %w", err)
		}
		io.WriteString(stdout, f.Stdout)
		io.WriteString(stderr, f.Stderr)
		if f.Exit != nil {
			r := &Ran{Code: *f.Exit}
			if f.Result != nil {
				r.Result = *f.Result
			}
			if f.Error != nil {
				r.Error = strings.TrimRight(*f.Error, "\n")
			}
			return r, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the engine ended the run without an exit code")
}

// Failure is the error of a run of command that exited with a code other
// than 0: its error message, or its exit code when it wrote none.
func (r *Ran) Failure(command string) error {
	if r.Error != "" {
		return errors.New(r.Error)
	}
	return fmt.Errorf("ecs-pipeline %s exited with %d", command, r.Code)
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

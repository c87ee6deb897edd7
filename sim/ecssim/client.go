package ecssim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client scripts a running simulator over its /_sim/ admin endpoints (see
// admin.go), for a process that does not hold the Simulator itself, such
// as the CLI's rehearsal setup.
type Client struct {
	// URL is the simulator's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// HTTP is the client to call it with; nil uses http.DefaultClient.
	HTTP *http.Client
}

// AdvanceClock moves the simulated clock forward by d (POST
// /_sim/clock/advance).
func (c *Client) AdvanceClock(ctx context.Context, d time.Duration) error {
	return c.post(ctx, "/_sim/clock/advance", map[string]any{"duration": d.String()})
}

// SetBehavior sets how the tasks of key (a family, family:revision, or a
// CommandKey) behave (POST /_sim/behaviors).
func (c *Client) SetBehavior(ctx context.Context, key string, b Behavior) error {
	return c.post(ctx, "/_sim/behaviors", map[string]any{"key": key, "behavior": b})
}

// SetAccount sets the simulated region and creates clusters (POST
// /_sim/account); see Simulator.SetAccount.
func (c *Client) SetAccount(ctx context.Context, region string, clusters ...string) error {
	return c.post(ctx, "/_sim/account", map[string]any{"region": region, "clusters": clusters})
}

// SetAlarmState sets the state of a CloudWatch alarm deployments watch:
// AlarmOK, AlarmAlarm or AlarmInsufficientData (POST /_sim/alarms).
func (c *Client) SetAlarmState(ctx context.Context, name, state string) error {
	return c.post(ctx, "/_sim/alarms", map[string]any{"alarmName": name, "state": state})
}

// SetLambdaHook scripts what the AWS_LAMBDA lifecycle hooks whose target
// is arn answer (POST /_sim/lambda-hooks).
func (c *Client) SetLambdaHook(ctx context.Context, arn string, h LambdaHook) error {
	return c.post(ctx, "/_sim/lambda-hooks", map[string]any{"hookTargetArn": arn, "result": h})
}

// post sends body as JSON to one admin endpoint and fails on any status
// but 2xx, quoting the simulator's answer.
func (c *Client) post(ctx context.Context, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+path, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("scripting the ECS simulator: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("scripting the ECS simulator: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("scripting the ECS simulator: POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

package ecssim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"

	"github.com/ecs-pipeline/ecs-pipeline/internal/ssmsession"
)

// ECS Exec. ExecuteCommand checks what ECS checks (the task was started
// with enableExecuteCommand, it is RUNNING, the container's
// ExecuteCommandAgent is RUNNING, interactive is true) and returns a
// session whose streamUrl is a websocket on the simulator itself
// (execPathPrefix + session id). There the simulator plays the SSM agent
// of the Session Manager data channel (internal/ssmsession): it checks
// the opening message's token, runs the handshake, then runs the command
// as `sh -c COMMAND` under a pseudo-terminal on this machine (for clients
// on the loopback interface only), as the agent
// runs it in the container under one. Keystrokes go to the terminal,
// Size messages resize it, its output comes back as output stream data;
// when the command exits the simulator sends its exit code (payload type
// ExitCode, decimal text), waits for every message to be acknowledged,
// then sends channel_closed.
//
// Tasks a service starts while its enableExecuteCommand is on carry it,
// and each of their containers reports an ExecuteCommandAgent RUNNING in
// managedAgents; tasks started before it was turned on do not, as in ECS,
// until they are replaced.

// execPathPrefix is where data channels are served.
const execPathPrefix = "/_exec/data-channel/"

// execSessionTTL is how long an ExecuteCommand session waits for its data
// channel.
const execSessionTTL = 5 * time.Minute

// managedAgent is an entry of a container's managedAgents.
type managedAgent struct {
	Name       string `json:"name"`
	LastStatus string `json:"lastStatus"`
}

// execSession is a session ExecuteCommand created, waiting for its data
// channel.
type execSession struct {
	token   string
	command string
	expires time.Time
}

// execSessions are the sessions not yet opened.
type execSessions struct {
	mu sync.Mutex
	m  map[string]*execSession
}

func (e *execSessions) put(id string, sess *execSession) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]*execSession{}
	}
	now := time.Now()
	for k, v := range e.m {
		if now.After(v.expires) {
			delete(e.m, k)
		}
	}
	e.m[id] = sess
}

// take returns a session once.
func (e *execSessions) take(id string) *execSession {
	e.mu.Lock()
	defer e.mu.Unlock()
	sess := e.m[id]
	delete(e.m, id)
	if sess == nil || time.Now().After(sess.expires) {
		return nil
	}
	return sess
}

// enableExec marks a task started with enableExecuteCommand.
func enableExec(t *task) {
	t.EnableExecuteCommand = true
	for _, c := range t.Containers {
		c.ManagedAgents = []managedAgent{{Name: "ExecuteCommandAgent", LastStatus: "RUNNING"}}
	}
}

type executeCommandInput struct {
	Cluster     string `json:"cluster"`
	Container   string `json:"container"`
	Command     string `json:"command"`
	Interactive bool   `json:"interactive"`
	Task        string `json:"task"`
}

// serveExecuteCommand serves ExecuteCommand through serveECS (request
// log, faults, credentials), with the request's host for the stream URL.
func (s *Simulator) serveExecuteCommand(w http.ResponseWriter, r *http.Request) {
	scheme := "ws://"
	if r.TLS != nil {
		scheme = "wss://"
	}
	base := scheme + r.Host + execPathPrefix
	ops := map[string]handler{"ExecuteCommand": op(func(s *Simulator, in *executeCommandInput) (any, *apiError) {
		return s.executeCommand(in, base)
	})}
	s.serveECS(w, r, ops, "ExecuteCommand")
}

func (s *Simulator) executeCommand(in *executeCommandInput, base string) (any, *apiError) {
	if in.Command == "" {
		return nil, errInvalidParameter("command can not be blank.")
	}
	if !in.Interactive {
		return nil, errInvalidParameter("Interactive is the only mode supported currently.")
	}
	c, err := s.cluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	s.stepOneOffs()
	t, ok := c.tasks[lastSegment(in.Task)]
	if !ok {
		return nil, errInvalidParameter("The specified task was not found.")
	}
	if !t.EnableExecuteCommand {
		return nil, errInvalidParameter("The execute command failed because execute command was not enabled when the task was run or the execute command agent isn’t running. Wait and try again or run a new task with execute command enabled and try again.")
	}
	if t.LastStatus != "RUNNING" {
		return nil, errInvalidParameter("The execute command failed because the task is in %s state, not RUNNING.", t.LastStatus)
	}
	var ctr *container
	for _, cc := range t.Containers {
		if in.Container == "" && len(t.Containers) == 1 || cc.Name == in.Container {
			ctr = cc
		}
	}
	if ctr == nil {
		if in.Container == "" {
			return nil, errInvalidParameter("The container name must be specified when a task has more than one container.")
		}
		return nil, errInvalidParameter("The specified container %s was not found in the task.", in.Container)
	}
	agentRunning := false
	for _, a := range ctr.ManagedAgents {
		agentRunning = agentRunning || a.Name == "ExecuteCommandAgent" && a.LastStatus == "RUNNING"
	}
	if !agentRunning || ctr.LastStatus != "RUNNING" {
		return nil, newAPIError(http.StatusBadRequest, "TargetNotConnectedException", "The execute command failed due to an internal error. Try again later.")
	}
	id := "ecs-execute-command-" + newHexID()
	token := newUUID() + newHexID()
	s.exec.put(id, &execSession{token: token, command: in.Command, expires: time.Now().Add(execSessionTTL)})
	return map[string]any{
		"clusterArn":    c.ClusterArn,
		"containerArn":  ctr.ContainerArn,
		"containerName": ctr.Name,
		"interactive":   true,
		"taskArn":       t.TaskArn,
		"session": map[string]string{
			"sessionId":  id,
			"streamUrl":  base + id + "?role=publish_subscribe&cell-number=sim",
			"tokenValue": token,
		},
	}, nil
}

// agentVersion is what the simulated agent says it is.
const agentVersion = "3.3.0.0-ecssim"

// serveDataChannel plays the SSM agent of one session.
func (s *Simulator) serveDataChannel(w http.ResponseWriter, r *http.Request) {
	// The command runs on this machine: only for a client on it, whatever
	// address the simulator listens on.
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		http.Error(w, "ecssim runs ECS Exec commands only for clients on its own machine", http.StatusForbidden)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, execPathPrefix)
	sess := s.exec.take(id)
	if sess == nil {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := r.Context()
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	typ, b, err := ws.Read(openCtx)
	cancel()
	var open ssmsession.OpeningMessage
	if err != nil || typ != websocket.MessageText || json.Unmarshal(b, &open) != nil {
		ws.Close(websocket.StatusPolicyViolation, "expected the opening message")
		return
	}
	if subtle.ConstantTimeCompare([]byte(open.TokenValue), []byte(sess.token)) != 1 {
		ws.Close(websocket.StatusPolicyViolation, "invalid token")
		return
	}
	a := &agent{ch: ssmsession.NewChannel(ws, true, ssmsession.ChannelOptions{}), command: sess.command, sessionID: id, started: time.Now()}
	a.run(ctx, ws)
}

type agent struct {
	ch        *ssmsession.Channel
	command   string
	sessionID string
	started   time.Time

	mu   sync.Mutex
	ptmx interface {
		Write([]byte) (int, error)
	}
	resize func(cols, rows uint16)
	done   chan int // the command's exit code
}

func (a *agent) run(ctx context.Context, ws *websocket.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.done = make(chan int, 1)
	readErr := make(chan error, 1)
	go func() { readErr <- a.ch.Run(ctx, a.handle) }()
	err := a.ch.SendJSON(ctx, ssmsession.PayloadHandshakeRequest, ssmsession.HandshakeRequest{
		AgentVersion: agentVersion,
		RequestedClientActions: []ssmsession.RequestedClientAction{{
			ActionType:       ssmsession.ActionSessionType,
			ActionParameters: ssmsession.SessionTypeRequest{SessionType: "InteractiveCommands", Properties: map[string]any{"commands": a.command}},
		}},
	})
	if err != nil {
		return
	}
	var code int
	select {
	case code = <-a.done:
	case <-readErr:
		return // the client went away or broke the protocol
	}
	if a.ch.Send(ctx, ssmsession.PayloadExitCode, []byte(strconv.Itoa(code))) != nil {
		return
	}
	waitCtx, cancelWait := context.WithTimeout(ctx, 30*time.Second)
	err = a.ch.WaitAcknowledged(waitCtx)
	cancelWait()
	if err != nil {
		return
	}
	a.ch.SendControl(ctx, ssmsession.TypeChannelClosed, ssmsession.ChannelClosed{
		MessageID: ssmsession.NewMessageID().String(), CreatedDate: time.Now().UTC().Format(time.RFC3339Nano),
		SessionID: a.sessionID, MessageType: ssmsession.TypeChannelClosed, SchemaVersion: 1,
	})
	ws.Close(websocket.StatusNormalClosure, "")
}

// handle handles the client's stream messages.
func (a *agent) handle(m *ssmsession.Message) error {
	switch m.PayloadType {
	case ssmsession.PayloadHandshakeResponse:
		var resp ssmsession.HandshakeResponse
		if err := json.Unmarshal(m.Payload, &resp); err != nil {
			return err
		}
		ok := false
		for _, p := range resp.ProcessedClientActions {
			ok = ok || p.ActionType == ssmsession.ActionSessionType && p.ActionStatus == ssmsession.ActionSuccess
		}
		if !ok {
			return errors.New("the client did not accept the session type")
		}
		if err := a.start(); err != nil {
			a.ch.Send(context.Background(), ssmsession.PayloadOutput, []byte("ecssim: starting the command: "+err.Error()+"\r\n"))
			a.done <- 126
			return nil
		}
		return a.ch.SendJSON(context.Background(), ssmsession.PayloadHandshakeComplete, ssmsession.HandshakeComplete{HandshakeTimeToComplete: time.Since(a.started)})
	case ssmsession.PayloadOutput:
		a.mu.Lock()
		p := a.ptmx
		a.mu.Unlock()
		if p != nil {
			p.Write(m.Payload)
		}
	case ssmsession.PayloadSize:
		var size ssmsession.TerminalSize
		a.mu.Lock()
		resize := a.resize
		a.mu.Unlock()
		if json.Unmarshal(m.Payload, &size) == nil && resize != nil {
			resize(uint16(size.Cols), uint16(size.Rows))
		}
	}
	return nil
}

// start runs the command under a pseudo-terminal and pumps its output.
func (a *agent) start() error {
	cmd := exec.Command("sh", "-c", a.command)
	cmd.Env = append(cmd.Environ(), "TERM=xterm")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.ptmx = ptmx
	a.resize = func(cols, rows uint16) { pty.Setsize(ptmx, &pty.Winsize{Cols: cols, Rows: rows}) }
	a.mu.Unlock()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 1024)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				if a.ch.Send(context.Background(), ssmsession.PayloadOutput, append([]byte(nil), buf[:n]...)) != nil {
					return
				}
			}
			if err != nil {
				return // EIO once the command and its children have exited
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			code = 126
		}
		select {
		case <-drained:
		case <-time.After(2 * time.Second): // a background child keeps the terminal open
		}
		ptmx.Close()
		a.done <- code
	}()
	return nil
}

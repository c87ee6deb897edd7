package ssmsession

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Options is one session's client side.
type Options struct {
	// StreamURL and Token are ExecuteCommand's session.streamUrl and
	// session.tokenValue. The token is sent once, in the opening message,
	// and never appears in an error.
	StreamURL string
	Token     string
	// Stdin is forwarded as keystrokes once the handshake completed; nil
	// forwards nothing. Run does not wait for a Read in progress when the
	// session ends.
	Stdin io.Reader
	// EOFAsEOT sends Ctrl-D (EOT) when Stdin ends, so that a command
	// reading the remote terminal, such as a shell, sees the end of its
	// input (the remote side is a terminal: it has no other way to close
	// it). For piped, not interactive, input.
	EOFAsEOT bool
	// Stdout receives the session's output; Stderr its stderr stream (an
	// agent sends one only for non-interactive commands) and the
	// customer message of the handshake.
	Stdout, Stderr io.Writer
	// TerminalSize, when set, is polled (every 500ms, as the plugin does)
	// and its changes sent to the agent; ok false sends nothing.
	TerminalSize func() (cols, rows int, ok bool)
	// Channel tunes resends.
	Channel ChannelOptions
	// HTTPClient dials the websocket; http.DefaultClient when nil.
	HTTPClient *http.Client
}

// ErrDataChannelClosed is returned (wrapped) when the websocket ended
// before the agent closed the session.
var ErrDataChannelClosed = errors.New("the session's data channel closed before the command finished")

// sizePollInterval is how often TerminalSize is read.
const sizePollInterval = 500 * time.Millisecond

// Run opens the data channel, completes the handshake, forwards stdin and
// terminal size, writes output, and returns when the agent closes the
// channel: the command's exit code when the agent reported one
// (payload type ExitCode), otherwise 0.
func Run(ctx context.Context, opts Options) (exitCode int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	ws, _, err := websocket.Dial(ctx, opts.StreamURL, &websocket.DialOptions{HTTPClient: opts.HTTPClient})
	if err != nil {
		return 0, fmt.Errorf("opening the session's data channel at %s: %w", redactURL(opts.StreamURL), scrub(err, opts.Token))
	}
	defer ws.CloseNow()
	ch := NewChannel(ws, false, opts.Channel)
	open, err := json.Marshal(OpeningMessage{
		MessageSchemaVersion: openingSchemaVersion,
		RequestID:            NewMessageID().String(),
		TokenValue:           opts.Token,
		ClientID:             NewMessageID().String(),
		ClientVersion:        defaultClientVersion,
	})
	if err != nil {
		return 0, err
	}
	if err := ch.WriteText(ctx, open); err != nil {
		return 0, fmt.Errorf("%w: sending the opening message: %w", ErrDataChannelClosed, scrub(err, opts.Token))
	}

	s := &clientSession{ch: ch, opts: opts, ready: make(chan struct{}), exit: -1}
	go s.forward(ctx)
	err = ch.Run(ctx, s.handle)
	if err != nil {
		var ce websocket.CloseError
		switch {
		case s.failure != nil:
			return 0, s.failure
		case errors.Is(err, ErrNotAcknowledged):
			return 0, fmt.Errorf("the agent stopped acknowledging the session's messages: %w", err)
		case errors.Is(err, ErrMalformed):
			return 0, scrub(err, opts.Token)
		case errors.As(err, &ce):
			reason := ""
			if ce.Reason != "" {
				reason = ": " + scrub(errors.New(ce.Reason), opts.Token).Error()
			}
			return 0, fmt.Errorf("%w: closed by the agent with status %d%s", ErrDataChannelClosed, ce.Code, reason)
		case ctx.Err() != nil:
			return 0, fmt.Errorf("session interrupted: %w", context.Cause(ctx))
		default:
			return 0, fmt.Errorf("%w: %w", ErrDataChannelClosed, scrub(err, opts.Token))
		}
	}
	ws.Close(websocket.StatusNormalClosure, "")
	if s.exit < 0 {
		return 0, nil
	}
	return s.exit, nil
}

type clientSession struct {
	ch        *Channel
	opts      Options
	readyOnce sync.Once
	ready     chan struct{}
	exit      int
	failure   error
}

func (s *clientSession) handle(m *Message) error {
	ctx := context.Background()
	if m.Type == TypeChannelClosed {
		var cc ChannelClosed
		json.Unmarshal(m.Payload, &cc)
		if cc.Output != "" && s.exit < 0 {
			// The agent ended the session before the command reported an
			// exit: its reason (e.g. the session timed out) is the error.
			s.failure = fmt.Errorf("the agent closed the session: %s", cc.Output)
			return s.failure
		}
		return ErrStop
	}
	switch m.PayloadType {
	case PayloadHandshakeRequest:
		return s.handshake(ctx, m.Payload)
	case PayloadHandshakeComplete:
		var hc HandshakeComplete
		if err := json.Unmarshal(m.Payload, &hc); err != nil {
			return fmt.Errorf("%w: handshake complete: %v", ErrMalformed, err)
		}
		if hc.CustomerMessage != "" {
			fmt.Fprintln(s.opts.Stderr, hc.CustomerMessage)
		}
		s.readyOnce.Do(func() { close(s.ready) })
	case PayloadOutput:
		if _, err := s.opts.Stdout.Write(m.Payload); err != nil {
			return fmt.Errorf("writing the session's output: %w", err)
		}
	case PayloadStdErr:
		if _, err := s.opts.Stderr.Write(m.Payload); err != nil {
			return fmt.Errorf("writing the session's stderr: %w", err)
		}
	case PayloadExitCode:
		code, err := parseExitCode(m.Payload)
		if err != nil {
			return err
		}
		s.exit = code
	case PayloadEncChallengeRequest:
		s.failure = errors.New("the session asks for KMS encryption, which ecs-pipeline exec does not support")
		return s.failure
	}
	return nil
}

// parseExitCode reads an ExitCode payload: decimal text, or a 4-byte
// big-endian integer.
func parseExitCode(p []byte) (int, error) {
	if n, err := strconv.Atoi(strings.TrimSpace(string(p))); err == nil {
		return n, nil
	}
	if len(p) == 4 {
		return int(int32(binary.BigEndian.Uint32(p))), nil
	}
	return 0, fmt.Errorf("%w: exit code payload %q", ErrMalformed, p)
}

// handshake answers the agent's handshake request: a SessionType action
// succeeds; KMSEncryption and unknown actions are refused, and the
// session fails with a clear error (the agent would end it anyway).
func (s *clientSession) handshake(ctx context.Context, payload []byte) error {
	var req HandshakeRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return fmt.Errorf("%w: handshake request: %v", ErrMalformed, err)
	}
	resp := HandshakeResponse{ClientVersion: defaultClientVersion, ProcessedClientActions: []ProcessedClientAction{}}
	var refused []string
	for _, a := range req.RequestedClientActions {
		p := ProcessedClientAction{ActionType: a.ActionType}
		switch a.ActionType {
		case ActionSessionType:
			p.ActionStatus = ActionSuccess
		case ActionKMSEncryption:
			p.ActionStatus = ActionFailed
			p.Error = "KMS encryption of sessions is not supported by ecs-pipeline"
			refused = append(refused, p.Error)
		default:
			p.ActionStatus = ActionUnsupported
			p.Error = "Unsupported action " + a.ActionType
			refused = append(refused, p.Error)
		}
		resp.ProcessedClientActions = append(resp.ProcessedClientActions, p)
	}
	resp.Errors = refused
	if err := s.ch.SendJSON(ctx, PayloadHandshakeResponse, resp); err != nil {
		return err
	}
	if len(refused) > 0 {
		s.failure = fmt.Errorf("the session needs what ecs-pipeline exec cannot do: %s", strings.Join(refused, "; "))
		return s.failure
	}
	return nil
}

// forward sends the terminal size and keystrokes once the handshake
// completed.
func (s *clientSession) forward(ctx context.Context) {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return
	}
	if s.opts.TerminalSize != nil {
		go s.pollSize(ctx)
	}
	if s.opts.Stdin == nil {
		return
	}
	buf := make([]byte, 1024) // the plugin's StreamDataPayloadSize
	for {
		n, err := s.opts.Stdin.Read(buf)
		if n > 0 {
			if serr := s.ch.Send(ctx, PayloadOutput, append([]byte(nil), buf[:n]...)); serr != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF && s.opts.EOFAsEOT {
				s.ch.Send(ctx, PayloadOutput, []byte{0x04})
			}
			return
		}
	}
}

func (s *clientSession) pollSize(ctx context.Context) {
	var last TerminalSize
	tick := time.NewTicker(sizePollInterval)
	defer tick.Stop()
	for {
		if cols, rows, ok := s.opts.TerminalSize(); ok && cols > 0 && rows > 0 {
			size := TerminalSize{Cols: uint32(cols), Rows: uint32(rows)}
			if size != last {
				if err := s.ch.SendJSON(ctx, PayloadSize, size); err != nil {
					return
				}
				last = size
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// redactURL drops a URL's query and user info: the stream URL carries no
// token, but an error message needs only where it was.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the stream URL"
	}
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	return u.String()
}

// scrub replaces the token wherever an underlying error might quote it.
func scrub(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<redacted>"))
}

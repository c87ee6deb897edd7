package ssmsession

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const testToken = "AQoDYXdzEJr-secret-token-value"

func TestMessageRoundTrip(t *testing.T) {
	m := &Message{Type: TypeOutputStream, SchemaVersion: 1, CreatedDate: 1700000000123, SequenceNumber: 42,
		Flags: flagFIN, ID: NewMessageID(), PayloadType: PayloadStdErr, Payload: []byte("hello\r\n")}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 120+len(m.Payload) || binary.BigEndian.Uint32(b) != 116 {
		t.Fatalf("frame of %d bytes with header length %d, want 127 and 116", len(b), binary.BigEndian.Uint32(b))
	}
	if got := string(b[4:36]); got != "output_stream_data              " {
		t.Errorf("message type field %q, want the type padded with spaces to 32 bytes", got)
	}
	if !bytes.Equal(b[48:56], []byte{0, 0, 0, 0, 0, 0, 0, 42}) {
		t.Errorf("sequence number field % x", b[48:56])
	}
	if !bytes.Equal(b[64:72], m.ID[8:]) || !bytes.Equal(b[72:80], m.ID[:8]) {
		t.Errorf("message id field % x, want the id's halves swapped (% x)", b[64:80], m.ID)
	}
	got, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != m.Type || got.SchemaVersion != 1 || got.CreatedDate != m.CreatedDate || got.SequenceNumber != 42 ||
		got.Flags != flagFIN || got.ID != m.ID || got.PayloadType != PayloadStdErr || string(got.Payload) != "hello\r\n" {
		t.Errorf("round trip: %+v, want %+v", got, m)
	}
	empty := &Message{Type: TypeAcknowledge, ID: NewMessageID()}
	eb, _ := empty.Marshal()
	if e, err := ParseMessage(eb); err != nil || len(e.Payload) != 0 {
		t.Errorf("empty payload: %v, %v", e, err)
	}

	for name, mutate := range map[string]func([]byte) []byte{
		"payload changed":  func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"truncated":        func(b []byte) []byte { return b[:len(b)-1] },
		"short":            func(b []byte) []byte { return b[:50] },
		"header length":    func(b []byte) []byte { b[3] = 100; return b },
		"no message type":  func(b []byte) []byte { copy(b[4:36], bytes.Repeat([]byte(" "), 32)); return b },
		"payload too long": func(b []byte) []byte { return append(b, 'x') },
	} {
		bad := mutate(append([]byte(nil), b...))
		if _, err := ParseMessage(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	if s := NewMessageID().String(); len(s) != 36 || s[14] != '4' {
		t.Errorf("message id %q is not a version 4 UUID", s)
	}
}

func TestOpeningMessageNeverPrintsToken(t *testing.T) {
	o := OpeningMessage{TokenValue: testToken, ClientID: "c"}
	for _, s := range []string{o.String(), o.GoString()} {
		if strings.Contains(s, testToken) {
			t.Errorf("%q shows the token", s)
		}
	}
}

// fakeAgent plays the agent from a script, frame by frame.
type fakeAgent struct {
	t    *testing.T
	ws   *websocket.Conn
	open OpeningMessage
	in   chan *Message
	mu   sync.Mutex
	acks map[int64]int // acknowledgements received, by sequence number
}

// startAgent serves script on a websocket and returns its URL.
func startAgent(t *testing.T, script func(a *fakeAgent)) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer ws.CloseNow()
		a := &fakeAgent{t: t, ws: ws, in: make(chan *Message, 100), acks: map[int64]int{}}
		typ, b, err := ws.Read(r.Context())
		if err != nil || typ != websocket.MessageText || json.Unmarshal(b, &a.open) != nil {
			t.Errorf("opening message: %v %s", err, b)
			return
		}
		if a.open.TokenValue != testToken || a.open.MessageSchemaVersion != "1.0" {
			t.Errorf("opening message %s", b)
		}
		go func() {
			defer close(a.in)
			for {
				_, b, err := ws.Read(context.Background())
				if err != nil {
					return
				}
				m, err := ParseMessage(b)
				if err != nil {
					t.Errorf("client sent a bad frame: %v", err)
					return
				}
				if m.Type == TypeAcknowledge {
					var ack Acknowledgement
					json.Unmarshal(m.Payload, &ack)
					a.mu.Lock()
					a.acks[ack.SequenceNumber]++
					a.mu.Unlock()
					continue
				}
				a.in <- m
			}
		}()
		script(a)
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/data-channel/sess-1?role=publish_subscribe"
}

func (a *fakeAgent) send(seq int64, pt PayloadType, payload []byte) {
	m := &Message{Type: TypeOutputStream, SchemaVersion: 1, CreatedDate: nowMillis(), SequenceNumber: seq, ID: NewMessageID(), PayloadType: pt, Payload: payload}
	b, _ := m.Marshal()
	a.ws.Write(context.Background(), websocket.MessageBinary, b)
}

func (a *fakeAgent) sendJSON(seq int64, pt PayloadType, v any) {
	b, _ := json.Marshal(v)
	a.send(seq, pt, b)
}

// next is the client's next stream message.
func (a *fakeAgent) next() *Message {
	select {
	case m, ok := <-a.in:
		if !ok {
			return nil
		}
		return m
	case <-time.After(5 * time.Second):
		a.t.Error("the client sent nothing for 5s")
		return nil
	}
}

func (a *fakeAgent) ack(m *Message) {
	b, _ := json.Marshal(Acknowledgement{MessageType: m.Type, MessageID: m.ID.String(), SequenceNumber: m.SequenceNumber, IsSequentialMessage: true})
	am := &Message{Type: TypeAcknowledge, SchemaVersion: 1, CreatedDate: nowMillis(), Flags: 3, ID: NewMessageID(), Payload: b}
	raw, _ := am.Marshal()
	a.ws.Write(context.Background(), websocket.MessageBinary, raw)
}

func (a *fakeAgent) acked(seq int64) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acks[seq]
}

// handshake runs the handshake; output messages then start at seq 2.
func (a *fakeAgent) handshake() bool {
	a.sendJSON(0, PayloadHandshakeRequest, HandshakeRequest{AgentVersion: "3.3", RequestedClientActions: []RequestedClientAction{
		{ActionType: ActionSessionType, ActionParameters: SessionTypeRequest{SessionType: "InteractiveCommands"}},
	}})
	m := a.next()
	if m == nil || m.PayloadType != PayloadHandshakeResponse {
		a.t.Errorf("want a handshake response, got %+v", m)
		return false
	}
	var resp HandshakeResponse
	json.Unmarshal(m.Payload, &resp)
	if len(resp.ProcessedClientActions) != 1 || resp.ProcessedClientActions[0].ActionStatus != ActionSuccess {
		a.t.Errorf("handshake response %s", m.Payload)
	}
	a.ack(m)
	a.sendJSON(1, PayloadHandshakeComplete, HandshakeComplete{CustomerMessage: "welcome"})
	return true
}

func (a *fakeAgent) close(output string) {
	b, _ := json.Marshal(ChannelClosed{SessionID: "sess-1", MessageType: TypeChannelClosed, Output: output})
	m := &Message{Type: TypeChannelClosed, SchemaVersion: 1, CreatedDate: nowMillis(), ID: NewMessageID(), Payload: b}
	raw, _ := m.Marshal()
	a.ws.Write(context.Background(), websocket.MessageBinary, raw)
}

func run(t *testing.T, url string, opts Options) (int, string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.StreamURL, opts.Token = url, testToken
	opts.Stdout, opts.Stderr = &out, &errOut
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	code, err := Run(ctx, opts)
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("the error shows the token: %v", err)
	}
	if strings.Contains(out.String()+errOut.String(), testToken) {
		t.Error("the output shows the token")
	}
	return code, out.String(), errOut.String(), err
}

func TestOutOfOrderAndDuplicateFrames(t *testing.T) {
	var agent *fakeAgent
	done := make(chan struct{})
	url := startAgent(t, func(a *fakeAgent) {
		agent = a
		if !a.handshake() {
			return
		}
		a.send(4, PayloadOutput, []byte("c"))
		a.send(3, PayloadOutput, []byte("b"))
		a.send(2, PayloadOutput, []byte("a"))
		a.send(3, PayloadOutput, []byte("b")) // a duplicate, after delivery
		a.send(2, PayloadOutput, []byte("a"))
		a.send(6, PayloadExitCode, []byte("3"))
		a.send(5, PayloadStdErr, []byte("e"))
		for a.acked(6) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		a.close("")
		<-done
	})
	code, out, errOut, err := run(t, url, Options{})
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	if out != "abc" || errOut != "welcome\ne" || code != 3 {
		t.Errorf("stdout %q, stderr %q, exit %d; want \"abc\", \"welcome\\ne\", 3", out, errOut, code)
	}
	for seq, want := range map[int64]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 1, 5: 1, 6: 1} {
		if got := agent.acked(seq); got != want {
			t.Errorf("message %d acknowledged %d times, want %d", seq, got, want)
		}
	}
}

func TestResendUntilAcknowledged(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		a.sendJSON(0, PayloadHandshakeRequest, HandshakeRequest{RequestedClientActions: []RequestedClientAction{{ActionType: ActionSessionType}}})
		first := a.next()
		// Not acknowledged: the client must send the same message again.
		again := a.next()
		if first == nil || again == nil {
			return
		}
		if again.ID != first.ID || again.SequenceNumber != 0 || again.PayloadType != PayloadHandshakeResponse {
			t.Errorf("resent %+v, want the handshake response %s again", again, first.ID)
		}
		a.ack(again)
		a.sendJSON(1, PayloadHandshakeComplete, HandshakeComplete{})
		// Keystrokes follow, numbered from 1.
		if m := a.next(); m == nil || m.SequenceNumber != 1 || string(m.Payload) != "ls\n" {
			t.Errorf("keystrokes %+v", m)
		} else {
			a.ack(m)
		}
		a.send(2, PayloadExitCode, []byte("0"))
		time.Sleep(50 * time.Millisecond)
		a.close("")
	})
	code, _, _, err := run(t, url, Options{Stdin: strings.NewReader("ls\n"), Channel: ChannelOptions{ResendAfter: 50 * time.Millisecond}})
	if err != nil || code != 0 {
		t.Fatalf("exit %d, %v", code, err)
	}
}

func TestNoAcknowledgementFails(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		a.sendJSON(0, PayloadHandshakeRequest, HandshakeRequest{RequestedClientActions: []RequestedClientAction{{ActionType: ActionSessionType}}})
		for a.next() != nil { // never acknowledged
		}
	})
	start := time.Now()
	_, _, _, err := run(t, url, Options{Channel: ChannelOptions{ResendAfter: 20 * time.Millisecond, MaxResends: 3}})
	if !errors.Is(err, ErrNotAcknowledged) || !strings.Contains(err.Error(), "stopped acknowledging") {
		t.Fatalf("err = %v, want ErrNotAcknowledged", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %s", d)
	}
}

func TestDroppedWebsocket(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		if !a.handshake() {
			return
		}
		a.send(2, PayloadOutput, []byte("partial"))
		time.Sleep(50 * time.Millisecond)
		a.ws.CloseNow() // the connection drops: no channel_closed
	})
	_, out, _, err := run(t, url, Options{})
	if !errors.Is(err, ErrDataChannelClosed) {
		t.Fatalf("err = %v, want ErrDataChannelClosed", err)
	}
	if out != "partial" {
		t.Errorf("output %q", out)
	}
	t.Log(err)
}

func TestAgentClosesWithReason(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		// A hostile or buggy agent quoting the token must not leak it.
		a.ws.Close(websocket.StatusPolicyViolation, "bad token "+testToken)
	})
	_, _, _, err := run(t, url, Options{})
	if !errors.Is(err, ErrDataChannelClosed) || !strings.Contains(err.Error(), "bad token <redacted>") {
		t.Fatalf("err = %v", err)
	}
}

func TestChannelClosedWithOutputBeforeExit(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		if !a.handshake() {
			return
		}
		a.close("Session timed out")
		time.Sleep(100 * time.Millisecond)
	})
	_, _, _, err := run(t, url, Options{})
	if err == nil || !strings.Contains(err.Error(), "Session timed out") {
		t.Fatalf("err = %v", err)
	}
}

func TestKMSEncryptionRefused(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		a.sendJSON(0, PayloadHandshakeRequest, HandshakeRequest{RequestedClientActions: []RequestedClientAction{
			{ActionType: ActionSessionType}, {ActionType: ActionKMSEncryption, ActionParameters: map[string]string{"KMSKeyId": "k"}},
		}})
		if m := a.next(); m != nil {
			var resp HandshakeResponse
			json.Unmarshal(m.Payload, &resp)
			if len(resp.ProcessedClientActions) != 2 || resp.ProcessedClientActions[1].ActionStatus != ActionFailed {
				t.Errorf("handshake response %s", m.Payload)
			}
		}
		time.Sleep(100 * time.Millisecond)
	})
	_, _, _, err := run(t, url, Options{})
	if err == nil || !strings.Contains(err.Error(), "KMS encryption") {
		t.Fatalf("err = %v", err)
	}
}

func TestTerminalSizeSentAfterHandshake(t *testing.T) {
	url := startAgent(t, func(a *fakeAgent) {
		if !a.handshake() {
			return
		}
		m := a.next()
		if m == nil {
			return
		}
		a.ack(m)
		var size TerminalSize
		if m.PayloadType != PayloadSize || json.Unmarshal(m.Payload, &size) != nil || size != (TerminalSize{Cols: 132, Rows: 43}) {
			t.Errorf("first message after the handshake %d %s, want size 132x43", m.PayloadType, m.Payload)
		}
		a.send(2, PayloadExitCode, []byte("0"))
		time.Sleep(50 * time.Millisecond)
		a.close("")
	})
	if _, _, _, err := run(t, url, Options{TerminalSize: func() (int, int, bool) { return 132, 43, true }}); err != nil {
		t.Fatal(err)
	}
}

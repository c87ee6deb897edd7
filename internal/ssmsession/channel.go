package ssmsession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Defaults of ChannelOptions, close to the plugin's (streaming.go:
// a resend timeout that starts at 200ms and a resend check every 100ms;
// we wait longer and give up sooner, after about a minute).
const (
	DefaultResendAfter = time.Second
	DefaultMaxResends  = 60
	// incomingBufferCapacity bounds the stream messages kept while an
	// earlier one is missing (the plugin's IncomingMessageBuffer holds
	// 10000).
	incomingBufferCapacity = 10000
)

// ErrNotAcknowledged is returned (wrapped) when the other side did not
// acknowledge a stream message after every resend.
var ErrNotAcknowledged = errors.New("data channel message not acknowledged")

// ChannelOptions tunes a Channel.
type ChannelOptions struct {
	// ResendAfter is how long a stream message may go unacknowledged
	// before it is sent again; DefaultResendAfter when zero.
	ResendAfter time.Duration
	// MaxResends is how often one message is sent again before the
	// channel fails with ErrNotAcknowledged; DefaultMaxResends when zero.
	MaxResends int
}

// Channel is one side of the data channel's reliable stream over a
// websocket: it numbers and sends its own stream messages (input_stream_data
// for a client, output_stream_data for an agent), resends those not
// acknowledged in time, acknowledges every stream message of the other
// side (duplicates too, so that a lost acknowledgement ends the other
// side's resending), and delivers them once each, in sequence order.
type Channel struct {
	ws       *websocket.Conn
	sendType string
	recvType string
	opts     ChannelOptions

	wmu sync.Mutex // one writer at a time

	mu       sync.Mutex
	nextSeq  int64
	unacked  map[int64]*pending
	acked    chan struct{} // closed and replaced whenever unacked shrinks
	expected int64
	early    map[int64]*Message
}

type pending struct {
	raw     []byte
	sentAt  time.Time
	resends int
}

// NewChannel wraps an open websocket. agent says which side this is.
func NewChannel(ws *websocket.Conn, agent bool, opts ChannelOptions) *Channel {
	if opts.ResendAfter <= 0 {
		opts.ResendAfter = DefaultResendAfter
	}
	if opts.MaxResends <= 0 {
		opts.MaxResends = DefaultMaxResends
	}
	c := &Channel{ws: ws, sendType: TypeInputStream, recvType: TypeOutputStream, opts: opts,
		unacked: map[int64]*pending{}, early: map[int64]*Message{}, acked: make(chan struct{})}
	if agent {
		c.sendType, c.recvType = TypeOutputStream, TypeInputStream
	}
	// Data channel messages are small, but an output burst can be large.
	ws.SetReadLimit(payloadOffset + maxPayloadLength)
	return c
}

func (c *Channel) write(ctx context.Context, typ websocket.MessageType, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(ctx, typ, b)
}

// WriteText sends a text frame (the opening message).
func (c *Channel) WriteText(ctx context.Context, b []byte) error {
	return c.write(ctx, websocket.MessageText, b)
}

// Send sends payload as the next stream message and keeps it until it is
// acknowledged.
func (c *Channel) Send(ctx context.Context, pt PayloadType, payload []byte) error {
	c.mu.Lock()
	seq := c.nextSeq
	c.nextSeq++
	var flags uint64
	if seq == 0 {
		flags = flagSYN
	}
	m := &Message{Type: c.sendType, SchemaVersion: schemaVersion, CreatedDate: nowMillis(),
		SequenceNumber: seq, Flags: flags, ID: NewMessageID(), PayloadType: pt, Payload: payload}
	raw, err := m.Marshal()
	if err != nil {
		c.mu.Unlock()
		return err
	}
	c.unacked[seq] = &pending{raw: raw, sentAt: time.Now()}
	c.mu.Unlock()
	return c.write(ctx, websocket.MessageBinary, raw)
}

// SendJSON sends v, encoded as JSON, as the next stream message.
func (c *Channel) SendJSON(ctx context.Context, pt PayloadType, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Send(ctx, pt, b)
}

// SendControl sends an unsequenced message such as channel_closed.
func (c *Channel) SendControl(ctx context.Context, typ string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m := &Message{Type: typ, SchemaVersion: schemaVersion, CreatedDate: nowMillis(), Flags: flagsOfAcknowledgment, ID: NewMessageID(), Payload: b}
	raw, err := m.Marshal()
	if err != nil {
		return err
	}
	return c.write(ctx, websocket.MessageBinary, raw)
}

func (c *Channel) acknowledge(ctx context.Context, m *Message) error {
	return c.SendControl(ctx, TypeAcknowledge, Acknowledgement{
		MessageType: m.Type, MessageID: m.ID.String(), SequenceNumber: m.SequenceNumber, IsSequentialMessage: true,
	})
}

// Unacknowledged is how many sent stream messages await acknowledgement.
func (c *Channel) Unacknowledged() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.unacked)
}

// WaitAcknowledged waits until every sent stream message is acknowledged
// (while Run reads the acknowledgements), or ctx ends.
func (c *Channel) WaitAcknowledged(ctx context.Context) error {
	for {
		c.mu.Lock()
		n, ch := len(c.unacked), c.acked
		c.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ErrStop, returned by a Run handler, ends Run without error.
var ErrStop = errors.New("stop")

// Run reads the websocket until handler returns an error, the websocket
// fails or ctx ends. It acknowledges and orders the other side's stream
// messages and calls handler once for each, in sequence order; it also
// calls handler for channel_closed messages. Meanwhile it resends this
// side's unacknowledged messages, and fails with ErrNotAcknowledged when
// one was resent MaxResends times.
func (c *Channel) Run(ctx context.Context, handler func(*Message) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go c.resendLoop(ctx, cancel)
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
				return cause
			}
			return err
		}
		if typ != websocket.MessageBinary {
			continue // the agent never sends text frames after the opening
		}
		m, err := ParseMessage(b)
		if err != nil {
			return err
		}
		switch m.Type {
		case TypeAcknowledge:
			var ack Acknowledgement
			if err := json.Unmarshal(m.Payload, &ack); err != nil {
				return fmt.Errorf("%w: acknowledgement: %v", ErrMalformed, err)
			}
			c.mu.Lock()
			if _, ok := c.unacked[ack.SequenceNumber]; ok {
				delete(c.unacked, ack.SequenceNumber)
				close(c.acked)
				c.acked = make(chan struct{})
			}
			c.mu.Unlock()
		case c.recvType:
			if err := c.acknowledge(ctx, m); err != nil {
				return err
			}
			for _, next := range c.order(m) {
				if err := handler(next); err != nil {
					if errors.Is(err, ErrStop) {
						return nil
					}
					return err
				}
			}
		case TypeChannelClosed:
			if err := handler(m); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		default:
			// start_publication and pause_publication tell a client when
			// the agent is ready to receive; the plugin ignores them too.
		}
	}
}

// order returns the messages that m makes deliverable, in sequence
// order: none when m is a duplicate or comes early (then it is kept).
func (c *Channel) order(m *Message) []*Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case m.SequenceNumber < c.expected:
		return nil // a duplicate: already delivered
	case m.SequenceNumber > c.expected:
		if len(c.early) < incomingBufferCapacity {
			c.early[m.SequenceNumber] = m
		}
		return nil
	}
	out := []*Message{m}
	c.expected++
	for {
		next, ok := c.early[c.expected]
		if !ok {
			return out
		}
		delete(c.early, c.expected)
		out = append(out, next)
		c.expected++
	}
}

func (c *Channel) resendLoop(ctx context.Context, fail context.CancelCauseFunc) {
	tick := time.NewTicker(max(c.opts.ResendAfter/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var resend [][]byte
		c.mu.Lock()
		for seq, p := range c.unacked {
			if time.Since(p.sentAt) < c.opts.ResendAfter {
				continue
			}
			if p.resends >= c.opts.MaxResends {
				c.mu.Unlock()
				fail(fmt.Errorf("%w: message %d was sent %d times over %s", ErrNotAcknowledged, seq, p.resends+1, time.Duration(p.resends+1)*c.opts.ResendAfter))
				return
			}
			p.resends++
			p.sentAt = time.Now()
			resend = append(resend, p.raw)
		}
		c.mu.Unlock()
		for _, raw := range resend {
			if err := c.write(ctx, websocket.MessageBinary, raw); err != nil {
				return // Run sees the broken websocket
			}
		}
	}
}

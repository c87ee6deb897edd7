// Package ssmsession speaks the client side of the AWS Systems Manager
// Session Manager data channel, the protocol that ECS Exec uses once
// ExecuteCommand has returned a session (a stream URL and a token), so
// that ecs-pipeline needs neither the AWS CLI nor the
// session-manager-plugin. It also holds the agent side's reliable stream,
// which the ECS simulator (sim/ecssim) uses to play the agent.
//
// The wire format and the behaviour follow the public source of
// aws/session-manager-plugin (Apache-2.0):
//
//   - src/message/clientmessage.go: the message types, payload types and
//     the binary layout of a message (ClientMessage_* offsets and lengths);
//   - src/message/messageparser.go: big-endian integers, the message type
//     padded with spaces to 32 bytes, the message id as its two 8-byte
//     halves swapped (least significant first), the SHA-256 digest of the
//     payload, header length 116;
//   - src/datachannel/streaming.go: the opening token message, one
//     acknowledgement per stream message, in-order delivery by sequence
//     number with a buffer for early messages, resending of unacknowledged
//     messages, the handshake (request, response, complete) and
//     channel_closed;
//   - src/sessionmanagerplugin/session/shellsession: terminal size
//     messages (payload type Size, {"cols","rows"}) and keystrokes sent as
//     payload type Output.
//
// Nothing here is copied from it; the code is written from the layout
// those files document. KMS encryption of the session (a handshake action
// some Session Manager preferences ask for) is not supported: the client
// refuses the action, and the session fails with a clear error.
package ssmsession

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message types (clientmessage.go).
const (
	TypeInputStream       = "input_stream_data"
	TypeOutputStream      = "output_stream_data"
	TypeAcknowledge       = "acknowledge"
	TypeChannelClosed     = "channel_closed"
	TypeStartPublication  = "start_publication"
	TypePausePublication  = "pause_publication"
	schemaVersion         = 1
	openingSchemaVersion  = "1.0"
	defaultClientVersion  = "1.2.0.0-ecs-pipeline"
	maxMessageTypeLength  = 32
	messageIDLength       = 16
	payloadDigestLength   = 32
	headerLength          = 4 + maxMessageTypeLength + 4 + 8 + 8 + 8 + messageIDLength + payloadDigestLength + 4
	payloadLengthLength   = 4
	payloadOffset         = headerLength + payloadLengthLength
	maxPayloadLength      = 16 << 20
	offMessageType        = 4
	offSchemaVersion      = offMessageType + maxMessageTypeLength
	offCreatedDate        = offSchemaVersion + 4
	offSequenceNumber     = offCreatedDate + 8
	offFlags              = offSequenceNumber + 8
	offMessageID          = offFlags + 8
	offPayloadDigest      = offMessageID + messageIDLength
	offPayloadType        = offPayloadDigest + payloadDigestLength
	offPayloadLength      = offPayloadType + 4
	flagSYN, flagFIN      = 1, 2
	flagsOfAcknowledgment = flagSYN | flagFIN
)

// PayloadType says what a stream message's payload is (clientmessage.go).
type PayloadType uint32

const (
	PayloadOutput               PayloadType = 1
	PayloadError                PayloadType = 2
	PayloadSize                 PayloadType = 3
	PayloadParameter            PayloadType = 4
	PayloadHandshakeRequest     PayloadType = 5
	PayloadHandshakeResponse    PayloadType = 6
	PayloadHandshakeComplete    PayloadType = 7
	PayloadEncChallengeRequest  PayloadType = 8
	PayloadEncChallengeResponse PayloadType = 9
	PayloadFlag                 PayloadType = 10
	PayloadStdErr               PayloadType = 11
	PayloadExitCode             PayloadType = 12
)

// MessageID is a message's random UUID.
type MessageID [16]byte

// NewMessageID returns a random (version 4) UUID.
func NewMessageID() MessageID {
	var id MessageID
	rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

// String is the UUID's usual spelling.
func (id MessageID) String() string {
	h := hex.EncodeToString(id[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Message is one binary frame of the data channel, an AgentMessage (the
// plugin's ClientMessage):
//
//	| HL (4) | MessageType (32) | SchemaVersion (4) | CreatedDate (8) |
//	| SequenceNumber (8) | Flags (8) | MessageId (16) | PayloadDigest (32) |
//	| PayloadType (4) | PayloadLength (4) | Payload |
//
// HL, the header length, is the offset of PayloadLength: 116.
type Message struct {
	Type          string
	SchemaVersion uint32
	// CreatedDate is epoch milliseconds.
	CreatedDate    uint64
	SequenceNumber int64
	// Flags: bit 0 SYN (first of a stream), bit 1 FIN (last).
	Flags       uint64
	ID          MessageID
	PayloadType PayloadType
	Payload     []byte
}

// Marshal encodes m, with the SHA-256 digest of its payload.
func (m *Message) Marshal() ([]byte, error) {
	if len(m.Type) > maxMessageTypeLength {
		return nil, fmt.Errorf("message type %q is longer than %d bytes", m.Type, maxMessageTypeLength)
	}
	b := make([]byte, payloadOffset+len(m.Payload))
	be := binary.BigEndian
	be.PutUint32(b, headerLength)
	copy(b[offMessageType:offSchemaVersion], strings.Repeat(" ", maxMessageTypeLength))
	copy(b[offMessageType:], m.Type)
	be.PutUint32(b[offSchemaVersion:], m.SchemaVersion)
	be.PutUint64(b[offCreatedDate:], m.CreatedDate)
	be.PutUint64(b[offSequenceNumber:], uint64(m.SequenceNumber))
	be.PutUint64(b[offFlags:], m.Flags)
	// The id's least significant half comes first (messageparser.go, putUuid).
	copy(b[offMessageID:], m.ID[8:])
	copy(b[offMessageID+8:], m.ID[:8])
	sum := sha256.Sum256(m.Payload)
	copy(b[offPayloadDigest:], sum[:])
	be.PutUint32(b[offPayloadType:], uint32(m.PayloadType))
	be.PutUint32(b[offPayloadLength:], uint32(len(m.Payload)))
	copy(b[payloadOffset:], m.Payload)
	return b, nil
}

// ErrMalformed is returned (wrapped) by ParseMessage for a frame that is
// not a well-formed message.
var ErrMalformed = errors.New("malformed data channel message")

// ParseMessage decodes a binary frame and checks its header length,
// payload length and payload digest.
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < payloadOffset {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header", ErrMalformed, len(b))
	}
	be := binary.BigEndian
	if hl := be.Uint32(b); hl != headerLength {
		return nil, fmt.Errorf("%w: header length %d, want %d", ErrMalformed, hl, headerLength)
	}
	n := be.Uint32(b[offPayloadLength:])
	if int64(n) != int64(len(b)-payloadOffset) {
		return nil, fmt.Errorf("%w: payload length %d, but %d bytes follow the header", ErrMalformed, n, len(b)-payloadOffset)
	}
	m := &Message{
		Type:           strings.TrimSpace(string(bytes.Trim(b[offMessageType:offSchemaVersion], "\x00"))),
		SchemaVersion:  be.Uint32(b[offSchemaVersion:]),
		CreatedDate:    be.Uint64(b[offCreatedDate:]),
		SequenceNumber: int64(be.Uint64(b[offSequenceNumber:])),
		Flags:          be.Uint64(b[offFlags:]),
		PayloadType:    PayloadType(be.Uint32(b[offPayloadType:])),
		Payload:        append([]byte(nil), b[payloadOffset:]...),
	}
	copy(m.ID[8:], b[offMessageID:])
	copy(m.ID[:8], b[offMessageID+8:])
	if m.Type == "" {
		return nil, fmt.Errorf("%w: no message type", ErrMalformed)
	}
	if sum := sha256.Sum256(m.Payload); !bytes.Equal(sum[:], b[offPayloadDigest:offPayloadType]) {
		return nil, fmt.Errorf("%w: %s message %d: payload digest does not match", ErrMalformed, m.Type, m.SequenceNumber)
	}
	return m, nil
}

func nowMillis() uint64 { return uint64(time.Now().UnixMilli()) }

// OpeningMessage is the text frame a client sends first on the data
// channel: it names the session's token (streaming.go, OpenDataChannelInput).
type OpeningMessage struct {
	MessageSchemaVersion string `json:"MessageSchemaVersion"`
	RequestID            string `json:"RequestId"`
	TokenValue           string `json:"TokenValue"`
	ClientID             string `json:"ClientId"`
	ClientVersion        string `json:"ClientVersion"`
}

// String never shows the token.
func (o OpeningMessage) String() string {
	return fmt.Sprintf("OpeningMessage{RequestId:%s ClientId:%s ClientVersion:%s TokenValue:<redacted>}", o.RequestID, o.ClientID, o.ClientVersion)
}

// GoString never shows the token either (%#v).
func (o OpeningMessage) GoString() string { return o.String() }

// Acknowledgement is the payload of an acknowledge message.
type Acknowledgement struct {
	MessageType         string `json:"AcknowledgedMessageType"`
	MessageID           string `json:"AcknowledgedMessageId"`
	SequenceNumber      int64  `json:"AcknowledgedMessageSequenceNumber"`
	IsSequentialMessage bool   `json:"IsSequentialMessage"`
}

// ChannelClosed is the payload of a channel_closed message.
type ChannelClosed struct {
	MessageID     string `json:"MessageId"`
	CreatedDate   string `json:"CreatedDate"`
	DestinationID string `json:"DestinationId"`
	SessionID     string `json:"SessionId"`
	MessageType   string `json:"MessageType"`
	SchemaVersion int    `json:"SchemaVersion"`
	Output        string `json:"Output"`
}

// Handshake action types and statuses.
const (
	ActionKMSEncryption = "KMSEncryption"
	ActionSessionType   = "SessionType"

	ActionSuccess     = 1
	ActionFailed      = 2
	ActionUnsupported = 3
)

// HandshakeRequest is what the agent asks of the client first.
type HandshakeRequest struct {
	AgentVersion           string                  `json:"AgentVersion"`
	RequestedClientActions []RequestedClientAction `json:"RequestedClientActions"`
}

// RequestedClientAction is one action of a handshake request.
type RequestedClientAction struct {
	ActionType       string `json:"ActionType"`
	ActionParameters any    `json:"ActionParameters"`
}

// SessionTypeRequest is the parameters of a SessionType action.
type SessionTypeRequest struct {
	SessionType string `json:"SessionType"`
	Properties  any    `json:"Properties"`
}

// HandshakeResponse is the client's answer.
type HandshakeResponse struct {
	ClientVersion          string                  `json:"ClientVersion"`
	ProcessedClientActions []ProcessedClientAction `json:"ProcessedClientActions"`
	Errors                 []string                `json:"Errors"`
}

// ProcessedClientAction is the client's answer to one action.
type ProcessedClientAction struct {
	ActionType   string `json:"ActionType"`
	ActionStatus int    `json:"ActionStatus"`
	ActionResult any    `json:"ActionResult"`
	Error        string `json:"Error"`
}

// HandshakeComplete ends the handshake; CustomerMessage is shown to the
// user.
type HandshakeComplete struct {
	HandshakeTimeToComplete time.Duration `json:"HandshakeTimeToComplete"`
	CustomerMessage         string        `json:"CustomerMessage"`
}

// TerminalSize is the payload of a Size message.
type TerminalSize struct {
	Cols uint32 `json:"cols"`
	Rows uint32 `json:"rows"`
}

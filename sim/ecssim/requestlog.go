package ecssim

import (
	"encoding/json"
	"strings"
	"time"
)

// Request is one call the simulator received, as its request log keeps it.
type Request struct {
	// Time is the wall time of the call; SimTime the simulated time.
	Time    time.Time `json:"time"`
	SimTime time.Time `json:"simTime"`
	// Operation is the ECS operation, or for a proxied call the target,
	// the query's Action or "METHOD /path".
	Operation string `json:"operation"`
	// Params is the request body of an ECS call.
	Params json.RawMessage `json:"params,omitempty"`
	// Proxied is true for a call passed through to the upstream.
	Proxied bool `json:"proxied,omitempty"`
	// Fault is the injected fault that answered the call, if any.
	Fault FaultKind `json:"fault,omitempty"`
	// Status is the HTTP status of the answer (0 after a reset).
	Status int `json:"status"`
	// ErrorCode is the __type of an error answer.
	ErrorCode string `json:"errorCode,omitempty"`
}

// Mutating reports whether the operation can change state: anything but
// Describe*, List*, Get* and BatchGet*.
func (r Request) Mutating() bool {
	op := r.Operation[strings.LastIndexByte(r.Operation, '.')+1:]
	for _, p := range []string{"Describe", "List", "Get", "BatchGet", "GET ", "HEAD "} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

// Requests returns the request log, oldest first.
func (s *Simulator) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests empties the request log.
func (s *Simulator) ResetRequests() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = nil
}

func (s *Simulator) record(r Request) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = append(s.log, r)
}

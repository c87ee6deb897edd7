package ecssim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// FaultKind names a failure the simulator can inject into ECS calls.
type FaultKind string

const (
	// FaultThrottle answers ThrottlingException "Rate exceeded" (400).
	FaultThrottle FaultKind = "throttle"
	// FaultServerError answers ServerException (500).
	FaultServerError FaultKind = "server-error"
	// FaultReset resets the TCP connection without answering.
	FaultReset FaultKind = "reset"
	// FaultLatency delays the call by Latency (wall time), then serves it.
	FaultLatency FaultKind = "latency"
)

// Fault is a failure injected into matching ECS calls, before they touch
// any state, so a faulted call never changes anything.
type Fault struct {
	Kind FaultKind
	// Operation restricts the fault to one ECS operation (e.g.
	// "UpdateService"); empty matches every ECS call.
	Operation string
	// Count is how many calls the fault affects before it is used up;
	// zero means it lasts until cleared.
	Count int
	// Rate is the probability that a matching call is affected; zero
	// means every matching call.
	Rate float64
	// Latency is the delay of a FaultLatency.
	Latency time.Duration
}

// faultJSON is how the admin endpoint spells a Fault.
type faultJSON struct {
	Kind      FaultKind `json:"kind"`
	Operation string    `json:"operation,omitempty"`
	Count     int       `json:"count,omitempty"`
	Rate      float64   `json:"rate,omitempty"`
	Latency   duration  `json:"latency,omitempty"`
}

// MarshalJSON encodes f with its latency as a duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{f.Kind, f.Operation, f.Count, f.Rate, duration(f.Latency)})
}

// UnmarshalJSON decodes what MarshalJSON encodes and checks the kind.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var v faultJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Fault{Kind: v.Kind, Operation: v.Operation, Count: v.Count, Rate: v.Rate, Latency: time.Duration(v.Latency)}
	return f.validate()
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultThrottle, FaultServerError, FaultReset, FaultLatency:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Count < 0 || f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("fault %s: count must be >= 0 and rate within [0, 1]", f.Kind)
	}
	return nil
}

// InjectFault adds a fault; it applies to the calls that follow.
func (s *Simulator) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults removes every fault.
func (s *Simulator) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = nil
}

// Faults returns the faults not yet used up.
func (s *Simulator) Faults() []Fault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	out := make([]Fault, len(s.faults))
	for i, f := range s.faults {
		out[i] = *f
	}
	return out
}

// pickFaults returns the delay to apply to a call of op and the failing
// fault, if any, consuming their counts.
func (s *Simulator) pickFaults(op string) (delay time.Duration, fail FaultKind) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	kept := s.faults[:0]
	for _, f := range s.faults {
		fires := (f.Operation == "" || f.Operation == op) &&
			(f.Kind == FaultLatency || fail == "") &&
			(f.Rate == 0 || rand.Float64() < f.Rate)
		if fires {
			if f.Kind == FaultLatency {
				delay += f.Latency
			} else {
				fail = f.Kind
			}
			if f.Count > 0 {
				f.Count--
				if f.Count == 0 {
					continue
				}
			}
		}
		kept = append(kept, f)
	}
	s.faults = kept
	return delay, fail
}

// applyFault answers a call with the fault kind; it reports whether the
// call was answered.
func applyFault(w http.ResponseWriter, kind FaultKind) bool {
	switch kind {
	case FaultThrottle:
		writeError(w, newAPIError(http.StatusBadRequest, "ThrottlingException", "Rate exceeded"))
	case FaultServerError:
		writeError(w, newAPIError(http.StatusInternalServerError, "ServerException", "Service unavailable (injected fault)."))
	case FaultReset:
		resetConnection(w)
	default:
		return false
	}
	return true
}

// resetConnection closes the client's connection with a TCP reset.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(interface{ SetLinger(int) error }); ok {
		tcp.SetLinger(0) // close sends RST, not FIN
	}
	conn.Close()
}

package ecssim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// serveAdmin serves the /_sim/ endpoints listed in the package
// documentation.
func (s *Simulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_sim/healthz":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	case "GET /_sim/faults":
		adminJSON(w, s.Faults())
	case "POST /_sim/faults":
		var f Fault
		if err := decodeAdmin(r, &f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.InjectFault(f); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		adminJSON(w, s.Faults())
	case "DELETE /_sim/faults":
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sim/behaviors":
		s.mu.Lock()
		b := maps.Clone(s.behaviors)
		s.mu.Unlock()
		adminJSON(w, b)
	case "POST /_sim/behaviors":
		var in struct {
			Key      string    `json:"key"`
			Behavior *Behavior `json:"behavior"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if in.Key == "" || in.Behavior == nil {
			adminError(w, http.StatusBadRequest, fmt.Errorf("key and behavior are required"))
			return
		}
		s.SetBehavior(in.Key, *in.Behavior)
		w.WriteHeader(http.StatusNoContent)
	case "DELETE /_sim/behaviors":
		s.mu.Lock()
		clear(s.behaviors)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sim/alarms":
		adminJSON(w, s.AlarmStates())
	case "POST /_sim/alarms":
		var in struct {
			AlarmName string `json:"alarmName"`
			State     string `json:"state"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetAlarmState(in.AlarmName, in.State); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		adminJSON(w, s.AlarmStates())
	case "DELETE /_sim/alarms":
		s.mu.Lock()
		clear(s.alarms)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sim/lambda-hooks":
		s.mu.Lock()
		h := maps.Clone(s.lambdaHooks)
		s.mu.Unlock()
		adminJSON(w, h)
	case "POST /_sim/lambda-hooks":
		var in struct {
			HookTargetArn string      `json:"hookTargetArn"`
			Result        *LambdaHook `json:"result"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if in.HookTargetArn == "" || in.Result == nil {
			adminError(w, http.StatusBadRequest, fmt.Errorf("hookTargetArn and result are required"))
			return
		}
		s.SetLambdaHook(in.HookTargetArn, *in.Result)
		w.WriteHeader(http.StatusNoContent)
	case "DELETE /_sim/lambda-hooks":
		s.mu.Lock()
		clear(s.lambdaHooks)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sim/requests":
		q := r.URL.Query()
		out := []Request{}
		for _, req := range s.Requests() {
			if op := q.Get("operation"); op != "" && req.Operation != op {
				continue
			}
			if q.Get("mutating") == "true" && !req.Mutating() {
				continue
			}
			out = append(out, req)
		}
		adminJSON(w, out)
	case "DELETE /_sim/requests":
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	case "POST /_sim/account":
		var in struct {
			Region   string   `json:"region"`
			Clusters []string `json:"clusters"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetAccount(in.Region, in.Clusters...); err != nil {
			adminError(w, http.StatusConflict, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sim/clock":
		adminJSON(w, map[string]time.Time{"now": s.Now()})
	case "POST /_sim/clock/advance":
		var in struct {
			Duration duration `json:"duration"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err)
			return
		}
		if in.Duration < 0 {
			adminError(w, http.StatusBadRequest, fmt.Errorf("duration must not be negative"))
			return
		}
		s.Advance(time.Duration(in.Duration))
		adminJSON(w, map[string]time.Time{"now": s.Now()})
	default:
		adminError(w, http.StatusNotFound, fmt.Errorf("no admin endpoint %s", route))
	}
}

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding request: %w", err)
	}
	return nil
}

func adminJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func adminError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

package ecssim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ecsTargetPrefix prefixes the X-Amz-Target header of every ECS call.
const ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."

// maxBodyBytes bounds what the simulator reads of one request; large enough
// for any ECS call, small enough that a runaway test cannot exhaust memory.
const maxBodyBytes = 4 << 20

// apiError is an error as the ECS JSON protocol returns it.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newAPIError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func errClient(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "ClientException", format, args...)
}

func errInvalidParameter(format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func errClusterNotFound() *apiError {
	return newAPIError(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
}

func errServiceNotFound() *apiError {
	return newAPIError(http.StatusBadRequest, "ServiceNotFoundException", "Service not found.")
}

func errServiceNotActive() *apiError {
	return newAPIError(http.StatusBadRequest, "ServiceNotActiveException", "Service was not ACTIVE.")
}

// writeJSON writes v as an awsJson1_1 response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"ServerException","message":"encoding response"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-Amzn-ErrorType", e.code)
	writeJSON(w, e.status, map[string]string{"__type": e.code, "message": e.message})
}

// epochTime is a timestamp that encodes as the epoch seconds the ECS JSON
// protocol uses.
type epochTime time.Time

func (t epochTime) IsZero() bool { return time.Time(t).IsZero() }

func (t epochTime) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', 3, 64), nil
}

func (t *epochTime) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("decoding timestamp %s: %w", b, err)
	}
	sec, frac := math.Modf(f)
	*t = epochTime(time.Unix(int64(sec), int64(frac*1e9)).UTC())
	return nil
}

// tag is an ECS resource tag.
type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// failure reports a resource a Describe call could not find.
type failure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
}

// includes reports whether an "include" list asks for want (e.g. "TAGS").
func includes(list []string, want string) bool {
	for _, v := range list {
		if v == want {
			return true
		}
	}
	return false
}

// lastSegment returns what follows the last slash of an ARN, or s itself.
func lastSegment(s string) string {
	return s[strings.LastIndexByte(s, '/')+1:]
}

// paginate returns one page of items starting at the offset encoded in
// token, and the token of the next page ("" when none).
func paginate[T any](items []T, maxResults *int32, token string) ([]T, string, *apiError) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", errInvalidParameter("Invalid nextToken.")
		}
		start = n
	}
	size := 100
	if maxResults != nil && *maxResults > 0 {
		size = int(*maxResults)
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

package ecssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Simulator is an in-memory ECS control plane with a simulated timeline.
// It is an http.Handler; serve it with net/http or NewServer.
type Simulator struct {
	// region is written holding both mu and regionMu, so that ARNs (built
	// under mu) and Region (under regionMu alone: an image check calls it
	// with mu held) read it safely.
	region    string
	regionMu  sync.RWMutex
	account   string
	scale     float64
	clock     Clock
	upstream  *url.URL
	proxy     *httputil.ReverseProxy
	fallback  Behavior
	behaviors map[string]Behavior
	// lambdaHooks script AWS_LAMBDA lifecycle hooks by hookTargetArn and
	// alarms are the CloudWatch alarms' states by name (native.go); both
	// are guarded by mu.
	lambdaHooks map[string]LambdaHook
	alarms      map[string]string
	initial     []string // clusters to create
	expired     func(accessKeyID string) bool
	// imageCheck says why an image cannot be pulled; nil pulls anything.
	imageCheck func(image string) error
	// lag is the most a DescribeServices answer may lag the state.
	lag time.Duration

	mu           sync.Mutex // guards the ECS state below and behaviors
	now          time.Time  // simulated time of the state
	clusters     map[string]*cluster
	clusterNames []string
	families     map[string][]*taskDef
	familyNames  []string
	tags         map[string][]tag
	// runTokens are the task ARNs each RunTask client token started, by
	// "cluster/token".
	runTokens map[string][]string
	views     []view // recent DescribeServices answers, for lagging ones

	faultMu sync.Mutex
	faults  []*Fault

	exec execSessions // ExecuteCommand sessions awaiting their data channel (exec.go)

	logMu sync.Mutex
	log   []Request
}

// Option configures a Simulator.
type Option func(*Simulator)

// WithPropagationDelay makes DescribeServices eventually consistent: each
// answer shows the state as an earlier answer showed it up to max ago
// (a random lag per call, the newest answer at least that old), as ECS
// reads lag its writes.
func WithPropagationDelay(max time.Duration) Option { return func(s *Simulator) { s.lag = max } }

// WithRegion sets the region in every ARN. Default "us-east-1".
func WithRegion(region string) Option { return func(s *Simulator) { s.region = region } }

// WithAccountID sets the account in every ARN. Default "123456789012".
func WithAccountID(id string) Option { return func(s *Simulator) { s.account = id } }

// WithTimeScale makes simulated time run scale times as fast as the wall
// clock. Default 1. Ignored when WithClock is given.
func WithTimeScale(scale float64) Option { return func(s *Simulator) { s.scale = scale } }

// WithClock sets the simulated timeline, e.g. a ManualClock for
// deterministic tests. Default: NewScaledClock of the time scale.
func WithClock(c Clock) Option { return func(s *Simulator) { s.clock = c } }

// WithUpstream passes every request that is not an ECS call (ECR, STS, S3,
// ...) through to u unchanged, e.g. to moto. Default: none, and such
// requests fail with UnknownOperationException.
func WithUpstream(u *url.URL) Option { return func(s *Simulator) { s.upstream = u } }

// WithBehavior scripts the tasks of a task definition; see SetBehavior for
// the keys. Default: none.
func WithBehavior(key string, b Behavior) Option {
	return func(s *Simulator) { s.behaviors[key] = b }
}

// WithDefaultBehavior sets what tasks do when no scripted behaviour
// matches. Default Healthy().
func WithDefaultBehavior(b Behavior) Option { return func(s *Simulator) { s.fallback = b } }

// WithCluster creates an ACTIVE cluster named name up front. Default: no
// cluster, as in a new account.
func WithCluster(name string) Option {
	return func(s *Simulator) { s.initial = append(s.initial, name) }
}

// WithCredentialCheck makes the simulator check the access key a call is
// signed with (the Credential= of its SigV4 Authorization header):
// calls for which expired returns true are answered ExpiredTokenException
// (400), before any fault or state, as ECS answers a request signed with
// an expired session. Signatures themselves are not verified. Default: no
// check. expired may be called from several goroutines.
func WithCredentialCheck(expired func(accessKeyID string) bool) Option {
	return func(s *Simulator) { s.expired = expired }
}

// WithImageCheck makes tasks "pull" their images: a task whose image check
// returns an error never starts, and stops with CannotPullContainerError
// and the error's message, as ECS reports an image missing from its
// registry. check is called with the simulator's state locked. Default:
// every image can be pulled.
func WithImageCheck(check func(image string) error) Option {
	return func(s *Simulator) { s.imageCheck = check }
}

// New returns a simulator configured by opts.
func New(opts ...Option) *Simulator {
	s := &Simulator{
		region:      "us-east-1",
		account:     "123456789012",
		scale:       1,
		fallback:    Healthy(),
		behaviors:   map[string]Behavior{},
		lambdaHooks: map[string]LambdaHook{},
		alarms:      map[string]string{},
		clusters:    map[string]*cluster{},
		families:    map[string][]*taskDef{},
		tags:        map[string][]tag{},
		runTokens:   map[string][]string{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.clock == nil {
		s.clock = NewScaledClock(s.scale)
	}
	for _, name := range s.initial {
		s.createCluster(name, nil)
	}
	if s.upstream != nil {
		u := s.upstream
		s.proxy = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // signed requests name the host they were signed for
		}}
	}
	return s
}

// Region returns the simulated region.
func (s *Simulator) Region() string {
	s.regionMu.RLock()
	defer s.regionMu.RUnlock()
	return s.region
}

// SetAccount sets up the account as a test finds it: the region in every
// ARN, and ACTIVE clusters (kept when they exist). The region can change
// only while no task definition is registered, since ARNs already handed
// out name the old one. An empty region keeps the current one.
func (s *Simulator) SetAccount(region string, clusters ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if region != "" && region != s.region {
		if len(s.families) > 0 {
			return fmt.Errorf("the region is %s and task definitions are registered: it cannot become %s", s.region, region)
		}
		s.regionMu.Lock()
		s.region = region
		s.regionMu.Unlock()
		for _, c := range s.clusters {
			c.ClusterArn = s.arn("cluster/" + c.ClusterName)
		}
	}
	for _, name := range clusters {
		s.createCluster(name, nil)
	}
	return nil
}

// Now returns the current simulated time.
func (s *Simulator) Now() time.Time { return s.clock.Now() }

// Advance moves simulated time forward by d; tasks and deployments catch up
// on the next call.
func (s *Simulator) Advance(d time.Duration) { s.clock.Advance(d) }

// SetBehavior scripts the tasks of the task definitions matching key: a
// task definition ARN, "family:revision", a family, or a container image.
// The most specific key wins, in that order. A CommandKey scripts the
// one-off tasks (RunTask) whose container override runs that command, and
// wins over the others. It applies to tasks started afterwards.
func (s *Simulator) SetBehavior(key string, b Behavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behaviors[key] = b
}

// ServeHTTP serves ECS calls, the CloudWatch Logs reads of its tasks' logs
// (GetLogEvents, FilterLogEvents), the /_sim/ admin endpoints, and passes
// everything else through to the upstream.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch target := r.Header.Get("X-Amz-Target"); {
	case strings.HasPrefix(r.URL.Path, "/_sim/"):
		s.serveAdmin(w, r)
	case strings.HasPrefix(r.URL.Path, execPathPrefix):
		s.serveDataChannel(w, r)
	case target == ecsTargetPrefix+"ExecuteCommand":
		s.serveExecuteCommand(w, r)
	case strings.HasPrefix(target, ecsTargetPrefix):
		s.serveECS(w, r, operations, strings.TrimPrefix(target, ecsTargetPrefix))
	case strings.HasPrefix(target, logsTargetPrefix) && logOperations[strings.TrimPrefix(target, logsTargetPrefix)] != nil:
		s.serveECS(w, r, logOperations, strings.TrimPrefix(target, logsTargetPrefix))
	default:
		s.serveProxy(w, r)
	}
}

// serveECS serves an operation of ops: ECS, or the CloudWatch Logs reads
// of the simulated tasks' logs.
func (s *Simulator) serveECS(w http.ResponseWriter, r *http.Request, ops map[string]handler, op string) {
	rec := Request{Time: time.Now().UTC(), SimTime: s.clock.Now(), Operation: op}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, newAPIError(http.StatusBadRequest, "SerializationException", "reading request: %v", err))
		return
	}
	if json.Valid(body) {
		rec.Params = body
	}
	if s.expired != nil && s.expired(accessKeyID(r)) {
		e := newAPIError(http.StatusBadRequest, "ExpiredTokenException", "The security token included in the request is expired")
		rec.Status, rec.ErrorCode = e.status, e.code
		s.record(rec)
		w.Header().Set("X-Amzn-RequestId", newUUID())
		writeError(w, e)
		return
	}
	delay, fault := s.pickFaults(op)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("X-Amzn-RequestId", newUUID())
	if fault != "" {
		rec.Fault = fault
		switch fault {
		case FaultThrottle:
			rec.Status, rec.ErrorCode = http.StatusBadRequest, "ThrottlingException"
		case FaultServerError:
			rec.Status, rec.ErrorCode = http.StatusInternalServerError, "ServerException"
		}
		s.record(rec)
		applyFault(w, fault)
		return
	}
	out, apiErr := s.call(ops, op, body)
	if apiErr != nil {
		rec.Status, rec.ErrorCode = apiErr.status, apiErr.code
		s.record(rec)
		writeError(w, apiErr)
		return
	}
	rec.Status = http.StatusOK
	s.record(rec)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
}

// accessKeyID returns the access key of a SigV4-signed request, empty if
// it is not signed.
func accessKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// call runs operation op on the state, after bringing the simulated
// timeline up to now, and returns the encoded response.
func (s *Simulator) call(ops map[string]handler, op string, body []byte) ([]byte, *apiError) {
	h, ok := ops[op]
	if !ok {
		return nil, newAPIError(http.StatusBadRequest, "UnknownOperationException", "ecssim does not simulate %s", op)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(s.clock.Now())
	out, err := h(s, body)
	if err != nil {
		return nil, err
	}
	b, jerr := json.Marshal(out) // under the lock: out shares live state
	if jerr != nil {
		return nil, newAPIError(http.StatusInternalServerError, "ServerException", "encoding response: %v", jerr)
	}
	return b, nil
}

// handler is one ECS operation.
type handler func(s *Simulator, body []byte) (any, *apiError)

// op adapts a typed operation to a handler that decodes its input.
func op[In any](f func(*Simulator, *In) (any, *apiError)) handler {
	return func(s *Simulator, body []byte) (any, *apiError) {
		in := new(In)
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, newAPIError(http.StatusBadRequest, "SerializationException", "decoding request: %v", err)
			}
		}
		return f(s, in)
	}
}

// operations are the simulated ECS operations by name.
var operations = map[string]handler{
	"CreateCluster":              op((*Simulator).createClusterOp),
	"DescribeClusters":           op((*Simulator).describeClusters),
	"ListClusters":               op((*Simulator).listClusters),
	"RegisterTaskDefinition":     (*Simulator).registerTaskDefinition,
	"DescribeTaskDefinition":     op((*Simulator).describeTaskDefinition),
	"ListTaskDefinitions":        op((*Simulator).listTaskDefinitions),
	"ListTaskDefinitionFamilies": op((*Simulator).listTaskDefinitionFamilies),
	"DeregisterTaskDefinition":   op((*Simulator).deregisterTaskDefinition),
	"DeleteTaskDefinitions":      op((*Simulator).deleteTaskDefinitions),
	"CreateService":              op((*Simulator).createService),
	"DescribeServices":           op((*Simulator).describeServices),
	"ListServices":               op((*Simulator).listServices),
	"UpdateService":              op((*Simulator).updateService),
	"DeleteService":              op((*Simulator).deleteService),
	"ListServiceDeployments":     op((*Simulator).listServiceDeployments),
	"DescribeServiceDeployments": op((*Simulator).describeServiceDeployments),
	"DescribeServiceRevisions":   op((*Simulator).describeServiceRevisions),
	"StopServiceDeployment":      op((*Simulator).stopServiceDeployment),
	"ContinueServiceDeployment":  op((*Simulator).continueServiceDeployment),
	"ListTasks":                  op((*Simulator).listTasks),
	"DescribeTasks":              op((*Simulator).describeTasks),
	"RunTask":                    op((*Simulator).runTask),
	"StopTask":                   op((*Simulator).stopTaskOp),
	"TagResource":                op((*Simulator).tagResource),
	"UntagResource":              op((*Simulator).untagResource),
	"ListTagsForResource":        op((*Simulator).listTagsForResource),
}

func (s *Simulator) serveProxy(w http.ResponseWriter, r *http.Request) {
	rec := Request{Time: time.Now().UTC(), SimTime: s.clock.Now(), Operation: describeForeign(r), Proxied: true}
	if s.proxy == nil {
		e := newAPIError(http.StatusBadRequest, "UnknownOperationException", "ecssim has no upstream for %s", rec.Operation)
		rec.Status, rec.ErrorCode = e.status, e.code
		s.record(rec)
		writeError(w, e)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.proxy.ServeHTTP(sw, r)
	rec.Status = sw.status
	s.record(rec)
}

// describeForeign names a non-ECS call for the request log: its target,
// its query Action, or its method and path.
func describeForeign(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil {
			if v, err := url.ParseQuery(string(body)); err == nil && v.Get("Action") != "" {
				return v.Get("Action")
			}
		}
	}
	return r.Method + " " + r.URL.Path
}

// statusWriter remembers the status of a proxied response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newUUID returns a random version-4 UUID.
func newUUID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newDigits returns a random number of n digits, without a leading zero.
func newDigits(n int) string {
	var sb strings.Builder
	sb.WriteByte(byte('1' + rand.IntN(9)))
	for range n - 1 {
		sb.WriteByte(byte('0' + rand.IntN(10)))
	}
	return sb.String()
}

// newServiceDeploymentID returns a random id like the one ending a service
// deployment ARN, e.g. "NCWGC2ZR-taawPAYrIaU5".
func newServiceDeploymentID() string {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	const mixed = upper + "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 21)
	for i := range b {
		switch {
		case i == 8:
			b[i] = '-'
		case i < 8:
			b[i] = upper[rand.IntN(len(upper))]
		default:
			b[i] = mixed[rand.IntN(len(mixed))]
		}
	}
	return string(b)
}

// newHexID returns a random 32-digit hexadecimal id, like a task id.
func newHexID() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}

func (s *Simulator) arn(resource string) string {
	return "arn:aws:ecs:" + s.region + ":" + s.account + ":" + resource
}

// Package standin serves, in front of the ECS simulator, the rest of what
// a pipeline calls on AWS, so a rehearsal needs no AWS account and no other
// server:
//
//   - ECR GetAuthorizationToken (awsJson1_1), handing out a token for the
//     user AWS, as ECR does;
//   - STS GetCallerIdentity (the query protocol, form-encoded POST or GET);
//   - an OCI distribution registry under /v2/ (go-containerregistry's
//     pkg/registry, in memory) that, like ECR, answers 401 with a Basic
//     challenge unless the request carries AWS and the token it handed out.
//
// Everything else (ECS calls and the simulator's /_sim/ admin endpoints)
// goes to the wrapped handler.
package standin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// ecrTarget is the X-Amz-Target prefix of ECR API calls.
const ecrTarget = "AmazonEC2ContainerRegistry_V20150921."

// Server is the stand-in. It is an http.Handler.
type Server struct {
	next     http.Handler
	registry http.Handler
	account  string
	region   string
	password string
	now      func() time.Time
}

// New wraps next (usually an *ecssim.Simulator) with the stand-ins, for an
// account and region as they appear in ARNs and registry host names. An
// empty region follows next's Region() (a simulator's, which
// ecssim.Simulator.SetAccount may set after New).
func New(next http.Handler, account, region string) *Server {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return &Server{
		next:     next,
		registry: registry.New(registry.Logger(discard)),
		account:  account,
		region:   region,
		password: hex.EncodeToString(b[:]),
		now:      time.Now,
	}
}

// RegistryHost is the ECR host name of the stand-in's account and region,
// as GetAuthorizationToken reports it in proxyEndpoint:
// 123456789012.dkr.ecr.us-east-1.amazonaws.com.
func (s *Server) RegistryHost() string {
	region := s.region
	if r, ok := s.next.(interface{ Region() string }); ok && region == "" {
		region = r.Region()
	}
	return s.account + ".dkr.ecr." + region + ".amazonaws.com"
}

// ServeHTTP routes a request to the registry, ECR, STS or the wrapped
// handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		s.serveRegistry(w, r)
	case strings.HasPrefix(r.Header.Get("X-Amz-Target"), ecrTarget):
		s.serveECR(w, r, strings.TrimPrefix(r.Header.Get("X-Amz-Target"), ecrTarget))
	case isSTS(r):
		s.serveSTS(w, r)
	default:
		s.next.ServeHTTP(w, r)
	}
}

// CheckImage says why ECS could not pull image: for an image in the
// stand-in's registry host, that the registry lacks its manifest. Images
// elsewhere are assumed to be pullable. Use it as the simulator's
// ecssim.WithImageCheck.
func (s *Server) CheckImage(image string) error {
	ref, err := name.ParseReference(image, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("invalid reference format: %s", image)
	}
	if ref.Context().RegistryStr() != s.RegistryHost() {
		return nil
	}
	req, err := http.NewRequest(http.MethodHead, "/v2/"+ref.Context().RepositoryStr()+"/manifests/"+ref.Identifier(), nil)
	if err != nil {
		return err
	}
	rec := &statusOnly{header: http.Header{}, code: http.StatusOK}
	s.registry.ServeHTTP(rec, req)
	if rec.code != http.StatusOK {
		return fmt.Errorf("pull image manifest has been retried 5 time(s): failed to resolve ref %s: not found", image)
	}
	return nil
}

// statusOnly is a ResponseWriter that keeps only the status code: enough to
// ask the registry in-process whether it holds a manifest.
type statusOnly struct {
	header http.Header
	code   int
}

func (w *statusOnly) Header() http.Header         { return w.header }
func (w *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (w *statusOnly) WriteHeader(code int)        { w.code = code }

func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != "AWS" || subtle.ConstantTimeCompare([]byte(pass), []byte(s.password)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+s.RegistryHost()+`"`)
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		http.Error(w, `{"errors":[{"code":"DENIED","message":"Your authorization token is missing or invalid: get one from ECR GetAuthorizationToken"}]}`, http.StatusUnauthorized)
		return
	}
	s.registry.ServeHTTP(w, r)
}

func (s *Server) serveECR(w http.ResponseWriter, r *http.Request, op string) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	w.Header().Set("X-Amzn-RequestId", requestID())
	if op != "GetAuthorizationToken" {
		writeJSONError(w, http.StatusBadRequest, "UnknownOperationException", "the rehearsal stand-in does not serve ECR "+op)
		return
	}
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + s.password))
	out := map[string]any{"authorizationData": []map[string]any{{
		"authorizationToken": token,
		"expiresAt":          float64(s.now().Add(12 * time.Hour).Unix()),
		"proxyEndpoint":      "https://" + s.RegistryHost(),
	}}}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// isSTS reports whether r is an STS query-protocol call.
func isSTS(r *http.Request) bool {
	return action(r) == "GetCallerIdentity"
}

// action returns the query protocol's Action, from the URL or a
// form-encoded body (which it puts back).
func action(r *http.Request) string {
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return ""
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if err != nil {
		return ""
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return v.Get("Action")
}

type callerIdentity struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	var out callerIdentity
	out.Result.Arn = "arn:aws:iam::" + s.account + ":user/rehearsal"
	out.Result.UserID = "AIDAREHEARSAL0000000"
	out.Result.Account = s.account
	out.RequestID = requestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", out.RequestID)
	io.WriteString(w, xml.Header)
	xml.NewEncoder(w).Encode(out)
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func requestID() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// discard is the registry's logger: it would otherwise log every request.
var discard = log.New(io.Discard, "", 0)

// PreviousImage is the stand-in for the image a rehearsed service ran
// before the change: an empty linux/amd64 image, labelled as such, that
// its tasks pull from the stand-in registry.
func PreviousImage() (v1.Image, error) {
	return mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		OS: "linux", Architecture: "amd64",
		Config: v1.Config{Labels: map[string]string{"org.opencontainers.image.description": "rehearsal: the revision before yours"}},
	})
}

package serve

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address nothing listens on (as far as a test
// can tell).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestAwaitWaitsForTheListener: a server that listens only after a while
// is waited for, and Await returns soon after it listens.
func TestAwaitWaitsForTheListener(t *testing.T) {
	addr := freeAddr(t)
	listening := make(chan time.Time, 1)
	go func() {
		time.Sleep(150 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			close(listening)
			return
		}
		t.Cleanup(func() { ln.Close() })
		listening <- time.Now()
	}()
	c := &Client{URL: "http://" + addr}
	if err := c.Await(t.Context(), 5*time.Second); err != nil {
		t.Fatalf("Await: %v", err)
	}
	returned := time.Now()
	at, ok := <-listening
	if !ok {
		t.Fatal("the listener did not start")
	}
	if returned.Before(at) {
		t.Errorf("Await returned %v before the server listened", at.Sub(returned))
	}
	if lag := returned.Sub(at); lag > time.Second {
		t.Errorf("Await returned %v after the server listened", lag)
	}
}

// TestAwaitGivesUp: nothing listening is an error naming the address and
// the time waited, once the time is up.
func TestAwaitGivesUp(t *testing.T) {
	addr := freeAddr(t)
	start := time.Now()
	err := (&Client{URL: "http://" + addr}).Await(t.Context(), 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), addr+" did not accept a connection within 200ms") {
		t.Fatalf("Await with nothing listening: %v", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("gave up after %v, before its timeout", waited)
	}
}

// TestRunBrokenAnswers: an answer that ends before its exit frame, or a
// refusal, is an error, with what came before it passed on.
func TestRunBrokenAnswers(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer right" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, `{"stdout": "half"}`+"\n")
	}))
	defer ts.Close()
	var stdout strings.Builder
	_, err := (&Client{URL: ts.URL, Token: "right"}).Run(t.Context(), Request{Args: []string{"version"}}, &stdout, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "without an exit code") || stdout.String() != "half" {
		t.Errorf("cut-off answer: %v, stdout %q", err, stdout.String())
	}
	_, err = (&Client{URL: ts.URL, Token: "wrong"}).Run(t.Context(), Request{Args: []string{"version"}}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized: unauthorized") {
		t.Errorf("refused: %v", err)
	}
}

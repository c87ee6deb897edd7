// Command ecssim serves the ECS simulator (package sim/ecssim) over
// HTTP for tests that drive it from another process, and, with -standin,
// ECR's token, STS and a registry too, for a rehearsal (package
// sim/standin). It prints its URL as
// the first line of standard output, then serves until SIGINT or SIGTERM,
// or, with -idle-exit, until no request has arrived for that long.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ecs-pipeline/ecs-pipeline/sim/ecssim"
	"github.com/ecs-pipeline/ecs-pipeline/sim/standin"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("ecssim: ")
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	upstream := flag.String("upstream", "", "URL to pass non-ECS requests through to (e.g. moto)")
	scale := flag.Float64("time-scale", 1, "how many times faster than the wall clock simulated time runs")
	idle := flag.Duration("idle-exit", 0, "exit after this long without requests (0: never)")
	region := flag.String("region", "us-east-1", "region in ARNs")
	account := flag.String("account", "123456789012", "account id in ARNs")
	cluster := flag.String("cluster", "", "create this ACTIVE cluster up front")
	standIn := flag.Bool("standin", false, "also serve ECR GetAuthorizationToken, STS GetCallerIdentity and an OCI registry at /v2/ (a rehearsal needing no other server)")
	flag.Parse()

	opts := []ecssim.Option{ecssim.WithTimeScale(*scale), ecssim.WithRegion(*region), ecssim.WithAccountID(*account)}
	if *cluster != "" {
		opts = append(opts, ecssim.WithCluster(*cluster))
	}
	if *upstream != "" {
		u, err := url.Parse(*upstream)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("parsing -upstream %q: want an absolute URL", *upstream)
		}
		opts = append(opts, ecssim.WithUpstream(u))
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	act := &activity{}
	act.touch()
	var h http.Handler
	if *standIn {
		// Tasks pull their images from the stand-in's registry.
		var si *standin.Server
		opts = append(opts, ecssim.WithImageCheck(func(image string) error { return si.CheckImage(image) }))
		si = standin.New(ecssim.New(opts...), *account, "") // the simulator's region, as /_sim/account sets it
		h = si
	} else {
		h = ecssim.New(opts...)
	}
	srv := &http.Server{Handler: act.wrap(h), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("http://%s\n", l.Addr())
	os.Stdout.Sync()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *idle > 0 {
		go func() {
			for ctx.Err() == nil {
				time.Sleep(min(*idle/10+time.Millisecond, time.Second))
				if act.idleFor() >= *idle {
					log.Printf("idle for %v, exiting", *idle)
					stop()
				}
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

// activity tracks when the server last served a request.
type activity struct {
	last     atomic.Int64 // unix nanoseconds
	inFlight atomic.Int64
}

func (a *activity) touch() { a.last.Store(time.Now().UnixNano()) }

func (a *activity) idleFor() time.Duration {
	if a.inFlight.Load() > 0 {
		return 0
	}
	return time.Since(time.Unix(0, a.last.Load()))
}

func (a *activity) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.inFlight.Add(1)
		a.touch()
		defer func() {
			a.touch()
			a.inFlight.Add(-1)
		}()
		h.ServeHTTP(w, r)
	})
}

package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where a [Server] exposes its metrics.
const Path = "/metrics"

// readHeaderTimeout bounds how long a client may take to send its request
// headers, so that a slow or idle client cannot hold a connection open.
const readHeaderTimeout = 10 * time.Second

// Server exposes one registry over HTTP at [Path], in the Prometheus
// text format. It owns its goroutine: Close stops it and waits for it.
type Server struct {
	srv  *http.Server
	addr string
	done chan struct{} // closed once Serve has returned
	err  error         // Serve's error, other than a regular shutdown
}

// Serve listens on addr ("host:port"; port 0 picks a free port) and
// serves g at /metrics until Close.
func Serve(addr string, g prometheus.Gatherer) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	// A collector that fails (none of mosaik's can) should not take the
	// others' values away from the scrape.
	mux.Handle(Path, promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout},
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// Addr is the address the server listens on, with the port it bound.
func (s *Server) Addr() string { return s.addr }

// Close stops accepting, lets scrapes in progress finish until ctx ends
// (then cuts them off), and returns once the server's goroutine is gone.
// It reports the error that stopped the server, if it failed by itself.
func (s *Server) Close(ctx context.Context) error {
	if err := s.srv.Shutdown(ctx); err != nil {
		// ctx ended with scrapes still running: cut them off.
		_ = s.srv.Close()
	}
	<-s.done
	if s.err != nil {
		return fmt.Errorf("metrics: serve on %s: %w", s.addr, s.err)
	}
	return nil
}

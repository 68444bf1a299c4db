// Command kvstore runs a replicated key-value store with an HTTP API on
// every node. Three nodes on loopback form a group whose state machine
// (KV) applies puts and deletes in one agreed order; each node serves
//
//	PUT    /kv/{key}   body: the value   -> {"key", "value", "index"}
//	GET    /kv/{key}?consistency=strong|weak (default strong)
//	DELETE /kv/{key}
//
// and any node answers for the whole store. Every answer is JSON, errors
// included ({"key", "error"}: 400 for a bad parameter, 404 for a missing
// key or path, 405 for other methods, 413 for a value over 64 KiB, 503
// with Retry-After while the group has no leader, 504 on a timeout). Every response carries the
// log index it reflects: for a write, the index it was applied at; for a
// read, the index the replica had applied when it answered.
//
// By default the program makes a few calls against different nodes,
// prints them and exits. With -serve it keeps serving until Ctrl-C:
//
//	go run ./examples/kvstore [-n 3] [-serve]
//	curl -X PUT --data blue http://127.0.0.1:PORT/kv/sky
//	curl 'http://127.0.0.1:PORT/kv/sky?consistency=weak'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/examples/internal/settle"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/rsm"
)

func main() {
	n := flag.Int("n", 3, "number of nodes")
	serve := flag.Bool("serve", false, "keep serving the HTTP API until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *n, *serve); err != nil {
		fmt.Fprintln(os.Stderr, "kvstore:", err)
		os.Exit(1)
	}
}

// startTimeout bounds bringing the cluster up and the demo's calls.
const startTimeout = time.Minute

// run starts n nodes with an HTTP API each, then either makes the demo's
// calls or serves until ctx ends.
func run(ctx context.Context, out io.Writer, n int, serve bool) error {
	if n < 1 {
		return errors.New("need at least one node")
	}
	dir, err := os.MkdirTemp("", "mosaik-kvstore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c := &kvCluster{}
	defer c.close()
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := c.start(startCtx, n, dir); err != nil {
		return err
	}
	for i, s := range c.servers {
		fmt.Fprintf(out, "node %d (%s): http://%s/kv/\n", i, c.members[i].Self().Short(), s.addr)
	}
	if serve {
		fmt.Fprintln(out, "serving; Ctrl-C to stop")
		<-ctx.Done()
		return nil
	}
	return demo(startCtx, out, c.urls())
}

// kvCluster is the nodes of a run, their group handles and HTTP servers.
type kvCluster struct {
	nodes   []*cluster.Node
	members []*rsm.Group[Command, Query, Result]
	servers []*apiServer
}

// start brings up n nodes, joins the store's group on each, starts an
// HTTP server per node and waits until the members form one group.
func (c *kvCluster) start(ctx context.Context, n int, dir string) error {
	for i := range n {
		cfg := cluster.Config{
			Network:   "examples/kvstore",
			DataDir:   filepath.Join(dir, fmt.Sprint("node", i)),
			Discovery: discovery.FastConfig(),
		}
		if i > 0 {
			cfg.Bootstrap = []string{c.nodes[0].GossipAddr()}
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, node)
		g, err := rsm.Join(ctx, node, kvConfig(groups.KeyFromSecret("examples/kvstore")))
		if err != nil {
			return err
		}
		c.members = append(c.members, g)
		s, err := listen(g)
		if err != nil {
			return err
		}
		c.servers = append(c.servers, s)
	}
	// Online members may still run rival shards that formed before they
	// saw each other; wait until they are one, or the demo's first write
	// could be discarded when the shards merge.
	cores := make([]*cluster.Group, len(c.members))
	for i, g := range c.members {
		cores[i] = g.Core()
	}
	_, err := settle.Await(ctx, cores)
	return err
}

func (c *kvCluster) urls() []string {
	out := make([]string, len(c.servers))
	for i, s := range c.servers {
		out[i] = "http://" + s.addr
	}
	return out
}

// close stops the HTTP servers, then the nodes.
func (c *kvCluster) close() {
	for _, s := range c.servers {
		s.close()
	}
	var wg sync.WaitGroup
	for _, node := range c.nodes {
		wg.Go(func() { _ = node.Close(context.Background()) })
	}
	wg.Wait()
}

// apiServer is one node's HTTP server on a loopback port.
type apiServer struct {
	addr string
	srv  *http.Server
	done chan struct{}
}

// listen serves g's HTTP API on 127.0.0.1, on a free port.
func listen(g *rsm.Group[Command, Query, Result]) (*apiServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	s := &apiServer{
		addr: ln.Addr().String(),
		srv:  &http.Server{Handler: NewHandler(g), ReadHeaderTimeout: 5 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ends with ErrServerClosed on close
	}()
	return s, nil
}

func (s *apiServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

// demo makes a few calls against different nodes and prints them. It
// fails if an answer is not what a replicated store must give.
func demo(ctx context.Context, out io.Writer, urls []string) error {
	at := func(i int) string { return urls[i%len(urls)] }
	steps := []struct {
		method, url, body string
		wantStatus        int
		wantValue         string
	}{
		{http.MethodPut, at(0) + "/kv/sky", "blue", http.StatusOK, "blue"},
		{http.MethodPut, at(1) + "/kv/grass", "green", http.StatusOK, "green"},
		{http.MethodGet, at(2) + "/kv/sky?consistency=strong", "", http.StatusOK, "blue"},
		{http.MethodGet, at(2) + "/kv/grass?consistency=weak", "", http.StatusOK, "green"},
		{http.MethodDelete, at(2) + "/kv/sky", "", http.StatusOK, ""},
		{http.MethodGet, at(0) + "/kv/sky", "", http.StatusNotFound, ""},
		{http.MethodGet, at(1) + "/kv/grass?consistency=eventual", "", http.StatusBadRequest, ""},
	}
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for _, s := range steps {
		status, body, err := callIdempotent(ctx, client, s.method, s.url, s.body)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-6s %s -> %d %s\n", s.method, strings.TrimPrefix(s.url, "http://"), status, body)
		if status != s.wantStatus {
			return fmt.Errorf("%s %s: status %d, want %d", s.method, s.url, status, s.wantStatus)
		}
		if s.wantValue != "" {
			var e entry
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Value != s.wantValue || e.Index == 0 {
				return fmt.Errorf("%s %s: answer %s, want value %q at an index", s.method, s.url, body, s.wantValue)
			}
		}
	}
	return nil
}

// retries bounds how often callIdempotent repeats a call, and retryPause
// is the pause between attempts.
const (
	retries    = 5
	retryPause = 200 * time.Millisecond
)

// callIdempotent makes an HTTP request, again while the store answers
// 503 (no leader, for instance during an election) or 504 (a write lost
// in a leader change, which may or may not have been applied). Only
// idempotent calls may be repeated like this: reads, a put of one value,
// a delete.
func callIdempotent(ctx context.Context, client *http.Client, method, url, body string) (int, string, error) {
	for attempt := 1; ; attempt++ {
		status, resp, err := call(ctx, client, method, url, body)
		retry := status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
		if err != nil || !retry || attempt == retries {
			return status, resp, err
		}
		select {
		case <-time.After(retryPause):
		case <-ctx.Done():
			return status, resp, nil
		}
	}
}

// call makes one HTTP request and returns the status and the body.
func call(ctx context.Context, client *http.Client, method, url, body string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

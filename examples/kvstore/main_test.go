package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/examples/internal/settle"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestRunDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, 3, false); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{`-> 200 {"key":"sky","value":"blue","index":`, `/kv/sky -> 404 {"key":"sky","index":`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %q in:\n%s", want, out.String())
		}
	}
	if err := run(ctx, &out, 0, false); err == nil {
		t.Fatal("zero nodes accepted")
	}
}

// apiClient calls one node's HTTP API and decodes the answer.
type apiClient struct {
	t   *testing.T
	ctx context.Context
	srv *httptest.Server
}

// caller is call or callIdempotent.
type caller func(ctx context.Context, client *http.Client, method, url, body string) (int, string, error)

// do makes one call.
func (c apiClient) do(method, path, body string) (int, entry) {
	c.t.Helper()
	return c.send(call, method, path, body)
}

// retry repeats the call while the store answers 503 or 504.
func (c apiClient) retry(method, path, body string) (int, entry) {
	c.t.Helper()
	return c.send(callIdempotent, method, path, body)
}

func (c apiClient) send(f caller, method, path, body string) (int, entry) {
	c.t.Helper()
	status, raw, err := f(c.ctx, c.srv.Client(), method, c.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	var e entry // every answer, errors included, is JSON
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		c.t.Fatalf("%s %s: %v in %q", method, path, err, raw)
	}
	return status, e
}

// startStore joins a store with key on every node of a fresh in-memory
// cluster and serves each member's API through httptest; with settle, it
// returns once the members form one group.
func startStore(t *testing.T, n int, key groups.Key, consensus groups.ConsensusConfig, waitSettled bool) []apiClient {
	c := testkit.NewCluster(t, n, testkit.Options{})
	ctx := testkit.Context(t)
	cfg := kvConfig(key)
	cfg.Consensus = consensus
	var clients []apiClient
	var cores []*cluster.Group
	for _, i := range c.Live() {
		g, err := rsm.Join(ctx, c.Node(i), cfg)
		if err != nil {
			t.Fatal(err)
		}
		cores = append(cores, g.Core())
		srv := httptest.NewServer(NewHandler(g))
		t.Cleanup(func() {
			srv.Client().CloseIdleConnections()
			srv.Close()
		})
		clients = append(clients, apiClient{t: t, ctx: ctx, srv: srv})
	}
	if waitSettled {
		if _, err := settle.Await(ctx, cores); err != nil {
			t.Fatal(err)
		}
	}
	return clients
}

func TestHTTPAPI(t *testing.T) {
	nodes := startStore(t, 3, groups.KeyFromSecret("kvstore test"), groups.FastConsensus(), true)
	status, put := nodes[0].retry(http.MethodPut, "/kv/k", "v1")
	if status != http.StatusOK || put.Value != "v1" || put.Index == 0 {
		t.Fatalf("PUT: %d %+v", status, put)
	}

	// A strong read on another node sees the write, at its index or later;
	// a weak read there afterwards does too (the strong read waited for
	// that replica to apply it).
	for _, c := range []string{"strong", "weak", ""} {
		status, got := nodes[2].retry(http.MethodGet, "/kv/k?consistency="+c, "")
		if status != http.StatusOK || got.Value != "v1" || got.Index < put.Index {
			t.Fatalf("GET %q: %d %+v, want v1 at >= %d", c, status, got, put.Index)
		}
	}

	status, del := nodes[1].retry(http.MethodDelete, "/kv/k", "")
	if status != http.StatusOK || del.Index <= put.Index {
		t.Fatalf("DELETE: %d %+v, want an index after %d", status, del, put.Index)
	}
	status, got := nodes[0].retry(http.MethodGet, "/kv/k", "")
	if status != http.StatusNotFound || got.Index < del.Index {
		t.Fatalf("GET after DELETE: %d %+v, want 404 at >= %d", status, got, del.Index)
	}

	cases := []struct {
		method, path, body string
		want               int
	}{
		{http.MethodGet, "/kv/k?consistency=eventual", "", http.StatusBadRequest},
		{http.MethodPut, "/kv/big", strings.Repeat("x", maxValueSize+1), http.StatusRequestEntityTooLarge},
		{http.MethodPost, "/kv/k", "v", http.StatusMethodNotAllowed},
		{http.MethodGet, "/kv/", "", http.StatusNotFound},
		{http.MethodGet, "/nowhere", "", http.StatusNotFound},
	}
	for _, tc := range cases {
		if status, _ := nodes[1].do(tc.method, tc.path, tc.body); status != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, status, tc.want)
		}
	}
}

func TestOfflineStoreAnswers503(t *testing.T) {
	// A lone member waits a minute before it founds the shard: offline.
	slow := groups.FastConsensus()
	slow.BootstrapDelay = time.Minute
	node := startStore(t, 1, groups.KeyFromSecret("kvstore offline test"), slow, false)[0]
	status, got := node.do(http.MethodPut, "/kv/k", "v")
	if status != http.StatusServiceUnavailable || !strings.Contains(got.Error, "offline") {
		t.Fatalf("PUT on an offline store: %d %+v", status, got)
	}
	if status, _ := node.do(http.MethodGet, "/kv/k?consistency=strong", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("strong GET on an offline store: %d", status)
	}
}

func TestParseConsistency(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rsm.Consistency
		ok   bool
	}{
		{"", rsm.Strong, true},
		{"strong", rsm.Strong, true},
		{"weak", rsm.Weak, true},
		{"Strong", 0, false},
		{"linearizable", 0, false},
	} {
		got, err := parseConsistency(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseConsistency(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err     error
		expired bool
		want    int
	}{
		{rsm.ErrOffline, false, http.StatusServiceUnavailable},
		{&rsm.OfflineError[Command]{Commands: []Command{{Op: OpPut}}}, false, http.StatusServiceUnavailable},
		{rsm.ErrGroupTerminated, false, http.StatusServiceUnavailable},
		{rsm.ErrOffline, true, http.StatusServiceUnavailable},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), false, http.StatusGatewayTimeout},
		{errors.New("actors: propose: timeout"), true, http.StatusGatewayTimeout},
		{statemachine.ErrCodec, false, http.StatusInternalServerError},
		{errors.New("boom"), false, http.StatusInternalServerError},
	} {
		if got := statusOf(tc.err, tc.expired); got != tc.want {
			t.Errorf("statusOf(%v, expired %v) = %d, want %d", tc.err, tc.expired, got, tc.want)
		}
	}
}

func TestKVMachine(t *testing.T) {
	kv := NewKV()
	kv.Apply(statemachine.NewApplyContext(id.Of("test/kvstore"), []uint64{1, 2, 3, 4}), []Command{
		{Op: OpPut, Key: "a", Value: "1"},
		{Op: OpPut, Key: "b", Value: "2"},
		{Op: OpDelete, Key: "a"},
		{Op: "rename", Key: "b"}, // unknown: ignored alike everywhere
	})
	if got := kv.Query(Query{Key: "a"}); got.Found {
		t.Fatalf("a after delete: %+v", got)
	}
	var snap bytes.Buffer
	if err := kv.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	restored := NewKV()
	if err := restored.Restore(&snap); err != nil {
		t.Fatal(err)
	}
	if got := restored.Query(Query{Key: "b"}); got != (Result{Value: "2", Found: true}) {
		t.Fatalf("b after restore: %+v", got)
	}
	if err := restored.Restore(strings.NewReader("not json")); err == nil {
		t.Fatal("garbage snapshot restored")
	}
}

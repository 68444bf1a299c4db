package testkit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// DefaultTimeout bounds the kit's own waits (starting, converging,
// closing). Shared CI machines are slow; passing runs never come close.
const DefaultTimeout = 30 * time.Second

// Options shape a [Cluster]. The zero value is a cluster of nodes on the
// in-memory network with the fast discovery profile, all bootstrapped from
// node 0.
type Options struct {
	// Network is the network name. Default "testkit".
	Network string

	// Loopback runs the nodes on real QUIC and memberlist sockets over
	// 127.0.0.1 instead of the in-memory network. Partition is then
	// unavailable, and Kill can only close a node gracefully.
	Loopback bool

	// Discovery tunes gossip. Default discovery.FastConfig() when left
	// zero; a partly set config gets DefaultConfig's (LAN) values for its
	// zero fields, so start from FastConfig() and change what you need.
	Discovery discovery.Config

	// Seed makes the in-memory network's random faults (drops, jitter)
	// repeatable. Default 1.
	Seed int64

	// NoBootstrap starts every node alone: nobody joins node 0. Tests of
	// SyncWith and isolation use it.
	NoBootstrap bool

	// Logger, if set, is every node's cluster.Config.Logger (a
	// LogRecorder's Logger, say). Default: the node's default, warnings
	// to slog.Default().
	Logger *slog.Logger

	// Durable gives each node a data directory of its own (the group's
	// Raft log and snapshots) instead of keeping them in memory: a node
	// that Restart brings back after a Kill starts from it. The kit
	// creates the directories and removes them only after every node has
	// closed; a directory from t.TempDir taken inside Configure would be
	// removed while the nodes still write to it (the test's cleanups run
	// last-registered first).
	Durable bool

	// Configure, if set, adjusts each node's config before it starts
	// (index i is the node's position in the cluster).
	Configure func(i int, cfg *cluster.Config)
}

// T is the part of testing.TB the kit uses. *testing.T and *testing.B
// satisfy it; a program that drives a cluster outside "go test" (a soak
// run) supplies its own.
type T interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// Cluster is a set of nodes under test.
type Cluster struct {
	t    T
	opts Options
	// Net is the in-memory network, for faults the kit does not wrap
	// (drop rate, delay). Nil with Options.Loopback.
	Net *memnet.Network

	dataDir string // with Options.Durable: holds each node's directory

	mu    sync.Mutex
	nodes []*member
}

type member struct {
	key    id.SecretKey
	node   *cluster.Node
	killed bool
}

// NewCluster starts n nodes and returns once all have started (not once
// they have found each other: see DiscoverAll). Everything is closed and
// leak-checked in t.Cleanup (together with clusters of parallel tests:
// see live).
func NewCluster(t T, n int, opts Options) *Cluster {
	t.Helper()
	if opts.Network == "" {
		opts.Network = "testkit"
	}
	if opts.Discovery == (discovery.Config{}) {
		opts.Discovery = discovery.FastConfig()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	c := &Cluster{t: t, opts: opts}
	enterCluster()
	if !opts.Loopback {
		c.Net = memnet.New(memnet.Config{Seed: opts.Seed})
	}
	if opts.Durable {
		dir, err := os.MkdirTemp("", "testkit-")
		if err != nil {
			t.Fatalf("testkit: data directories: %v", err)
		}
		c.dataDir = dir
	}
	t.Cleanup(func() {
		c.closeAll()
		if c.dataDir != "" {
			if err := os.RemoveAll(c.dataDir); err != nil {
				t.Errorf("testkit: remove the data directories: %s", err)
			}
		}
		if c.Net != nil {
			if err := c.Net.Close(); err != nil {
				t.Errorf("testkit: close network: %s", err)
			}
		}
		if last, preexisting := leaveCluster(); last {
			if err := FindLeaks(preexisting); err != nil {
				t.Errorf("testkit: goroutines left behind: %s", err)
			}
		}
	})
	for range n {
		c.Add()
	}
	return c
}

// live counts the clusters running in this process. Clusters that overlap
// in time (tests that call t.Parallel) share one leak check: once the last
// of them has closed, every goroutine that was not running before the
// first of them started must have ended. A leak is then reported to the
// test whose cluster closed last, which may not be the one that leaked;
// the check cannot tell whose a goroutine is while others still run.
var live struct {
	sync.Mutex
	clusters    int
	preexisting goleak.Option
}

func enterCluster() {
	live.Lock()
	defer live.Unlock()
	if live.clusters == 0 {
		live.preexisting = goleak.IgnoreCurrent()
	}
	live.clusters++
}

// leaveCluster reports whether the cluster leaving was the last one
// running, and then what was running before the first one started.
func leaveCluster() (last bool, preexisting goleak.Option) {
	live.Lock()
	defer live.Unlock()
	live.clusters--
	return live.clusters == 0, live.preexisting
}

// Add starts one more node, bootstrapped from the first live node (node 0
// normally) unless NoBootstrap.
func (c *Cluster) Add() *cluster.Node {
	c.t.Helper()
	c.mu.Lock()
	i := len(c.nodes)
	c.nodes = append(c.nodes, &member{key: id.SecretKeyFromSeed(c.opts.Network + "/node/" + strconv.Itoa(i))})
	c.mu.Unlock()
	return c.start(i, false)
}

// start (re)starts node i with its key, bootstrapped from the first other
// live node, or from every other live node with allSeeds.
func (c *Cluster) start(i int, allSeeds bool) *cluster.Node {
	c.t.Helper()
	m := c.member(i)
	// Group state in memory unless a test asks for a data directory.
	cfg := cluster.Config{Network: c.opts.Network, Key: m.key, Discovery: c.opts.Discovery, DataDir: cluster.InMemory, Logger: c.opts.Logger}
	if c.dataDir != "" {
		cfg.DataDir = filepath.Join(c.dataDir, "node-"+strconv.Itoa(i))
	}
	if !c.opts.NoBootstrap {
		// The seed is the first other live node: node 0, unless this is
		// node 0 coming back after a Kill.
		c.mu.Lock()
		for j, m := range c.nodes {
			if j != i && m.node != nil && !m.killed {
				cfg.Bootstrap = append(cfg.Bootstrap, m.node.GossipAddr())
				if !allSeeds {
					break
				}
			}
		}
		c.mu.Unlock()
	}
	if c.Net != nil {
		ep, err := c.Net.Listen(m.key, memnet.EndpointConfig{})
		if err != nil {
			c.t.Fatalf("testkit: node %d: listen: %v", i, err)
		}
		gt, err := c.Net.Gossip(m.key.PeerID())
		if err != nil {
			ep.Close()
			c.t.Fatalf("testkit: node %d: gossip: %v", i, err)
		}
		cfg.Endpoint, cfg.GossipTransport = ep, gt
	}
	if c.opts.Configure != nil {
		c.opts.Configure(i, &cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	node, err := cluster.Start(ctx, cfg)
	if err != nil {
		c.t.Fatalf("testkit: node %d: start: %v", i, err)
	}
	c.mu.Lock()
	m.node, m.killed = node, false
	c.mu.Unlock()
	return node
}

func (c *Cluster) member(i int) *member {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.nodes) {
		c.t.Fatalf("testkit: no node %d in a cluster of %d", i, len(c.nodes))
	}
	return c.nodes[i]
}

// Node returns node i.
func (c *Cluster) Node(i int) *cluster.Node { return c.member(i).node }

// Len is the number of nodes ever added, killed ones included.
func (c *Cluster) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Live returns the indexes of nodes that are not killed or closed.
func (c *Cluster) Live() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, m := range c.nodes {
		if !m.killed {
			out = append(out, i)
		}
	}
	return out
}

// Kill crashes node i: it is cut off the network first, so nobody hears a
// farewell, then its goroutines are stopped. Peers notice only through
// failure detection. With Options.Loopback there is no network to cut and
// the node closes gracefully instead (peers see it leave).
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	m := c.member(i)
	if m.killed {
		return
	}
	if c.Net != nil {
		c.Net.Kill(m.key.PeerID())
	}
	c.closeMember(m)
}

// Close closes node i gracefully: peers see it leave.
func (c *Cluster) Close(i int) {
	c.t.Helper()
	c.closeMember(c.member(i))
}

// Restart starts node i again with its key (new addresses) after a Kill or
// Close, bootstrapped from every other live node, as an operator lists
// several seeds: every node has a new gossip address after its restart,
// so in a rolling restart a node whose only seed restarted after it would
// be left knowing no live address, while its peers, which saw its old
// address die, never reach out to the new one.
func (c *Cluster) Restart(i int) *cluster.Node {
	c.t.Helper()
	if !c.member(i).killed {
		c.t.Fatalf("testkit: Restart(%d) of a running node", i)
	}
	return c.start(i, true)
}

func (c *Cluster) closeMember(m *member) {
	c.mu.Lock()
	if m.killed {
		c.mu.Unlock()
		return
	}
	m.killed = true
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	if err := m.node.Close(ctx); err != nil && c.Net == nil {
		c.t.Errorf("testkit: close %s: %s", m.key.PeerID().Short(), err)
	}
}

// closeAll closes every live node concurrently: a graceful leave waits on
// peers, and closing one after the other would wait n times.
func (c *Cluster) closeAll() {
	c.mu.Lock()
	nodes := slices.Clone(c.nodes)
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range nodes {
		wg.Go(func() { c.closeMember(m) })
	}
	wg.Wait()
}

// PeerIDs returns the peer ids of the given nodes (all nodes if none).
func (c *Cluster) PeerIDs(idx ...int) []id.PeerID {
	if len(idx) == 0 {
		for i := range c.Len() {
			idx = append(idx, i)
		}
	}
	out := make([]id.PeerID, len(idx))
	for j, i := range idx {
		out[j] = c.member(i).key.PeerID()
	}
	return out
}

// Partition splits the nodes into groups (by index) that cannot reach each
// other; nodes not named stay reachable by all. In-memory only.
func (c *Cluster) Partition(groups ...[]int) {
	c.t.Helper()
	if c.Net == nil {
		c.t.Fatal("testkit: Partition needs the in-memory network")
	}
	peers := make([][]id.PeerID, len(groups))
	for g, idx := range groups {
		peers[g] = c.PeerIDs(idx...)
	}
	c.Net.Partition(peers...)
}

// Heal undoes Partition.
func (c *Cluster) Heal() {
	if c.Net != nil {
		c.Net.Heal()
	}
}

// DiscoverAll waits until every live node's catalog lists exactly the live
// nodes (itself included), or until ctx ends.
func (c *Cluster) DiscoverAll(ctx context.Context) error {
	live := c.Live()
	want := c.PeerIDs(live...)
	for _, i := range live {
		n := c.Node(i)
		err := n.WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			if s.Len() != len(want) {
				return false
			}
			for _, p := range want {
				if _, ok := s.Get(p); !ok {
					return false
				}
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("testkit: node %d (%s) did not discover all %d live nodes: %w", i, n.PeerID().Short(), len(want), err)
		}
	}
	return nil
}

// WaitFor checks cond every few milliseconds until it holds or ctx ends.
// Prefer the event-driven waits (DiscoverAll, Node.WaitCatalog, the When
// APIs) where they exist; WaitFor is for conditions nothing signals.
func WaitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("testkit: condition not met: %w", ctx.Err())
		}
	}
}

// Context returns a context bounded by DefaultTimeout and cancelled at the
// end of the test.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	t.Cleanup(cancel)
	return ctx
}

// JoinAll joins the group cfg describes on the given nodes (all live
// nodes if none) and returns the handles in the same order.
func (c *Cluster) JoinAll(cfg cluster.GroupConfig, idx ...int) []*cluster.Group {
	c.t.Helper()
	if len(idx) == 0 {
		idx = c.Live()
	}
	out := make([]*cluster.Group, len(idx))
	for j, i := range idx {
		g, err := c.Node(i).Join(context.Background(), cfg)
		if err != nil {
			c.t.Fatalf("testkit: node %d: join: %v", i, err)
		}
		out[j] = g
	}
	return out
}

// WaitMesh waits until every group handle has a bond to every other one
// (a full mesh) or ctx ends.
func WaitMesh(ctx context.Context, gs []*cluster.Group) error {
	for _, g := range gs {
		var want []id.PeerID
		for _, o := range gs {
			if o != g {
				want = append(want, o.Bonds().Self)
			}
		}
		if _, err := g.WaitBonds(ctx, func(v cluster.BondsView) bool {
			if len(v.Peers) != len(want) {
				return false
			}
			for _, p := range want {
				if !v.Has(p) {
					return false
				}
			}
			return true
		}); err != nil {
			return fmt.Errorf("testkit: %s has bonds %d of %d: %w", g.Bonds().Self.Short(), len(g.Bonds().Peers), len(want), err)
		}
	}
	return nil
}

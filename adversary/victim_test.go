package adversary_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/adversary"
	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

var long = flag.Bool("adversary.long", false, "run the attacks at their long-run sizes and log the figures")

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// sizes are an attack's dimensions at the default and long-run scales.
type sizes struct {
	conns     int // hostile connections
	hosts     int // source addresses they come from
	entries   int // entries per flooding sync
	syncs     int // flooding syncs
	broadcast int // gossip broadcasts
	maxPeers  int // the victim's catalog bound
}

func scale() sizes {
	if *long {
		return sizes{conns: 1000, hosts: 32, entries: 10_000, syncs: 10, broadcast: 20_000, maxPeers: 4096}
	}
	return sizes{conns: 100, hosts: 4, entries: 600, syncs: 3, broadcast: 2000, maxPeers: 1000}
}

const networkName = "adversary"

// handshakeTimeout is the victim's: short, so that the tests see stalled
// connections released without waiting the default 5 s.
const handshakeTimeout = time.Second

// victim is the node under attack, its endpoint, and what it looked like
// at rest.
type victim struct {
	node       *cluster.Node
	ep         *quicnet.Endpoint
	secret     []byte
	goroutines int
	heap       uint64
}

type victimOptions struct {
	secret    []byte // the network secret (gossip secret); nil: open network
	discovery discovery.Config
}

func startVictim(t *testing.T, opts victimOptions) *victim {
	t.Helper()
	key := id.NewSecretKey()
	ep, err := quicnet.Listen(quicnet.Config{Key: key, HandshakeTimeout: handshakeTimeout})
	if err != nil {
		t.Fatal(err)
	}
	disc := opts.discovery
	if disc == (discovery.Config{}) {
		disc = discovery.FastConfig()
		disc.MaxPeers = scale().maxPeers
	}
	node, err := cluster.Start(context.Background(), cluster.Config{
		Network: networkName, Key: key, Endpoint: ep, DataDir: cluster.InMemory,
		Discovery: disc, GossipSecret: opts.secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeNode(t, node) })
	v := &victim{node: node, ep: ep, secret: opts.secret}
	v.rest()
	return v
}

// rest records the victim's goroutines and heap at rest.
func (v *victim) rest() {
	v.goroutines = runtime.NumGoroutine()
	v.heap = adversary.HeapAfterGC()
}

func closeNode(t *testing.T, n *cluster.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Errorf("close %s: %v", n.PeerID().Short(), err)
	}
}

// friend starts an honest node of the victim's network that joins it by
// gossip and waits until each lists the other.
func (v *victim) friend(t *testing.T, ctx context.Context) *cluster.Node {
	t.Helper()
	n, err := cluster.Start(ctx, cluster.Config{
		Network: networkName, DataDir: cluster.InMemory, Discovery: discovery.FastConfig(),
		GossipSecret: v.secret, Bootstrap: []string{v.node.GossipAddr()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeNode(t, n) })
	for _, pair := range [][2]*cluster.Node{{n, v.node}, {v.node, n}} {
		if err := pair[0].WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			_, ok := s.Get(pair[1].PeerID())
			return ok
		}); err != nil {
			t.Fatalf("friend and victim do not see each other: %v", err)
		}
	}
	return n
}

// servesCatalog checks that the victim still answers a catalog sync from
// an honest node: the sync protocol works end to end after the attack.
func (v *victim) servesCatalog(t *testing.T, ctx context.Context, friend *cluster.Node) {
	t.Helper()
	if err := friend.SyncWithPeer(ctx, v.node.PeerID(), v.node.Addr()); err != nil {
		t.Fatalf("victim no longer serves catalog syncs: %v", err)
	}
}

// goroutinesSettle waits until the process runs no more goroutines than
// the victim did at rest, give or take slack for timers that come and go.
func (v *victim) goroutinesSettle(t *testing.T, ctx context.Context) {
	t.Helper()
	const slack = 15
	if err := testkit.WaitFor(ctx, func() bool { return runtime.NumGoroutine() <= v.goroutines+slack }); err != nil {
		t.Fatalf("goroutines did not return to rest: %d now, %d at rest", runtime.NumGoroutine(), v.goroutines)
	}
}

// closeAll closes outsiders once their attack is over, so that their
// sockets' goroutines do not count against the victim's.
func closeAll(hosts []*adversary.Outsider) {
	for _, o := range hosts {
		_ = o.Close()
	}
}

// outsiders makes n outsider hosts on 127.0.0.2 upward; they are closed
// at cleanup too (closing twice is harmless).
func outsiders(t *testing.T, n int) []*adversary.Outsider {
	t.Helper()
	out := make([]*adversary.Outsider, n)
	for i := range out {
		o, err := adversary.NewOutsider(fmt.Sprintf("127.0.%d.%d", (i+2)/250, 2+(i+2)%250))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { o.Close() })
		out[i] = o
	}
	return out
}

// checkHeap fails the test if the live heap grew past the bound for
// conns hostile connections since rest, and logs the figures.
func (v *victim) checkHeap(t *testing.T, what string, peak uint64, conns int) {
	t.Helper()
	now := adversary.HeapAfterGC()
	grown := max(now, peak) - min(v.heap, max(now, peak))
	bound := adversary.HeapBoundFor(conns)
	t.Logf("%s: live heap %s at rest, %s holding the attack, %s peak; grew %s (bound %s)",
		what, adversary.MiB(v.heap), adversary.MiB(now), adversary.MiB(peak), adversary.MiB(grown), adversary.MiB(bound))
	if grown > bound {
		t.Fatalf("%s: live heap grew by %s, bound %s", what, adversary.MiB(grown), adversary.MiB(bound))
	}
}

// servesGroup checks that the victim and a friend form a two-member group
// that elects a leader and commits a command on the victim.
func servesGroup(t *testing.T, ctx context.Context, v *cluster.Node, friend *cluster.Node) {
	t.Helper()
	cfg := counter.Typed("adversary group")
	gv, err := rsm.Join(ctx, v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	gf, err := rsm.Join(ctx, friend, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer gv.Close()
	defer gf.Close()
	for _, g := range []*rsm.Group[int64, struct{}, int64]{gv, gf} {
		if err := g.When().Online(ctx); err != nil {
			t.Fatalf("group did not come online after the attack: %v", err)
		}
	}
	if _, err := gv.Execute(ctx, 7); err != nil {
		t.Fatalf("victim cannot commit after the attack: %v", err)
	}
	if total, _, err := gf.Query(ctx, struct{}{}, rsm.Strong); err != nil || total != 7 {
		t.Fatalf("friend reads %d, %v; want 7", total, err)
	}
}

// parallel runs fn(i) for i in [0, n) on at most 64 goroutines and waits.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

package adversary_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/adversary"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

// attackContext bounds one test: the long run needs minutes.
func attackContext(t *testing.T) context.Context {
	d := testkit.DefaultTimeout * 2
	if *long {
		d = 20 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// closeCodes tallies how the victim ended a set of connections.
type closeCodes struct {
	mu    sync.Mutex
	codes map[transport.CloseCode]int
	other int // ended without an application close (refused, reset)
}

// only fails t if the victim closed a connection with a code other than
// allowed, or if more than a tenth of them (and more than two) ended
// without a close: a CONNECTION_CLOSE lost on a loaded loopback leaves the
// attacker to learn of the end from a stateless reset instead.
func (c *closeCodes) only(t *testing.T, allowed ...transport.CloseCode) {
	t.Helper()
	n := c.other
	for code, k := range c.codes {
		n += k
		if !slices.Contains(allowed, code) {
			t.Errorf("%d connections closed with %d %s, want only %v", k, uint32(code), code, allowed)
		}
	}
	if c.other > max(2, n/10) {
		t.Errorf("%d of %d connections ended without the victim's close", c.other, n)
	}
}

func (c *closeCodes) wait(ctx context.Context, conn *quic.Conn) {
	code, ok := adversary.CloseCode(ctx, conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.codes == nil {
		c.codes = map[transport.CloseCode]int{}
	}
	if ok {
		c.codes[code]++
	} else {
		c.other++
	}
}

// TestFirstFrameFlood is the frame attack: hostile connections on the
// bond and sync protocols announce first frames of 16 MiB (the old cap,
// which the victim used to allocate at once) and send a megabyte of them,
// or announce a frame under the first-frame limit and stall halfway, or
// send nothing after the preamble. The victim refuses the announcements
// on their headers, closes the stalled ones at its handshake timeout, and
// holds little meanwhile; afterwards its goroutines are back to rest and
// it still serves catalog syncs and its group.
func TestFirstFrameFlood(t *testing.T) {
	sz := scale()
	ctx := attackContext(t)
	v := startVictim(t, victimOptions{})
	hosts := outsiders(t, sz.hosts)
	peaks := adversary.SamplePeaks(10 * time.Millisecond)

	var codes closeCodes
	var mu sync.Mutex
	var links []*adversary.Link
	failedOpens, oversized := 0, 0
	parallel(sz.conns, func(i int) {
		alpn := []string{transport.ALPNGroups, transport.ALPNDiscoverySync}[i%2]
		l, err := hosts[i%len(hosts)].Open(ctx, v.node.Addr(), alpn)
		if err != nil {
			mu.Lock()
			failedOpens++
			mu.Unlock()
			return
		}
		switch i % 4 {
		case 0, 1: // the old cap, then as much body as the victim's window takes
			mu.Lock()
			oversized++
			mu.Unlock()
			_ = l.WriteHeader(transport.DefaultMaxFrameSize)
			_ = l.WriteBody(transport.DefaultFirstFrameSize) // fails once the victim closes
		case 2: // under the first-frame limit, half sent, then silence
			_ = l.WriteHeader(transport.DefaultFirstFrameSize - 1024)
			_ = l.WriteBody(transport.DefaultFirstFrameSize / 2)
		case 3: // nothing after the preamble
		}
		mu.Lock()
		links = append(links, l)
		mu.Unlock()
	})
	// Every connection is open or already refused: this is the most the
	// victim holds.
	holding := adversary.HeapAfterGC()
	for _, l := range links {
		codes.wait(ctx, l.Conn)
	}
	peak, _ := peaks.Stop()
	v.checkHeap(t, "first-frame flood", max(peak, holding), sz.conns)
	st := v.ep.Stats()
	t.Logf("%d connections: %d opened, %d refused at once; closes %v (%d otherwise); stats: oversized %d, timed out %d, refused %d+%d",
		sz.conns, len(links), failedOpens, codes.codes, codes.other,
		st.Oversized.Load(), st.TimedOut.Load(), st.RefusedTotal.Load(), st.RefusedPerIP.Load())

	// Oversized first frames are refused with 400, stalled ones closed
	// with 30 408; the victim's own count of oversized frames is exact.
	codes.only(t, transport.CodeProtocolViolation, transport.CodeTimeout)
	// On a loaded machine loopback drops packets too (the victim's socket
	// buffer fills while it reads under the race detector): a handshake
	// may fail, a header arrive after the first-frame deadline.
	lossy := max(2, sz.conns/10)
	if st.Oversized.Load()+uint64(lossy) < uint64(oversized) {
		t.Errorf("Stats.Oversized = %d, want about %d", st.Oversized.Load(), oversized)
	}
	// The victim's own count says whether its limits refused any: opens
	// that failed otherwise were lost to a loaded loopback.
	if refused := st.RefusedTotal.Load() + st.RefusedPerIP.Load(); !*long && refused > 0 {
		t.Errorf("the victim refused %d of %d connections (%d failed to open); the limits should admit them all", refused, sz.conns, failedOpens)
	}
	if total, _ := v.ep.Unauthenticated(""); total != 0 {
		t.Errorf("%d connections still counted as unauthenticated", total)
	}
	closeAll(hosts)
	v.goroutinesSettle(t, ctx)
	friend := v.friend(t, ctx)
	v.servesCatalog(t, ctx, friend)
	servesGroup(t, ctx, v.node, friend)
}

// TestConnectionFlood completes handshakes and then says nothing, from
// several hosts and many more from one: the victim refuses what exceeds
// its per-address limit at the first packet, closes the rest at its
// handshake timeout, and frees every slot.
func TestConnectionFlood(t *testing.T) {
	sz := scale()
	ctx := attackContext(t)
	v := startVictim(t, victimOptions{})
	hosts := outsiders(t, sz.hosts+1)
	greedy, others := hosts[0], hosts[1:]
	const greedyConns = quicnet.DefaultMaxUnauthenticatedPerIP + 16

	peaks := adversary.SamplePeaks(10 * time.Millisecond)
	var codes closeCodes
	var mu sync.Mutex
	var conns []*quic.Conn
	refused := 0
	dial := func(o *adversary.Outsider) {
		conn, err := o.Connect(ctx, v.node.Addr(), transport.ALPNGroups)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			refused++
			return
		}
		conns = append(conns, conn)
	}
	parallel(greedyConns, func(int) { dial(greedy) })
	parallel(sz.conns, func(i int) { dial(others[i%len(others)]) })
	holding := adversary.HeapAfterGC()
	for _, c := range conns {
		codes.wait(ctx, c)
	}
	peak, _ := peaks.Stop()
	v.checkHeap(t, "connection flood", max(peak, holding), greedyConns+sz.conns)
	st := v.ep.Stats()
	t.Logf("%d connections: %d admitted, %d refused; closes %v; stats: refused %d total + %d per address, timed out %d",
		greedyConns+sz.conns, len(conns), refused, codes.codes, st.RefusedTotal.Load(), st.RefusedPerIP.Load(), st.TimedOut.Load())

	if refused == 0 || st.RefusedPerIP.Load() == 0 {
		t.Errorf("one host opened %d connections and none was refused", greedyConns)
	}
	codes.only(t, transport.CodeTimeout)
	if got := st.TimedOut.Load(); got < uint64(len(conns)) {
		t.Errorf("the victim timed out %d connections, want at least the %d admitted", got, len(conns))
	}
	if total, _ := v.ep.Unauthenticated(""); total != 0 {
		t.Errorf("%d connections still counted as unauthenticated", total)
	}
	closeAll(hosts)
	v.goroutinesSettle(t, ctx)
	friend := v.friend(t, ctx)
	v.servesCatalog(t, ctx, friend)
}

// TestCatalogFloodOnAnOpenNetwork floods an open network's catalog over
// sync links with entries signed by fresh keys, advertising a group at
// the attacker's address: one sync adds at most MaxNewPerSync new peers,
// the catalog stops at MaxPeers, and a real member still gets in.
func TestCatalogFloodOnAnOpenNetwork(t *testing.T) {
	sz := scale()
	ctx := attackContext(t)
	disc := discovery.FastConfig()
	// Bounds such that each sync meets the per-sync limit before the
	// catalog fills, and later syncs meet the catalog's bound.
	disc.MaxPeers = sz.maxPeers / 2
	disc.MaxNewPerSync = min(sz.entries/2, disc.MaxPeers/2)
	v := startVictim(t, victimOptions{discovery: disc})
	o := outsiders(t, 1)[0]
	network := v.node.NetworkID()
	fakes := adversary.Fakes{Network: network, Addr: "127.0.0.2:9", Groups: []id.GroupID{id.Of("a group")}}

	peaks := adversary.SamplePeaks(10 * time.Millisecond)
	for range sz.syncs {
		entries, err := fakes.Entries(sz.entries)
		if err != nil {
			t.Fatal(err)
		}
		state, err := adversary.CatalogState(network, entries)
		if err != nil {
			t.Fatal(err)
		}
		// "busy" after FetchTimeout is a slow merge that goes on, not a
		// refusal: the counts below tell.
		if err := o.Push(ctx, v.node.Addr(), adversary.SyncV2, network, nil, state); err != nil && !refusedAs(err, transport.CodeCancelled) {
			t.Fatalf("the open network refused a sync: %v", err)
		}
	}
	st := v.node.DiscoveryStats()
	sent := uint64(sz.syncs * sz.entries)
	if err := testkit.WaitFor(ctx, func() bool {
		return st.Discovered.Load()+st.CatalogRefused.Load()+st.SyncCapped.Load() >= sent
	}); err != nil {
		t.Fatalf("flood not processed: discovered %d, refused %d, capped %d of %d", st.Discovered.Load(), st.CatalogRefused.Load(), st.SyncCapped.Load(), sent)
	}
	peak, _ := peaks.Stop()
	v.checkHeap(t, "catalog flood", peak, 0)
	t.Logf("%d entries in %d syncs: catalog %d (bound %d), refused %d, capped %d, shed %d",
		sent, sz.syncs, v.node.Catalog().Len(), disc.MaxPeers, st.CatalogRefused.Load(), st.SyncCapped.Load(), st.Shed.Load())

	if n := v.node.Catalog().Len(); n > disc.MaxPeers+1 {
		t.Fatalf("catalog holds %d entries, bound %d", n, disc.MaxPeers)
	}
	if st.SyncCapped.Load() == 0 || st.CatalogRefused.Load() == 0 {
		t.Fatal("neither the per-sync limit nor the catalog bound turned anything away")
	}
	closeAll([]*adversary.Outsider{o})
	v.goroutinesSettle(t, ctx)
	// A real member, confirmed alive by failure detection, takes an
	// unconfirmed entry's place.
	friend := v.friend(t, ctx)
	v.servesCatalog(t, ctx, friend)
}

// TestGossipFloodOnAnOpenNetwork sends the flood as gossip broadcasts,
// one UDP packet per entry: the catalog stops at its bound, and the heap
// stays within its bound.
func TestGossipFloodOnAnOpenNetwork(t *testing.T) {
	sz := scale()
	ctx := attackContext(t)
	disc := discovery.FastConfig()
	disc.MaxPeers = sz.maxPeers / 2
	v := startVictim(t, victimOptions{discovery: disc})
	g, err := adversary.NewGossiper(v.node.NetworkID(), "127.0.0.2", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	entries, err := adversary.Fakes{Network: v.node.NetworkID(), Addr: "127.0.0.2:9"}.Entries(sz.broadcast)
	if err != nil {
		t.Fatal(err)
	}
	peaks := adversary.SamplePeaks(10 * time.Millisecond)
	for _, e := range entries {
		if err := g.Broadcast(v.node.GossipAddr(), e); err != nil {
			t.Fatal(err)
		}
	}
	bound := disc.MaxPeers
	st := v.node.DiscoveryStats()
	// Loopback loses no packets here: wait until every broadcast has been
	// taken in, turned away or shed.
	sent := uint64(sz.broadcast)
	if err := testkit.WaitFor(ctx, func() bool {
		return st.Discovered.Load()+st.CatalogRefused.Load()+st.Shed.Load() >= sent
	}); err != nil {
		t.Fatalf("flood not processed: discovered %d, refused %d, shed %d of %d", st.Discovered.Load(), st.CatalogRefused.Load(), st.Shed.Load(), sent)
	}
	peak, _ := peaks.Stop()
	v.checkHeap(t, "gossip flood", peak, 0)
	t.Logf("%d broadcasts: catalog %d (bound %d), refused %d, shed %d", sz.broadcast, v.node.Catalog().Len(), bound, st.CatalogRefused.Load(), st.Shed.Load())
	if n := v.node.Catalog().Len(); n > bound+1 {
		t.Fatalf("catalog holds %d entries, bound %d", n, bound)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	v.goroutinesSettle(t, ctx)
	friend := v.friend(t, ctx)
	v.servesCatalog(t, ctx, friend)
}

// TestSyncNeedsTheNetworkSecret: on a network with a secret, syncs without
// a proof of it, or with a wrong one, are refused with 101 before the
// victim reads a catalog, and gossip without the secret is dropped;
// members with the secret sync as before.
func TestSyncNeedsTheNetworkSecret(t *testing.T) {
	ctx := attackContext(t)
	secret := []byte("sixteen byte key")
	v := startVictim(t, victimOptions{secret: secret})
	network := v.node.NetworkID()
	entries, err := adversary.Fakes{Network: network}.Entries(50)
	if err != nil {
		t.Fatal(err)
	}
	state, err := adversary.CatalogState(network, entries)
	if err != nil {
		t.Fatal(err)
	}
	o := outsiders(t, 1)[0]
	guess := make([]byte, 32)
	_, _ = rand.Read(guess)
	for name, proof := range map[string][]byte{"no proof": nil, "a guessed proof": guess} {
		err := o.Push(ctx, v.node.Addr(), adversary.SyncV2, network, proof, state)
		var ae *quic.ApplicationError
		if !errors.As(err, &ae) || transport.CloseCode(ae.ErrorCode) != transport.CodeDifferentNetwork {
			t.Fatalf("sync with %s: %v, want a close with 101", name, err)
		}
	}
	for _, key := range [][]byte{nil, []byte("a wrong key here")} {
		g, err := adversary.NewGossiper(network, "127.0.0.3", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			_ = g.Broadcast(v.node.GossipAddr(), e)
		}
		_ = g.Close()
	}
	st := v.node.DiscoveryStats()
	if got := st.SyncRefused.Load(); got != 2 {
		t.Fatalf("SyncRefused = %d, want 2", got)
	}
	friend := v.friend(t, ctx)
	v.servesCatalog(t, ctx, friend)
	if n := v.node.Catalog().Len(); n != 2 {
		t.Fatalf("catalog holds %d entries, want the victim's and its friend's", n)
	}
}

// TestForgedReplayedAndFutureEntries offers entries with broken
// signatures, of another network, from far in the future, and a replay
// of a real member's older entry: all are turned away or lose to what the
// victim holds.
func TestForgedReplayedAndFutureEntries(t *testing.T) {
	ctx := attackContext(t)
	v := startVictim(t, victimOptions{})
	friend := v.friend(t, ctx)
	network := v.node.NetworkID()
	old, ok := v.node.Catalog().Signed(friend.PeerID())
	if !ok {
		t.Fatal("victim holds no entry of its friend")
	}
	newer := id.Of("newer")
	if err := friend.AddTags(ctx, newer); err != nil {
		t.Fatal(err)
	}
	hasNewer := func(s *discovery.Snapshot) bool {
		e, ok := s.Get(friend.PeerID())
		return ok && e.HasTag(newer)
	}
	if err := v.node.WaitCatalog(ctx, hasNewer); err != nil {
		t.Fatal(err)
	}
	const each = 20
	var bad []*messages.SignedPeerEntry
	for _, f := range []adversary.Fakes{
		{Network: network, Forge: true},
		{Network: id.Of("another network")},
		{Network: network, Version: uint64(time.Now().Add(time.Hour).UnixMilli())},
	} {
		e, err := f.Entries(each)
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, e...)
	}
	st := v.node.DiscoveryStats()
	before := st.Rejected.Load()
	state, err := adversary.CatalogState(network, append(bad, old.Proto()))
	if err != nil {
		t.Fatal(err)
	}
	o := outsiders(t, 1)[0]
	if err := o.Push(ctx, v.node.Addr(), adversary.SyncV2, network, nil, state); err != nil && !refusedAs(err, transport.CodeCancelled) {
		t.Fatal(err)
	}
	if err := testkit.WaitFor(ctx, func() bool { return st.Rejected.Load() >= before+3*each }); err != nil {
		t.Fatalf("rejected %d of %d bad entries", st.Rejected.Load()-before, 3*each)
	}
	// Barrier: an honest sync after the attack's is merged after it.
	v.servesCatalog(t, ctx, friend)
	if !hasNewer(v.node.Catalog()) {
		t.Fatal("a replayed older entry replaced the friend's current one")
	}
	if n := v.node.Catalog().Len(); n != 2 {
		t.Fatalf("catalog holds %d entries, want the victim's and its friend's", n)
	}
}

// TestGarbageAndOversizedFirstFrames sends what is not mosaik on both
// protocols a node serves: a foreign preamble, garbage, and first frames
// announced past the first-frame limit. Each is closed with its code.
func TestGarbageAndOversizedFirstFrames(t *testing.T) {
	ctx := attackContext(t)
	v := startVictim(t, victimOptions{})
	o := outsiders(t, 1)[0]
	tests := []struct {
		name  string
		alpn  string
		write func(*adversary.Link) error
		want  transport.CloseCode
	}{
		{"groups: garbage frame", transport.ALPNGroups, func(l *adversary.Link) error { return l.WriteFrame([]byte{0xff, 0xff, 0xff}) }, transport.CodeBadHandshake},
		{"sync: garbage frame", transport.ALPNDiscoverySync, func(l *adversary.Link) error { return l.WriteFrame([]byte{0xff, 0xff, 0xff}) }, transport.CodeProtocolViolation},
		{"groups: just over the first-frame limit", transport.ALPNGroups, func(l *adversary.Link) error { return l.WriteHeader(transport.DefaultFirstFrameSize + 1) }, transport.CodeProtocolViolation},
		{"sync: the maximum frame", transport.ALPNDiscoverySync, func(l *adversary.Link) error { return l.WriteHeader(transport.DefaultMaxFrameSize) }, transport.CodeProtocolViolation},
		{"sync: the largest length", transport.ALPNDiscoverySync, func(l *adversary.Link) error { return l.WriteHeader(0xffffffff) }, transport.CodeProtocolViolation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := o.Open(ctx, v.node.Addr(), tc.alpn)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if err := tc.write(l); err != nil {
				t.Fatal(err)
			}
			if code, ok := adversary.CloseCode(ctx, l.Conn); !ok || code != tc.want {
				t.Fatalf("closed with %d (ok %v), want %d", code, ok, tc.want)
			}
		})
	}
	t.Run("foreign preamble", func(t *testing.T) {
		conn, err := o.Connect(ctx, v.node.Addr(), transport.ALPNGroups)
		if err != nil {
			t.Fatal(err)
		}
		str, err := conn.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := str.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if code, ok := adversary.CloseCode(ctx, conn); !ok || code != transport.CodeProtocolViolation {
			t.Fatalf("closed with %d (ok %v), want 400", code, ok)
		}
	})
	if got := v.ep.Stats().Oversized.Load(); got != 3 {
		t.Fatalf("Stats.Oversized = %d, want 3", got)
	}
	closeAll([]*adversary.Outsider{o})
	v.goroutinesSettle(t, ctx)
}

// TestWrongKeysRefused dials the victim's group as an outsider: a proof
// made with a wrong key, a group the victim is not in, and another
// network each get their close code, and the group keeps no bond.
func TestWrongKeysRefused(t *testing.T) {
	ctx := attackContext(t)
	v := startVictim(t, victimOptions{})
	g, err := rsm.Join(ctx, v.node, counter.Typed("the real key"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	o := outsiders(t, 1)[0]
	tests := []struct {
		name    string
		network id.NetworkID
		group   id.GroupID
		want    transport.CloseCode
	}{
		{"wrong key", v.node.NetworkID(), g.ID(), transport.CodeInvalidProof},
		{"unknown group", v.node.NetworkID(), id.Of("no such group"), transport.CodeGroupNotFound},
		{"another network", id.Of("another network"), g.ID(), transport.CodeDifferentNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := o.Open(ctx, v.node.Addr(), transport.ALPNGroups)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			secret, err := adversary.Secret(l.Conn, groups.SecretLabel(tc.group))
			if err != nil {
				t.Fatal(err)
			}
			start := groups.Start{Network: tc.network, Group: tc.group}.Proto(groups.KeyFromSecret("a guess"), secret, o.PeerID())
			payload, err := transport.Marshal(start, transport.DefaultFirstFrameSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.WriteFrame(payload); err != nil {
				t.Fatal(err)
			}
			if code, ok := adversary.CloseCode(ctx, l.Conn); !ok || code != tc.want {
				t.Fatalf("closed with %d (ok %v), want %d", code, ok, tc.want)
			}
		})
	}
	if peers := g.Core().Bonds().Peers; len(peers) != 0 {
		t.Fatalf("the group holds bonds with %v", peers)
	}
}

// TestGroupAdvertiserFlood floods an open network's catalog with entries
// that advertise the victim's own group at an address that never answers:
// the victim dials at most groups.MaxDialsInFlight of them at a time and
// backs off from each, so its goroutines stay bounded while it lasts,
// and it still forms its group with a real member.
func TestGroupAdvertiserFlood(t *testing.T) {
	sz := scale()
	ctx := attackContext(t)
	v := startVictim(t, victimOptions{})
	cfg := counter.Typed("adversary group")
	g, err := rsm.Join(ctx, v.node, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	v.rest()
	o := outsiders(t, 1)[0]
	fakes := adversary.Fakes{Network: v.node.NetworkID(), Addr: "127.0.0.2:9", Groups: []id.GroupID{g.ID()}}
	n := min(sz.entries, 1000)
	entries, err := fakes.Entries(n)
	if err != nil {
		t.Fatal(err)
	}
	state, err := adversary.CatalogState(v.node.NetworkID(), entries)
	if err != nil {
		t.Fatal(err)
	}
	peaks := adversary.SamplePeaks(10 * time.Millisecond)
	// A victim slow to check a thousand signatures (the race detector on
	// a loaded machine) answers "busy" once FetchTimeout passes, and the
	// merge goes on: the catalog is what tells.
	if err := o.Push(ctx, v.node.Addr(), adversary.SyncV2, v.node.NetworkID(), nil, state); err != nil && !refusedAs(err, transport.CodeCancelled) {
		t.Fatal(err)
	}
	if err := testkit.WaitFor(ctx, func() bool { return v.node.Catalog().Len() > n/2 }); err != nil {
		t.Fatalf("the flood never reached the catalog (%d entries): %v", v.node.Catalog().Len(), err)
	}
	// The attack's duration: several dial timeouts, so that the victim
	// meets failures and backs off.
	<-time.After(3 * cfg.Consensus.ForwardTimeout)
	_, peak := peaks.Stop()
	// A dial in flight costs its bond actor's task and quic-go's
	// connection goroutines: about 25 for each of groups.MaxDialsInFlight
	// (8), plus the rest of the node's work. Without the budget the peak
	// is over a thousand.
	bound := v.goroutines + 350
	t.Logf("%d fake members of the victim's group: goroutines %d at rest, peak %d (bound %d)", n, v.goroutines, peak, bound)
	if peak > bound {
		t.Fatalf("goroutines peaked at %d with %d fake members, bound %d", peak, n, bound)
	}
	closeAll([]*adversary.Outsider{o})
	friend := v.friend(t, ctx)
	servesGroup(t, ctx, v.node, friend)
}

// refusedAs reports whether err is the victim closing the link with code.
func refusedAs(err error, code transport.CloseCode) bool {
	var ae *quic.ApplicationError
	return errors.As(err, &ae) && ae.Remote && transport.CloseCode(ae.ErrorCode) == code
}

package memnet_test

import (
	"io"
	"log"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport/memnet"
)

// member is one memberlist running over a memnet gossip transport.
type member struct {
	peer id.PeerID
	tr   *memnet.GossipTransport
	ml   *memberlist.Memberlist
	// changed holds a token after any membership event, so a waiter that
	// checked the member list just before an event still wakes for it.
	changed   chan struct{}
	conflicts chan string // names memberlist refused to re-address
}

// memberEvents feeds a member's tokens and conflicts. memberlist calls it
// under its own lock, so it never blocks.
type memberEvents struct{ m *member }

func (e memberEvents) NotifyJoin(*memberlist.Node)   { e.m.signal() }
func (e memberEvents) NotifyLeave(*memberlist.Node)  { e.m.signal() }
func (e memberEvents) NotifyUpdate(*memberlist.Node) { e.m.signal() }
func (e memberEvents) NotifyConflict(existing, _ *memberlist.Node) {
	select {
	case e.m.conflicts <- existing.Name:
	default:
	}
}

func (m *member) signal() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// fastConfig is memberlist's local preset sped up so that failure
// detection takes a fraction of a second.
func fastConfig(name string) *memberlist.Config {
	c := memberlist.DefaultLocalConfig()
	c.Name = name
	c.Logger = log.New(io.Discard, "", 0)
	c.ProbeInterval = 100 * time.Millisecond
	c.ProbeTimeout = 50 * time.Millisecond
	c.GossipInterval = 20 * time.Millisecond
	c.SuspicionMult = 2
	c.PushPullInterval = time.Second
	c.TCPTimeout = time.Second
	return c
}

// startMember runs a memberlist for peer on a fresh gossip transport. The
// memberlist shuts down with the test, and its transport with it.
func startMember(t *testing.T, n *memnet.Network, peer id.PeerID, tune ...func(*memberlist.Config)) *member {
	t.Helper()
	tr, err := n.Gossip(peer)
	if err != nil {
		t.Fatalf("Gossip: %v", err)
	}
	m := &member{peer: peer, tr: tr, changed: make(chan struct{}, 1), conflicts: make(chan string, 16)}
	cfg := fastConfig(peer.String())
	cfg.Transport = tr
	cfg.Events = memberEvents{m}
	cfg.Conflict = memberEvents{m}
	for _, f := range tune {
		f(cfg)
	}
	m.ml, err = memberlist.Create(cfg)
	if err != nil {
		tr.Shutdown()
		t.Fatalf("memberlist.Create: %v", err)
	}
	t.Cleanup(func() { m.ml.Shutdown() })
	return m
}

func (m *member) join(t *testing.T, seed *member) {
	t.Helper()
	if _, err := m.ml.Join([]string{seed.tr.Addr()}); err != nil {
		t.Fatalf("Join: %v", err)
	}
}

// startCluster starts size members and joins them all through the first.
func startCluster(t *testing.T, n *memnet.Network, size int, tune ...func(*memberlist.Config)) []*member {
	t.Helper()
	ms := make([]*member, size)
	for i := range ms {
		ms[i] = startMember(t, n, id.NewSecretKey().PeerID(), tune...)
		if i > 0 {
			ms[i].join(t, ms[0])
		}
	}
	// Later members learn of each other by gossip; one that misses a
	// broadcast waits for the next push-pull, which with LAN timings
	// (TestMemberlistVirtualTime) is 30 s of virtual time away.
	waitViewsWithin(t, ms, ms, time.Minute)
	return ms
}

// view is the sorted names of the members m considers alive (or
// suspect).
func (m *member) view() []string {
	var names []string
	for _, node := range m.ml.Members() {
		names = append(names, node.Name)
	}
	slices.Sort(names)
	return names
}

func names(ms []*member) []string {
	var ns []string
	for _, m := range ms {
		ns = append(ns, m.peer.String())
	}
	slices.Sort(ns)
	return ns
}

// waitView waits up to limit until m sees exactly want alive.
func waitView(t *testing.T, m *member, want []*member, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for !slices.Equal(m.view(), names(want)) {
		select {
		case <-m.changed:
		case <-deadline:
			t.Fatalf("%s sees %d members, want %d", m.peer.Short(), len(m.view()), len(want))
		}
	}
}

// waitViews waits until every member of ms sees exactly want.
func waitViews(t *testing.T, ms, want []*member) {
	t.Helper()
	waitViewsWithin(t, ms, want, waitLimit)
}

func waitViewsWithin(t *testing.T, ms, want []*member, limit time.Duration) {
	t.Helper()
	for _, m := range ms {
		waitView(t, m, want, limit)
	}
}

// TestMemberlistFailureDetection is what memberlist's own MockNetwork
// cannot do: a member dies without a word, and the others notice.
func TestMemberlistFailureDetection(t *testing.T) {
	n := newNet(t, memnet.Config{})
	ms := startCluster(t, n, 5)
	start := time.Now()
	n.Kill(ms[4].peer)
	waitViews(t, ms[:4], ms[:4])
	t.Logf("death noticed by all in %v", time.Since(start))
}

// TestMemberlistLossyNetwork runs failure detection over lossy, slow,
// jittery packets: memberlist is built for UDP and must still converge,
// refuting the false suspicions the losses cause.
func TestMemberlistLossyNetwork(t *testing.T) {
	n := newNet(t, memnet.Config{Seed: 1})
	n.SetDropRate(0.05)
	n.SetDelay(2 * time.Millisecond)
	n.SetJitter(3 * time.Millisecond)
	ms := startCluster(t, n, 5)
	n.Kill(ms[4].peer)
	waitViews(t, ms[:4], ms[:4])
}

// TestMemberlistVirtualTime runs memberlist with its LAN timings (1 s
// probes, 30 s push-pull) inside a synctest bubble: memnet's timers and
// memberlist's own follow the fake clock, so seconds of protocol time cost
// milliseconds.
func TestMemberlistVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// memberlist.Shutdown does not wait for its goroutines: a probe
		// in progress keeps waiting on its timers. Registered first, this
		// cleanup runs last and lets the fake clock run until they are
		// done; otherwise the bubble ends with them blocked and synctest
		// reports a deadlock.
		t.Cleanup(func() { time.Sleep(time.Minute) })
		n := newNet(t, memnet.Config{})
		lan := memberlist.DefaultLANConfig()
		ms := startCluster(t, n, 5, func(c *memberlist.Config) {
			c.ProbeInterval, c.ProbeTimeout = lan.ProbeInterval, lan.ProbeTimeout
			c.GossipInterval, c.SuspicionMult = lan.GossipInterval, lan.SuspicionMult
			c.PushPullInterval, c.TCPTimeout = lan.PushPullInterval, lan.TCPTimeout
		})
		start := time.Now()
		n.Kill(ms[4].peer)
		waitViewsWithin(t, ms[:4], ms[:4], time.Minute)
		t.Logf("death noticed by all after %v of virtual time", time.Since(start))
	})
}

// TestMemberlistPartition splits five members 2|3 and heals the cut.
//
// memberlist does not reliably heal a partition by itself: once each side
// has declared the other dead, dead members are neither probed nor chosen
// for push-pull, and gossip reaches them only while broadcasts are still
// queued. A heal right after the split usually reconverges on leftover
// broadcasts; a split held a couple of seconds longer stays split until a
// dead entry is reaped (GossipToTheDeadTime) and someone pushes state
// again. So the test heals, then joins across the former cut, as a
// reconnect loop (serf's, or discovery's SyncWith) would.
func TestMemberlistPartition(t *testing.T) {
	n := newNet(t, memnet.Config{})
	ms := startCluster(t, n, 5)
	left, right := ms[:2], ms[2:]
	n.Partition(peers(left), peers(right))
	waitViews(t, left, left)
	waitViews(t, right, right)

	n.Heal()
	left[0].join(t, right[0])
	waitViews(t, ms, ms)
}

// TestMemberlistLeave checks that a graceful leave is seen as left rather
// than dead: memberlist lets a left member come back at a new address
// under the same name, which it refuses a dead one (see
// TestMemberlistRestartAfterCrash).
//
// The leaver keeps running until every other member has seen it go, as
// serf's LeavePropagateDelay does. Leave returns once its broadcast went
// out a few times (RetransmitMult), which may miss a member; shut down at
// once, the leaver would then fail that member's next probe and be
// recorded there as dead, and a later "left" never overrides "dead". Left
// running, it answers probes until push-pull brings the news.
func TestMemberlistLeave(t *testing.T) {
	n := newNet(t, memnet.Config{})
	ms := startCluster(t, n, 5)
	gone := ms[4]
	if err := gone.ml.Leave(waitLimit); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	waitViews(t, ms[:4], ms[:4])
	if err := gone.ml.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	back := startMember(t, n, gone.peer)
	back.join(t, ms[0])
	ms[4] = back
	waitViews(t, ms, ms)
}

// TestMemberlistRestartAfterCrash restarts a killed member under the same
// name. memnet gives it a new address, as a restarted process gets a new
// port, and memberlist refuses to re-address a dead member unless
// DeadNodeReclaimTime is set and has passed since the death.
func TestMemberlistRestartAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		name    string
		reclaim time.Duration
	}{
		{"refused by default", 0},
		{"accepted with DeadNodeReclaimTime", time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNet(t, memnet.Config{})
			ms := startCluster(t, n, 3, func(c *memberlist.Config) { c.DeadNodeReclaimTime = tc.reclaim })
			crashed := ms[2]
			n.Kill(crashed.peer)
			waitViews(t, ms[:2], ms[:2])
			crashed.ml.Shutdown()

			back := startMember(t, n, crashed.peer, func(c *memberlist.Config) { c.DeadNodeReclaimTime = tc.reclaim })
			back.join(t, ms[0])
			if tc.reclaim == 0 {
				select {
				case name := <-ms[0].conflicts:
					if name != crashed.peer.String() {
						t.Fatalf("conflict over %s, want %s", name, crashed.peer.Short())
					}
				case <-time.After(waitLimit):
					t.Fatal("no conflict reported")
				}
				if slices.Contains(ms[0].view(), crashed.peer.String()) {
					t.Fatal("the restarted member was accepted despite the conflict")
				}
				return
			}
			ms[2] = back
			waitViews(t, ms, ms)
		})
	}
}

func peers(ms []*member) []id.PeerID {
	var ps []id.PeerID
	for _, m := range ms {
		ps = append(ps, m.peer)
	}
	return ps
}

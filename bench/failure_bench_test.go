package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

// B12 failure/detect: how long a running group and the catalog take to
// notice that a member crashed, against the bound its configuration
// promises.
//
// A round starts detectNodes nodes on one in-memory network (package
// memnet, as the test kit's clusters), waits until every catalog lists
// every node, joins all of them to one group, and waits until the bonds
// form a full mesh and every member's replica runs with a leader. Then it
// kills the last node as testkit's Kill does: memnet.Network.Kill cuts it
// off (its links and gossip fall silent, no farewell gets out), then the
// node is closed. The clock starts just before the cut. Two figures come
// out of each kill:
//
//   - "bond": until every survivor's bond to the victim has closed with
//     30_408 (transport.CodeTimeout), the heartbeat machine's verdict.
//     The bound is the group's MaxMissedHeartbeats x HeartbeatInterval:
//     a bond is declared dead after that many silent heartbeat ticks, each
//     at most one interval long (jitter only shortens them). A survivor
//     whose tick fell just after the victim's last frame waits up to one
//     more tick, so the worst case is 1.1 x the bound at 10 ticks: the
//     goal.
//   - "catalog": until every survivor's catalog has published a
//     PeerDeparted for the victim with reason DepartedDead, the verdict of
//     memberlist's failure detection. The bound is
//     [catalogDetectBound]'s.
//
// There is no baseline run: the baseline figure of each pair is the
// configured bound, so the ratio is measured/bound. The in-memory
// network's link idle timeout is quicnet's default, as on real links, so
// it can never preempt the heartbeats. Group state is in memory.

// detectNodes is the size of B12's cluster and group.
const detectNodes = 3

// detectTimeout bounds one round, the default profile's group bootstrap
// and 5-7 s of detection included.
const detectTimeout = 2 * time.Minute

// detectRun numbers rounds so that each has its own network name.
var detectRun atomic.Uint64

// detectProfile is the discovery profile of a round's nodes with the
// consensus profile of its group.
type detectProfile struct {
	name      string
	discovery func() discovery.Config
	consensus func() groups.ConsensusConfig
}

var detectProfiles = []detectProfile{
	{"fast", discovery.FastConfig, groups.FastConsensus},
	{"default", discovery.DefaultConfig, groups.DefaultConsensus},
}

// bondDetectBound is the configured bound on noticing a silent bond:
// MaxMissedHeartbeats ticks of at most HeartbeatInterval each.
func bondDetectBound(c groups.ConsensusConfig) time.Duration {
	c = c.WithDefaults()
	return time.Duration(c.MaxMissedHeartbeats) * c.HeartbeatInterval
}

// catalogDetectBound is memberlist's nominal time, for the profile d and
// a cluster of n nodes, until every survivor has declared a crashed node
// dead. Each node probes the others in turn, one per ProbeInterval, so a
// survivor reaches the victim within n-1 intervals, and the failed probe
// (direct, then indirect through the others) lasts one more. The first
// survivor to fail then suspects the victim for the suspicion timeout,
// SuspicionMult x max(1, log10 n) x ProbeInterval; memberlist stretches
// that up to six times while it expects confirmations (n > 2) and shrinks
// it back once the other survivors' own failed probes confirm, which
// happens within the same n intervals. Whoever declares the victim dead
// gossips it, and the rest follow within a gossip interval or two, which
// the bound leaves out.
func catalogDetectBound(d discovery.Config, n int) time.Duration {
	d = d.WithDefaults()
	scale := math.Max(1, math.Log10(float64(n)))
	suspicion := time.Duration(float64(d.SuspicionMult) * scale * float64(d.ProbeInterval))
	return time.Duration(n)*d.ProbeInterval + suspicion
}

// detectFigures is what one kill measured.
type detectFigures struct {
	bond, catalog time.Duration
}

// detectCluster is one round's nodes and their group handles.
type detectCluster struct {
	net   *memnet.Network
	nodes []*cluster.Node
	grps  []*cluster.Group
}

// startDetectCluster starts n nodes with profile p on a new in-memory
// network, each bootstrapped from the first, and joins them all to one
// group. It returns once the catalogs are complete, the bonds form a full
// mesh and every member has a running replica with a leader. On error it
// closes what it started.
func startDetectCluster(ctx context.Context, p detectProfile, n int) (_ *detectCluster, err error) {
	c := &detectCluster{net: memnet.New(memnet.Config{IdleTimeout: quicnet.DefaultIdleTimeout})}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.close())
		}
	}()
	network := "bench-detect-" + strconv.FormatUint(detectRun.Add(1), 10)
	for i := range n {
		node, err := c.start(ctx, network, p.discovery())
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, node)
	}
	complete := func(s *discovery.Snapshot) bool { return s.Len() >= n }
	for i, node := range c.nodes {
		if err := node.WaitCatalog(ctx, complete); err != nil {
			return nil, fmt.Errorf("node %d: catalog: %w", i, err)
		}
	}
	cfg := cluster.GroupConfig{Key: groups.NewKey(), Consensus: p.consensus(), Machine: statemachine.NoOpMachine}
	for i, node := range c.nodes {
		g, err := node.Join(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("node %d: join: %w", i, err)
		}
		c.grps = append(c.grps, g)
	}
	if err := testkit.WaitMesh(ctx, c.grps); err != nil {
		return nil, err
	}
	for i, g := range c.grps {
		if _, err := g.WaitConsensus(ctx, actors.Consensus.Online); err != nil {
			return nil, fmt.Errorf("node %d: consensus: %w", i, err)
		}
	}
	return c, nil
}

// start starts one node on c's network, bootstrapped from the first node
// if there is one.
func (c *detectCluster) start(ctx context.Context, network string, profile discovery.Config) (*cluster.Node, error) {
	key := id.NewSecretKey()
	ep, err := c.net.Listen(key, memnet.EndpointConfig{})
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	gt, err := c.net.Gossip(key.PeerID())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("gossip: %w", err), ep.Close())
	}
	cfg := cluster.Config{
		Network: network, Key: key, Discovery: profile, DataDir: cluster.InMemory,
		Endpoint: ep, GossipTransport: gt,
	}
	if len(c.nodes) > 0 {
		cfg.Bootstrap = []string{c.nodes[0].GossipAddr()}
	}
	node, err := cluster.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	return node, nil
}

// kill crashes node i, as testkit.Cluster.Kill does, and measures how long
// the survivors take to notice. It returns the figures once every
// survivor's bond to the victim closed and every survivor's catalog
// dropped it, each for the expected reason. The victim is closed and
// removed from c.nodes.
func (c *detectCluster) kill(ctx context.Context, i int) (detectFigures, error) {
	victim := c.nodes[i]
	peer := victim.PeerID()
	var bondSubs []*feed.Subscription[cluster.BondEvent]
	var catalogSubs []*feed.Subscription[discovery.Event]
	for j := range c.nodes {
		if j != i {
			bondSubs = append(bondSubs, c.grps[j].Subscribe())
			catalogSubs = append(catalogSubs, c.nodes[j].Subscribe())
		}
	}
	noticed := make([]time.Time, len(bondSubs)+len(catalogSubs))
	errs := make([]error, len(noticed))
	var wg sync.WaitGroup
	for j, sub := range bondSubs {
		wg.Go(func() {
			defer sub.Close()
			noticed[j], errs[j] = awaitBondTimeout(ctx, sub, peer)
		})
	}
	for j, sub := range catalogSubs {
		k := len(bondSubs) + j
		wg.Go(func() {
			defer sub.Close()
			noticed[k], errs[k] = awaitDeadInCatalog(ctx, sub, peer)
		})
	}

	t0 := time.Now()
	c.net.Kill(peer)
	// Cut off, the node closes without being heard (a farewell that runs
	// out of time is counted, as in closeBondNodes); the survivors'
	// waiters keep their own times meanwhile.
	closeErr := closeBondNodes(victim)
	c.nodes = append(c.nodes[:i], c.nodes[i+1:]...)
	c.grps = append(c.grps[:i], c.grps[i+1:]...)
	wg.Wait()
	if err := errors.Join(append(errs, closeErr)...); err != nil {
		return detectFigures{}, err
	}
	last := func(ts []time.Time) time.Duration {
		var d time.Duration
		for _, t := range ts {
			d = max(d, t.Sub(t0))
		}
		return d
	}
	return detectFigures{bond: last(noticed[:len(bondSubs)]), catalog: last(noticed[len(bondSubs):])}, nil
}

// awaitBondTimeout waits for the bond with peer to go down and returns
// when it did; a bond that ended for another reason than the heartbeat
// timeout is an error, since it was not failure detection that ended it.
func awaitBondTimeout(ctx context.Context, sub *feed.Subscription[cluster.BondEvent], peer id.PeerID) (time.Time, error) {
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("waiting for the bond with %s to time out: %w", peer.Short(), err)
		}
		if ev.Peer != peer || ev.Up {
			continue
		}
		at := time.Now()
		if code, ok := transport.CodeOf(ev.Err); !ok || code != transport.CodeTimeout {
			return time.Time{}, fmt.Errorf("bond with %s ended with %v, want close code %d", peer.Short(), ev.Err, transport.CodeTimeout)
		}
		return at, nil
	}
}

// awaitDeadInCatalog waits for the catalog to drop peer and returns when
// it did; a departure for another reason than failure detection is an
// error.
func awaitDeadInCatalog(ctx context.Context, sub *feed.Subscription[discovery.Event], peer id.PeerID) (time.Time, error) {
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return time.Time{}, fmt.Errorf("waiting for the catalog to drop %s: %w", peer.Short(), err)
		}
		d, ok := ev.(discovery.PeerDeparted)
		if !ok || d.Entry.Peer != peer {
			continue
		}
		at := time.Now()
		if d.Reason != discovery.DepartedDead {
			return time.Time{}, fmt.Errorf("catalog dropped %s as %v, want %v", peer.Short(), d.Reason, discovery.DepartedDead)
		}
		return at, nil
	}
}

// close closes the remaining nodes, then the network.
func (c *detectCluster) close() error {
	err := closeBondNodes(c.nodes...)
	return errors.Join(err, c.net.Close())
}

// detectOnce is one B12 round with profile p: start, kill, close.
func detectOnce(ctx context.Context, p detectProfile) (_ detectFigures, err error) {
	ctx, cancel := context.WithTimeout(ctx, detectTimeout)
	defer cancel()
	c, err := startDetectCluster(ctx, p, detectNodes)
	if err != nil {
		return detectFigures{}, err
	}
	defer func() { err = errors.Join(err, c.close()) }()
	return c.kill(ctx, detectNodes-1)
}

func detectSpec(variant, baseline string) Spec {
	return Spec{
		ID:       "B12",
		Name:     "failure/detect",
		Variant:  variant,
		Baseline: baseline,
		Unit:     "ms",
		Goal:     "<= 1.1",
		Fsync:    "n/a",
	}
}

// detectRound runs one B12 round with profile p and returns its bond and
// catalog pairs, each figure against its bound.
func detectRound(ctx context.Context, p detectProfile) (bond, catalog Pair, err error) {
	var f detectFigures
	err = RunAlone(ctx, func(ctx context.Context) error {
		var err error
		f, err = detectOnce(ctx, p)
		return err
	})
	if err != nil {
		return Pair{}, Pair{}, err
	}
	bond = Pair{Ours: Millis(f.bond), Base: Millis(bondDetectBound(p.consensus()))}
	catalog = Pair{Ours: Millis(f.catalog), Base: Millis(catalogDetectBound(p.discovery(), detectNodes))}
	return bond, catalog, nil
}

// detectResults summarizes one profile's pairs as B12's two lines.
func detectResults(p detectProfile, bond, catalog []Pair) (bondResult, catalogResult Result) {
	cons, disc := p.consensus().WithDefaults(), p.discovery().WithDefaults()
	bondBase := fmt.Sprintf("MaxMissedHeartbeats x HeartbeatInterval (%d x %v)", cons.MaxMissedHeartbeats, cons.HeartbeatInterval)
	catalogBase := fmt.Sprintf("memberlist's nominal detection, %d nodes: n x ProbeInterval + SuspicionMult x ProbeInterval (%v)",
		detectNodes, catalogDetectBound(disc, detectNodes))
	return Summarize(detectSpec("bond/"+p.name, bondBase), bond),
		Summarize(detectSpec("catalog/"+p.name, catalogBase), catalog)
}

// BenchmarkFailureDetect is B12. Each b.Loop iteration is one round (one
// cluster, one kill), which gives both the bond and the catalog figure,
// so -benchtime Nx runs N rounds per profile. ns/op is the wall time of a
// whole round; read the metrics of the two lines in the summary instead
// (the benchmark reports the bond line's).
func BenchmarkFailureDetect(b *testing.B) {
	for _, p := range detectProfiles {
		b.Run(p.name, func(b *testing.B) {
			var bond, catalog []Pair
			for round := 0; b.Loop(); round++ {
				bp, cp, err := detectRound(context.Background(), p)
				if err != nil {
					b.Fatalf("round %d: %v", round, err)
				}
				b.Logf("round %d: bond %.0f ms (ratio %.3f), catalog %.0f ms (ratio %.3f)", round, bp.Ours, bp.Ratio(), cp.Ours, cp.Ratio())
				bond, catalog = append(bond, bp), append(catalog, cp)
			}
			br, cr := detectResults(p, bond, catalog)
			br.Report(b)
			b.ReportMetric(cr.Ratio, "catalog-ratio")
			b.Log(br)
			b.Log(cr)
			results.Add(br)
			results.Add(cr)
		})
	}
}

// TestFailureDetectSmoke runs one B12 round on the fast profiles, so that
// the benchmark's machinery keeps working. It checks that a killed member
// is noticed by heartbeat timeout and by memberlist's verdict, never how
// fast.
func TestFailureDetectSmoke(t *testing.T) {
	p := detectProfiles[0]
	bp, cp, err := detectRound(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	br, cr := detectResults(p, []Pair{bp}, []Pair{cp})
	for _, r := range []Result{br, cr} {
		if !(r.Ratio > 0) || math.IsInf(r.Ratio, 0) {
			t.Fatalf("%s: ratio %v, want a positive finite number", r.Variant, r.Ratio)
		}
		t.Log(r)
	}
}

// TestDetectBounds checks the configured bounds B12 compares with.
func TestDetectBounds(t *testing.T) {
	tests := []struct {
		name    string
		got     time.Duration
		want    time.Duration
		formula string
	}{
		{"bond fast", bondDetectBound(groups.FastConsensus()), time.Second, "10 x 100 ms"},
		{"bond default", bondDetectBound(groups.DefaultConsensus()), 5 * time.Second, "10 x 500 ms"},
		{"bond zero", bondDetectBound(groups.ConsensusConfig{}), 5 * time.Second, "defaults"},
		{"catalog fast, 3 nodes", catalogDetectBound(discovery.FastConfig(), 3), 1200 * time.Millisecond, "3 x 200 ms + 3 x 200 ms"},
		{"catalog default, 3 nodes", catalogDetectBound(discovery.DefaultConfig(), 3), 7 * time.Second, "3 x 1 s + 4 x 1 s"},
		{"catalog default, 100 nodes", catalogDetectBound(discovery.DefaultConfig(), 100), 108 * time.Second, "100 x 1 s + 4 x 2 x 1 s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v (%s)", tt.name, tt.got, tt.want, tt.formula)
		}
	}
}

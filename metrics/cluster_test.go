package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/testkit"
)

// TestClusterMetricsFollowTheNodes runs three in-memory nodes, the first
// two serving their metrics over HTTP and the third only keeping them,
// forms a group, commits commands, then kills the third node, checking at
// each step that the metrics say what the nodes know.
func TestClusterMetricsFollowTheNodes(t *testing.T) {
	const size = 3
	const killed = size - 1
	c := testkit.NewCluster(t, size, testkit.Options{Configure: func(i int, cfg *cluster.Config) {
		if i != killed {
			cfg.MetricsAddr = "127.0.0.1:0"
		}
	}})
	ctx := testkit.Context(t)
	if got := c.Node(killed).MetricsAddr(); got != "" {
		t.Fatalf("node without MetricsAddr listens on %q", got)
	}
	// wait reads a node's metrics as an operator would, scraped over HTTP
	// where it serves them, from its registry otherwise, until check passes.
	wait := func(i int, check func(families) error) {
		t.Helper()
		n := c.Node(i)
		if addr := n.MetricsAddr(); addr != "" {
			waitScrape(t, ctx, addr, check)
		} else {
			waitGather(t, ctx, n.Metrics(), check)
		}
	}

	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := cluster.GroupConfig{Key: groups.KeyFromSecret("metrics"), Consensus: groups.FastConsensus(), Machine: statemachine.NoOpMachine}
	gs := c.JoinAll(cfg)
	if err := testkit.WaitMesh(ctx, gs); err != nil {
		t.Fatal(err)
	}
	group := []string{"group", gs[0].ID().Short()}
	var last uint64
	for i := range 5 {
		// Any member may propose; followers forward to the leader.
		idx, err := proposeWhenOnline(ctx, gs[i%size], []byte(fmt.Sprint("tick ", i)))
		if err != nil {
			t.Fatalf("propose %d: %v", i, err)
		}
		last = max(last, idx)
	}
	for i := range size {
		wait(i, func(f families) error {
			e := newExpect(f)
			e.eq(size, "mosaik_discovery_catalog_size")
			e.atLeast(size-1, "mosaik_discovery_peers_discovered_total")
			e.eq(1, "mosaik_groups_active")
			e.eq(size-1, "mosaik_groups_bonds_active", group...)
			e.atLeast(float64(last), "mosaik_groups_raft_committed", group...)
			e.atLeast(1, "mosaik_groups_raft_elections_total", group...)
			e.atLeast(1, "mosaik_groups_raft_leader_changes_total", group...)
			e.atLeast(1, "mosaik_groups_bonds_bytes_sent_total", group...)
			e.atLeast(1, "mosaik_groups_bonds_bytes_received_total", group...)
			e.atLeast(1, "mosaik_groups_bonds_messages_sent_total", group...)
			e.atLeast(1, "mosaik_network_egress_bytes_total")
			e.atLeast(1, "mosaik_network_ingress_bytes_total")
			return e.err()
		})
	}
	// The leader reports the committee once all three vote.
	waitLeaderReports(t, ctx, c, gs, wait, group, size)

	before := map[int]float64{}
	for i := range killed {
		f, err := scrape(ctx, c.Node(i).MetricsAddr())
		if err != nil {
			t.Fatal(err)
		}
		before[i], _ = f.value("mosaik_discovery_peers_departed_total", "reason", "dead")
	}
	c.Kill(killed)
	for i := range killed {
		wait(i, func(f families) error {
			e := newExpect(f)
			e.eq(size-1, "mosaik_discovery_catalog_size")
			e.atLeast(before[i]+1, "mosaik_discovery_peers_departed_total", "reason", "dead")
			e.eq(size-2, "mosaik_groups_bonds_active", group...)
			return e.err()
		})
	}
}

// proposeWhenOnline proposes cmd once the member's group is online.
func proposeWhenOnline(ctx context.Context, g *cluster.Group, cmd []byte) (uint64, error) {
	if _, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Online() }); err != nil {
		return 0, err
	}
	return g.Propose(ctx, cmd)
}

// waitLeaderReports waits until the member that leads with a full
// committee reports it, and every other member reports none. Leadership
// may move meanwhile, so the leader is looked up again on every try.
func waitLeaderReports(t *testing.T, ctx context.Context, c *testkit.Cluster, gs []*cluster.Group, wait func(int, func(families) error), group []string, voters int) {
	t.Helper()
	leader := -1
	for i, g := range gs {
		if _, err := g.WaitConsensus(ctx, func(cs actors.Consensus) bool { return cs.Online() }); err != nil {
			t.Fatal(err)
		}
		if g.Consensus().Leader == c.Node(i).PeerID() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no member leads")
	}
	if _, err := gs[leader].WaitConsensus(ctx, func(cs actors.Consensus) bool { return cs.Voters == voters }); err != nil {
		t.Fatalf("leader never had %d voters: %v", voters, err)
	}
	for i := range gs {
		wait(i, func(f families) error {
			e := newExpect(f)
			if gs[i].Consensus().Leader == c.Node(i).PeerID() {
				e.eq(float64(voters), "mosaik_groups_raft_committee_voters", group...)
				e.eq(0, "mosaik_groups_raft_committee_non_voters", group...)
			} else {
				e.eq(0, "mosaik_groups_raft_committee_voters", group...)
			}
			return e.err()
		})
	}
}

// TestStartFailsOnBusyMetricsAddr: a listener that cannot bind stops
// Start, which leaves nothing running behind it.
func TestStartFailsOnBusyMetricsAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx := testkit.Context(t)
	n, err := cluster.Start(ctx, cluster.Config{Network: "metrics-busy", DataDir: cluster.InMemory, MetricsAddr: busy.Addr().String()})
	if err == nil {
		n.Close(ctx)
		t.Fatal("Start succeeded on a busy metrics address")
	}
	if !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("error %q does not name the metrics listener", err)
	}
	_, err = cluster.Start(ctx, cluster.Config{Network: "metrics-bad", DataDir: cluster.InMemory, MetricsAddr: "no port"})
	if !errors.Is(err, cluster.ErrInvalidConfig) || !strings.Contains(err.Error(), "MetricsAddr") {
		t.Fatalf("Start with MetricsAddr %q: %v, want ErrInvalidConfig naming MetricsAddr", "no port", err)
	}
}

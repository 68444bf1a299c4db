package metrics_test

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/metrics"
)

// allNames are every family a node exports once it has joined a group.
var allNames = []string{
	"mosaik_discovery_catalog_size",
	"mosaik_discovery_peers_discovered_total",
	"mosaik_discovery_peers_updated_total",
	"mosaik_discovery_peers_departed_total",
	"mosaik_discovery_entries_rejected_total",
	"mosaik_discovery_catalog_refused_total",
	"mosaik_discovery_sync_capped_total",
	"mosaik_discovery_inputs_shed_total",
	"mosaik_discovery_syncs_refused_total",
	"mosaik_discovery_syncs_busy_total",
	"mosaik_groups_active",
	"mosaik_groups_raft_elections_total",
	"mosaik_groups_raft_leader_changes_total",
	"mosaik_groups_raft_committed",
	"mosaik_groups_raft_committee_voters",
	"mosaik_groups_raft_committee_non_voters",
	"mosaik_groups_bonds_active",
	"mosaik_groups_bonds_bytes_sent_total",
	"mosaik_groups_bonds_bytes_received_total",
	"mosaik_groups_bonds_messages_sent_total",
	"mosaik_groups_bonds_messages_received_total",
	"mosaik_groups_bonds_messages_dropped_total",
	"mosaik_groups_rival_merges_total",
	"mosaik_groups_rival_discarded_entries_total",
	"mosaik_discovery_seeds_unreachable",
	"mosaik_discovery_catalog_syncs_total",
	"mosaik_discovery_gossip_neighbors",
	"mosaik_groups_raft_committee_size",
	"mosaik_network_connections_opened_total",
	"mosaik_network_egress_bytes_total",
	"mosaik_network_ingress_bytes_total",
	"mosaik_network_connections_refused_total",
	"mosaik_network_first_frame_timeouts_total",
	"mosaik_network_first_frames_oversized_total",
}

func TestNodeExportsEveryMetricAndPassesLint(t *testing.T) {
	n := metrics.New()
	n.Group("a1b2c3")
	f := gather(t, n.Registry())
	names := slices.Sorted(maps.Keys(f))
	want := slices.Sorted(slices.Values(allNames))
	if !slices.Equal(names, want) {
		t.Fatalf("families:\n%v\nwant:\n%v", names, want)
	}
	problems, err := promlint.NewWithMetricFamilies(slices.Collect(maps.Values(f))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestDocsListEveryMetric keeps docs/metrics.md in step with the code.
func TestDocsListEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range allNames {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/metrics.md does not list %s", name)
		}
	}
	// And nothing that does not exist. The collections package registers
	// its own series; cluster's TestMetricsTableMatchesRunningNode checks
	// those against a running node.
	for _, m := range regexp.MustCompile("`(mosaik_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		if strings.HasPrefix(m[1], "mosaik_collections_") {
			continue
		}
		if !slices.Contains(allNames, m[1]) && !slices.Contains(streamNames, m[1]) {
			t.Errorf("docs/metrics.md lists %s, which no node exports", m[1])
		}
	}
}

func TestObserveCatalogCountsEventsByKind(t *testing.T) {
	n := metrics.New()
	n.ObserveCatalog(3, []discovery.Event{
		discovery.PeerDiscovered{}, discovery.PeerDiscovered{}, discovery.PeerUpdated{},
	})
	n.ObserveCatalog(2, []discovery.Event{
		discovery.PeerDeparted{Reason: discovery.DepartedDead},
		discovery.PeerDeparted{Reason: discovery.DepartedLeft},
		discovery.PeerDeparted{Reason: discovery.DepartedDead},
	})
	n.ObserveCatalog(2, nil) // a republish without events changes nothing
	e := newExpect(gather(t, n.Registry()))
	e.eq(2, "mosaik_discovery_catalog_size")
	e.eq(2, "mosaik_discovery_peers_discovered_total")
	e.eq(1, "mosaik_discovery_peers_updated_total")
	e.eq(2, "mosaik_discovery_peers_departed_total", "reason", "dead")
	e.eq(1, "mosaik_discovery_peers_departed_total", "reason", "left")
	e.eq(0, "mosaik_discovery_peers_departed_total", "reason", "stale")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}
}

func TestReadRejectedReadsAtScrape(t *testing.T) {
	n := metrics.New()
	e := newExpect(gather(t, n.Registry()))
	e.eq(0, "mosaik_discovery_entries_rejected_total")
	var rejected uint64
	n.ReadRejected(func() uint64 { return rejected })
	rejected = 5
	e = newExpect(gather(t, n.Registry()))
	e.eq(5, "mosaik_discovery_entries_rejected_total")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}
}

func TestGroupSeriesAreLabelledAndForgotten(t *testing.T) {
	n := metrics.New()
	n.SetGroupsActive(2)
	g, other := n.Group("g1"), n.Group("g2")
	g.SetCommitted(10)
	g.SetBonds(2)
	g.BondSent(100)
	g.BondSent(50)
	g.BondReceived(70)
	g.BondDropped()
	g.RivalLost(4)
	g.RivalLost(3)
	g.ObserveLeader(1, 7, true)
	g.SetCommittee(3, 1)
	other.SetBonds(1)

	e := newExpect(gather(t, n.Registry()))
	e.eq(2, "mosaik_groups_active")
	e.eq(10, "mosaik_groups_raft_committed", "group", "g1")
	e.eq(2, "mosaik_groups_bonds_active", "group", "g1")
	e.eq(1, "mosaik_groups_bonds_active", "group", "g2")
	e.eq(150, "mosaik_groups_bonds_bytes_sent_total", "group", "g1")
	e.eq(2, "mosaik_groups_bonds_messages_sent_total", "group", "g1")
	e.eq(70, "mosaik_groups_bonds_bytes_received_total", "group", "g1")
	e.eq(1, "mosaik_groups_bonds_messages_received_total", "group", "g1")
	e.eq(1, "mosaik_groups_bonds_messages_dropped_total", "group", "g1")
	e.eq(2, "mosaik_groups_rival_merges_total", "group", "g1")
	e.eq(7, "mosaik_groups_rival_discarded_entries_total", "group", "g1")
	e.eq(1, "mosaik_groups_raft_elections_total", "group", "g1")
	e.eq(1, "mosaik_groups_raft_leader_changes_total", "group", "g1")
	e.eq(3, "mosaik_groups_raft_committee_voters", "group", "g1")
	e.eq(1, "mosaik_groups_raft_committee_non_voters", "group", "g1")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}

	// Another member wins the next term: the committee is no longer ours
	// to report.
	g.ObserveLeader(2, 9, false)
	e = newExpect(gather(t, n.Registry()))
	e.eq(2, "mosaik_groups_raft_elections_total", "group", "g1")
	e.eq(2, "mosaik_groups_raft_leader_changes_total", "group", "g1")
	e.eq(0, "mosaik_groups_raft_committee_voters", "group", "g1")
	e.eq(0, "mosaik_groups_raft_committee_non_voters", "group", "g1")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}

	g.Forget()
	g.SetCommitted(11) // a late callback after leaving goes nowhere
	e = newExpect(gather(t, n.Registry()))
	for _, name := range allNames {
		if strings.HasPrefix(name, "mosaik_groups_") && name != "mosaik_groups_active" {
			e.absent(name, "group", "g1")
		}
	}
	e.eq(1, "mosaik_groups_bonds_active", "group", "g2")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}

	// Joining again starts from zero.
	n.Group("g1")
	e = newExpect(gather(t, n.Registry()))
	e.eq(0, "mosaik_groups_raft_committed", "group", "g1")
	e.eq(0, "mosaik_groups_bonds_bytes_sent_total", "group", "g1")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}
}

// TestNodesAreIndependent: several nodes live in one process; each has
// its own registry, so neither registration nor values collide.
func TestNodesAreIndependent(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.SetGroupsActive(3)
	a.Group("g").SetBonds(4)
	b.Group("g")
	ea, eb := newExpect(gather(t, a.Registry())), newExpect(gather(t, b.Registry()))
	ea.eq(3, "mosaik_groups_active")
	ea.eq(4, "mosaik_groups_bonds_active", "group", "g")
	eb.eq(0, "mosaik_groups_active")
	eb.eq(0, "mosaik_groups_bonds_active", "group", "g")
	if err := ea.err(); err != nil {
		t.Fatal(err)
	}
	if err := eb.err(); err != nil {
		t.Fatal(err)
	}
}

// TestNilRecordsNothing: components started without metrics call the
// same methods on nil.
func TestNilRecordsNothing(t *testing.T) {
	var n *metrics.Node
	n.ObserveCatalog(1, []discovery.Event{discovery.PeerDiscovered{}})
	n.ReadRejected(func() uint64 { return 1 })
	n.SetGroupsActive(1)
	if n.Registry() != nil {
		t.Fatal("nil node has a registry")
	}
	g := n.Group("g")
	if g != nil {
		t.Fatal("nil node made a group")
	}
	g.SetCommitted(1)
	g.ObserveLeader(1, 1, true)
	g.SetCommittee(1, 1)
	g.SetBonds(1)
	g.BondSent(1)
	g.BondReceived(1)
	g.BondDropped()
	g.RivalLost(1)
	g.Forget()
	if ep := n.CountTraffic(nil); ep != nil {
		t.Fatalf("nil node wrapped the endpoint: %T", ep)
	}
}

func TestBoundCountersReadAtScrape(t *testing.T) {
	n := metrics.New()
	e := newExpect(gather(t, n.Registry()))
	e.eq(0, "mosaik_discovery_inputs_shed_total")
	e.eq(0, "mosaik_network_connections_refused_total", "limit", "per_ip")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}
	var shed, perIP, total uint64
	n.ReadDiscoveryBounds(metrics.DiscoveryBounds{InputsShed: func() uint64 { return shed }})
	n.ReadTransportBounds(metrics.TransportBounds{
		RefusedTotal: func() uint64 { return total },
		RefusedPerIP: func() uint64 { return perIP },
	})
	shed, perIP, total = 3, 7, 1
	e = newExpect(gather(t, n.Registry()))
	e.eq(3, "mosaik_discovery_inputs_shed_total")
	e.eq(0, "mosaik_discovery_catalog_refused_total") // no func: zero
	e.eq(7, "mosaik_network_connections_refused_total", "limit", "per_ip")
	e.eq(1, "mosaik_network_connections_refused_total", "limit", "total")
	if err := e.err(); err != nil {
		t.Fatal(err)
	}
}

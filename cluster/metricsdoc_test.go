package cluster_test

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/mosaikgo/mosaik/collections"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/streams"
	"github.com/mosaikgo/mosaik/testkit"
)

// referenceMetrics are the reference implementation's series, dots turned
// into underscores, counters with _total.
var referenceMetrics = []string{
	"mosaik_discovery_catalog_size", "mosaik_discovery_peers_discovered_total",
	"mosaik_discovery_peers_updated_total", "mosaik_discovery_peers_departed_total",
	"mosaik_discovery_catalog_syncs_total", "mosaik_discovery_gossip_neighbors",
	"mosaik_groups_active", "mosaik_groups_raft_elections_total", "mosaik_groups_raft_leader_changes_total",
	"mosaik_groups_raft_committed", "mosaik_groups_raft_committee_voters",
	"mosaik_groups_raft_committee_non_voters", "mosaik_groups_raft_committee_size",
	"mosaik_groups_bonds_active", "mosaik_groups_bonds_bytes_sent_total",
	"mosaik_groups_bonds_bytes_received_total", "mosaik_groups_bonds_messages_sent_total",
	"mosaik_groups_bonds_messages_received_total", "mosaik_network_connections_opened_total",
	"mosaik_network_egress_bytes_total", "mosaik_network_ingress_bytes_total",
	"mosaik_streams_producers_active", "mosaik_streams_producer_consumers",
	"mosaik_streams_producer_consumers_accepted_total", "mosaik_streams_producer_consumers_rejected_total",
	"mosaik_streams_producer_items_sent_total", "mosaik_streams_producer_bytes_sent_total",
	"mosaik_streams_producer_items_dropped_total", "mosaik_streams_connections_accepted_total",
	"mosaik_streams_connections_rejected_total", "mosaik_streams_consumers_active",
	"mosaik_streams_consumer_producers", "mosaik_streams_consumer_items_received_total",
	"mosaik_streams_consumer_bytes_received_total", "mosaik_streams_datums_total", "mosaik_streams_bytes_total",
	"mosaik_collections_map_size", "mosaik_collections_syncs_started",
}

// appearsOnUse are documented series a node exports only once it holds a
// collection of that kind; the test holds a Map only.
var appearsOnUse = []string{
	"mosaik_collections_vec_size", "mosaik_collections_set_size", "mosaik_collections_cell_size",
	"mosaik_collections_once_size", "mosaik_collections_depq_size",
}

// TestMetricsTableMatchesRunningNode: the names in docs/metrics.md's
// tables are exactly those a running node in a group exports, the
// reference's list included, each with the network label.
func TestMetricsTableMatchesRunningNode(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(mosaik_[a-z_]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented = append(documented, m[1])
	}
	c := testkit.NewCluster(t, 2, testkit.Options{})
	ctx := testkit.Context(t)
	gs := c.JoinAll(groupConfig("metrics-doc"))
	if _, err := testkit.WaitLeader(ctx, gs); err != nil {
		t.Fatal(err)
	}
	// A stream and a collection, so that their families are exported too.
	sd := streams.Def[string]{Name: "metrics-doc", Codec: statemachine.JSON[string]()}
	if _, err := streams.Produce(ctx, c.Node(0), sd); err != nil {
		t.Fatal(err)
	}
	m, err := collections.NewMapWriter[string, int](ctx, c.Node(0), collections.Def{Store: id.Of("metrics-doc")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	mfs, err := c.Node(0).Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	network := c.Node(0).NetworkID().Short()
	var exported []string
	for _, mf := range mfs {
		exported = append(exported, mf.GetName())
		for _, m := range mf.GetMetric() {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == "network" && l.GetValue() == network)
			}
			if !found {
				t.Errorf("%s: a series without network=%s", mf.GetName(), network)
			}
		}
	}
	documented = slices.DeleteFunc(documented, func(n string) bool { return slices.Contains(appearsOnUse, n) })
	slices.Sort(documented)
	slices.Sort(exported)
	if !slices.Equal(documented, exported) {
		t.Errorf("docs/metrics.md lists\n%v\na running node exports\n%v", documented, exported)
	}
	for _, name := range referenceMetrics {
		if !slices.Contains(exported, name) {
			t.Errorf("reference series %s missing", name)
		}
	}
}

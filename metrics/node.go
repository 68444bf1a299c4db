package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mosaikgo/mosaik/discovery"
)

// groupLabel names the label that carries a group id's short form.
const groupLabel = "group"

// networkLabel names the label that carries the network id's short form.
const networkLabel = "network"

// Node is one node's metrics, registered in the node's own registry. Its
// methods are safe for concurrent use and do nothing on a nil *Node.
type Node struct {
	registry *prometheus.Registry

	catalogSize  prometheus.Gauge
	discovered   prometheus.Counter
	updated      prometheus.Counter
	departed     *prometheus.CounterVec // by reason
	readRejected atomic.Pointer[func() uint64]
	readSyncs    atomic.Pointer[func() uint64]
	readNeighbrs atomic.Pointer[func() int]
	netOpened    prometheus.Counter
	groupsActive prometheus.Gauge
	seedsDown    prometheus.Gauge
	netBytesSent prometheus.Counter
	netBytesRecv prometheus.Counter
	groups       groupVecs
	bounds       boundCounters
}

// groupVecs are the metric families labelled by group.
type groupVecs struct {
	elections       *prometheus.CounterVec
	leaderChanges   *prometheus.CounterVec
	committed       *prometheus.GaugeVec
	voters          *prometheus.GaugeVec
	nonVoting       *prometheus.GaugeVec
	committeeSize   *prometheus.GaugeVec
	bondsActive     *prometheus.GaugeVec
	bondBytesSent   *prometheus.CounterVec
	bondBytesRecv   *prometheus.CounterVec
	bondMsgsSent    *prometheus.CounterVec
	bondMsgsRecv    *prometheus.CounterVec
	bondMsgsDropped *prometheus.CounterVec
	rivalMerges     *prometheus.CounterVec
	rivalDiscarded  *prometheus.CounterVec
}

// New creates a node's metrics in a fresh registry, without a network
// label.
func New() *Node { return NewNetwork("") }

// NewNetwork creates a node's metrics in a fresh registry; every series
// carries network=<network> (the network id's short form) unless network
// is empty.
func NewNetwork(network string) *Node {
	n := &Node{registry: prometheus.NewRegistry()}
	var reg prometheus.Registerer = n.registry
	if network != "" {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{networkLabel: network}, n.registry)
	}
	n.catalogSize = gauge("discovery", "catalog_size", "Entries in the node's catalog, its own included.")
	n.discovered = counter("discovery", "peers_discovered_total", "Peers that entered the catalog, first seen or back after departing.")
	n.updated = counter("discovery", "peers_updated_total", "Newer entries of peers already in the catalog.")
	n.departed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "mosaik", Subsystem: "discovery", Name: "peers_departed_total",
		Help: "Peers that left the catalog, by reason: left (announced), dead (failure detection) or stale (never confirmed alive).",
	}, []string{"reason"})
	for _, r := range []discovery.DepartReason{discovery.DepartedLeft, discovery.DepartedDead, discovery.DepartedStale} {
		n.departed.WithLabelValues(r.String()) // present from the start, at zero
	}
	rejected := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "mosaik", Subsystem: "discovery", Name: "entries_rejected_total",
		Help: "Entries, heads and payloads that failed validation (bad signature, other network, malformed).",
	}, n.rejected)
	n.groupsActive = gauge("groups", "active", "Groups this node has joined.")
	n.seedsDown = gauge("discovery", "seeds_unreachable", "Bootstrap seeds not reached within Config.SeedTimeout and not reached since.")
	n.netBytesSent = counter("network", "egress_bytes_total", "Payload bytes of the frames this node's transport links sent.")
	n.netBytesRecv = counter("network", "ingress_bytes_total", "Payload bytes of the frames this node's transport links received.")
	g := &n.groups
	g.elections = counterVec("raft_elections_total", "Raft terms this member saw begin in the group's shard.")
	g.leaderChanges = counterVec("raft_leader_changes_total", "Times this member learned of a leader other than the last one it knew.")
	g.committed = gaugeVec("raft_committed", "Log index of the last command this member committed and applied.")
	g.voters = gaugeVec("raft_committee_voters", "Voting replicas, as the shard's leader last read the membership; 0 on other members.")
	g.committeeSize = gaugeVec("raft_committee_size", "Replicas of the shard, voting or not, as its leader last read the membership; 0 on other members.")
	g.nonVoting = gaugeVec("raft_committee_non_voters", "Non-voting replicas, as the shard's leader last read the membership; 0 on other members.")
	g.bondsActive = gaugeVec("bonds_active", "Bonds of this member that are up.")
	g.bondBytesSent = counterVec("bonds_bytes_sent_total", "Encoded bytes of the bond messages this member sent.")
	g.bondBytesRecv = counterVec("bonds_bytes_received_total", "Encoded bytes of the bond messages this member received.")
	g.bondMsgsSent = counterVec("bonds_messages_sent_total", "Bond messages this member sent.")
	g.bondMsgsRecv = counterVec("bonds_messages_received_total", "Bond messages this member received.")
	g.bondMsgsDropped = counterVec("bonds_messages_dropped_total", "Bond messages dropped because a bond's send queue was full.")
	g.rivalMerges = counterVec("rival_merges_total", "Times this member's shard lost to a rival shard of the group and was dropped.")
	g.rivalDiscarded = counterVec("rival_discarded_entries_total", "Applied log entries discarded with shards that lost to a rival.")
	syncs := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: "mosaik", Subsystem: "discovery", Name: "catalog_syncs_total",
		Help: "Full catalog states merged from peers: gossip push-pulls and catalog syncs over the transport.",
	}, func() float64 { return readUint(&n.readSyncs) })
	neighbors := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "mosaik", Subsystem: "discovery", Name: "gossip_neighbors",
		Help: "Other members memberlist currently counts alive or suspect.",
	}, func() float64 {
		if read := n.readNeighbrs.Load(); read != nil {
			return float64((*read)())
		}
		return 0
	})
	n.netOpened = counter("network", "connections_opened_total", "Transport links this node opened or accepted.")
	reg.MustRegister(n.catalogSize, n.discovered, n.updated, n.departed, rejected, syncs, neighbors,
		n.groupsActive, n.netBytesSent, n.netBytesRecv, n.netOpened, n.seedsDown)
	reg.MustRegister(g.collectors()...)
	reg.MustRegister(n.bounds.collectors()...)
	return n
}

func (g *groupVecs) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		g.elections, g.leaderChanges, g.committed, g.voters, g.nonVoting, g.committeeSize, g.bondsActive,
		g.bondBytesSent, g.bondBytesRecv, g.bondMsgsSent, g.bondMsgsRecv, g.bondMsgsDropped,
		g.rivalMerges, g.rivalDiscarded,
	}
}

// deleteGroup removes every series of one group.
func (g *groupVecs) deleteGroup(group string) {
	for _, c := range g.collectors() {
		switch v := c.(type) {
		case *prometheus.CounterVec:
			v.DeleteLabelValues(group)
		case *prometheus.GaugeVec:
			v.DeleteLabelValues(group)
		}
	}
}

func gauge(subsystem, name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "mosaik", Subsystem: subsystem, Name: name, Help: help})
}

func counter(subsystem, name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "mosaik", Subsystem: subsystem, Name: name, Help: help})
}

func gaugeVec(name, help string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "mosaik", Subsystem: "groups", Name: name, Help: help}, []string{groupLabel})
}

func counterVec(name, help string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "mosaik", Subsystem: "groups", Name: name, Help: help}, []string{groupLabel})
}

// Registry is the registry holding the node's metrics. Mount it on an
// HTTP server with promhttp.HandlerFor, or register more collectors in it
// (Go runtime, process, the application's own).
func (n *Node) Registry() *prometheus.Registry {
	if n == nil {
		return nil
	}
	return n.registry
}

// ObserveCatalog records a published catalog: its size (own entry
// included) and the events that led to it.
func (n *Node) ObserveCatalog(size int, events []discovery.Event) {
	if n == nil {
		return
	}
	n.catalogSize.Set(float64(size))
	for _, ev := range events {
		switch ev := ev.(type) {
		case discovery.PeerDiscovered:
			n.discovered.Inc()
		case discovery.PeerUpdated:
			n.updated.Inc()
		case discovery.PeerDeparted:
			n.departed.WithLabelValues(ev.Reason.String()).Inc()
		}
	}
}

// ReadRejected makes mosaik_discovery_entries_rejected_total report what
// read returns at each scrape. Discovery already counts rejections at
// every place it validates input; reading that count is cheaper and
// surer than counting again. read must be cheap and safe to call from
// any goroutine.
func (n *Node) ReadRejected(read func() uint64) {
	if n == nil {
		return
	}
	n.readRejected.Store(&read)
}

func (n *Node) rejected() float64 {
	if read := n.readRejected.Load(); read != nil {
		return float64((*read)())
	}
	return 0
}

// SetGroupsActive records how many groups the node has joined.
func (n *Node) SetGroupsActive(count int) {
	if n == nil {
		return
	}
	n.groupsActive.Set(float64(count))
}

// Group returns the metrics of one joined group, labelled with group (the
// group id's short form). Call [Group.Forget] once the group is left. On
// a nil *Node it returns nil, whose methods do nothing.
func (n *Node) Group(group string) *Group {
	if n == nil {
		return nil
	}
	return newGroup(&n.groups, group)
}

// SetSeedsUnreachable sets how many bootstrap seeds are unreachable.
func (n *Node) SetSeedsUnreachable(count int) {
	if n == nil {
		return
	}
	n.seedsDown.Set(float64(count))
}

// ReadCatalogSyncs makes mosaik_discovery_catalog_syncs_total report what
// read returns at each scrape; read must be cheap and safe from any
// goroutine.
func (n *Node) ReadCatalogSyncs(read func() uint64) {
	if n == nil {
		return
	}
	n.readSyncs.Store(&read)
}

// ReadGossipNeighbors makes mosaik_discovery_gossip_neighbors report what
// read returns at each scrape; read must not block for long and is called
// from the scraping goroutine.
func (n *Node) ReadGossipNeighbors(read func() int) {
	if n == nil {
		return
	}
	n.readNeighbrs.Store(&read)
}

func readUint(p *atomic.Pointer[func() uint64]) float64 {
	if read := p.Load(); read != nil {
		return float64((*read)())
	}
	return 0
}

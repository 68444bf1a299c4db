package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DiscoveryBounds reads discovery's counters of what its bounds against
// outsiders turned away (actors.DiscoveryStats). Each func must be cheap
// and safe to call from any goroutine; a nil one reads as zero.
type DiscoveryBounds struct {
	CatalogRefused func() uint64 // entries and peers refused at the catalog's bounds
	SyncCapped     func() uint64 // entries of new peers past the per-sync limit
	InputsShed     func() uint64 // payloads dropped on a full input queue
	SyncsRefused   func() uint64 // sync links from another network or without the secret
	SyncsBusy      func() uint64 // sync links refused while too many were served
}

// TransportBounds reads the transport's counters of connections refused
// or cut short before authentication (quicnet.Stats).
type TransportBounds struct {
	RefusedTotal  func() uint64 // refused: too many unauthenticated connections
	RefusedPerIP  func() uint64 // refused: too many from one address
	FirstTimeouts func() uint64 // closed: no first frame within the handshake timeout
	FirstOversize func() uint64 // closed: a first frame over the first-frame limit
}

// boundCounters are the counters that read such funcs at each scrape.
type boundCounters struct {
	catalogRefused, syncCapped, inputsShed, syncsRefused, syncsBusy readCounter
	refusedTotal, refusedPerIP, firstTimeouts, firstOversize        readCounter
}

// readCounter is a counter whose value a func, set later, reports.
type readCounter struct{ read atomic.Pointer[func() uint64] }

func (r *readCounter) set(read func() uint64) {
	if read != nil {
		r.read.Store(&read)
	}
}

func (r *readCounter) value() float64 {
	if read := r.read.Load(); read != nil {
		return float64((*read)())
	}
	return 0
}

func (b *boundCounters) collectors() []prometheus.Collector {
	fn := func(subsystem, name, help string, r *readCounter, labels prometheus.Labels) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "mosaik", Subsystem: subsystem, Name: name, Help: help, ConstLabels: labels,
		}, r.value)
	}
	const refusedHelp = "Incoming connections refused at their first packet because too many unauthenticated ones were pending, by limit: total or per_ip."
	return []prometheus.Collector{
		fn("discovery", "catalog_refused_total", "Entries and peers the catalog refused at its bounds (MaxPeers, MaxCatalogBytes).", &b.catalogRefused, nil),
		fn("discovery", "sync_capped_total", "Entries of peers new to the catalog dropped past MaxNewPerSync in one catalog state.", &b.syncCapped, nil),
		fn("discovery", "inputs_shed_total", "Gossip and sync payloads dropped because the discovery actor's input queue was full.", &b.inputsShed, nil),
		fn("discovery", "syncs_refused_total", "Catalog sync links closed for another network or no valid proof of the network secret.", &b.syncsRefused, nil),
		fn("discovery", "syncs_busy_total", "Catalog sync links refused because too many were being served.", &b.syncsBusy, nil),
		fn("network", "connections_refused_total", refusedHelp, &b.refusedTotal, prometheus.Labels{"limit": "total"}),
		fn("network", "connections_refused_total", refusedHelp, &b.refusedPerIP, prometheus.Labels{"limit": "per_ip"}),
		fn("network", "first_frame_timeouts_total", "Accepted connections closed because their first frame did not arrive within the handshake timeout.", &b.firstTimeouts, nil),
		fn("network", "first_frames_oversized_total", "Links closed because their first frame, sent before authentication, exceeded the first-frame limit.", &b.firstOversize, nil),
	}
}

// ReadDiscoveryBounds makes the discovery bound counters
// (mosaik_discovery_catalog_refused_total and the like) report what b's
// funcs return at each scrape.
func (n *Node) ReadDiscoveryBounds(b DiscoveryBounds) {
	if n == nil {
		return
	}
	n.bounds.catalogRefused.set(b.CatalogRefused)
	n.bounds.syncCapped.set(b.SyncCapped)
	n.bounds.inputsShed.set(b.InputsShed)
	n.bounds.syncsRefused.set(b.SyncsRefused)
	n.bounds.syncsBusy.set(b.SyncsBusy)
}

// ReadTransportBounds makes the transport bound counters
// (mosaik_network_connections_refused_total and the like) report what
// b's funcs return at each scrape. A node whose transport keeps no such
// counts (an in-memory one) leaves them at zero.
func (n *Node) ReadTransportBounds(b TransportBounds) {
	if n == nil {
		return
	}
	n.bounds.refusedTotal.set(b.RefusedTotal)
	n.bounds.refusedPerIP.set(b.RefusedPerIP)
	n.bounds.firstTimeouts.set(b.FirstTimeouts)
	n.bounds.firstOversize.set(b.FirstOversize)
}

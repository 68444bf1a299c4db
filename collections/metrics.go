package collections

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mosaikgo/mosaik/collections/internal/store"
)

// Metric names follow the reference: mosaik_collections_<kind>_size
// (entries in a member's replica) and mosaik_collections_syncs_started
// (snapshot installs begun), labelled by network and group (short hex).
// They are registered in the node's registry (cluster.Node.Metrics) at
// the first collection joined.

type memberMetrics struct {
	size  prometheus.Gauge
	syncs prometheus.Counter
	drop  func()
}

func (m *memberMetrics) setSize(n int) {
	if m != nil {
		m.size.Set(float64(n))
	}
}

func (m *memberMetrics) syncStarted() {
	if m != nil {
		m.syncs.Inc()
	}
}

func (m *memberMetrics) forget() {
	if m != nil {
		m.drop()
	}
}

var labels = []string{"network", "group"}

// register adds c to reg, or returns the collector registered before
// under the same name (every collection on a node shares the families).
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		var dup prometheus.AlreadyRegisteredError
		if errors.As(err, &dup) {
			if existing, ok := dup.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func newMemberMetrics(reg *prometheus.Registry, kind store.Kind, network, group string) *memberMetrics {
	if reg == nil {
		return nil
	}
	size := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "mosaik", Subsystem: "collections", Name: kind.String() + "_size",
		Help: "Entries in this member's replica of the collection.",
	}, labels))
	syncs := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "mosaik", Subsystem: "collections", Name: "syncs_started",
		Help: "Snapshot installs this member began for the collection (catch-up by snapshot transfer).",
	}, labels))
	return &memberMetrics{
		size:  size.WithLabelValues(network, group),
		syncs: syncs.WithLabelValues(network, group),
		drop: func() {
			size.DeleteLabelValues(network, group)
			syncs.DeleteLabelValues(network, group)
		},
	}
}

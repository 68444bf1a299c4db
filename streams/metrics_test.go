package streams_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/testkit"
)

// metricValue sums the series of a family on a node whose stream label
// is stream.
func metricValue(t *testing.T, n *cluster.Node, name, stream string) float64 {
	t.Helper()
	fams, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "stream" && l.GetValue() == stream {
					if m.Counter != nil {
						sum += m.GetCounter().GetValue()
					} else {
						sum += m.GetGauge().GetValue()
					}
				}
			}
		}
	}
	return sum
}

var _ prometheus.Gatherer = (*prometheus.Registry)(nil)

func TestMetricsCountExactly(t *testing.T) {
	c, ctx := newCluster(t, 2)
	d := def("metered")
	p := produce(t, ctx, c.Node(0), d)
	cn := consume(t, ctx, c.Node(1), d)
	waitConsumers(t, ctx, p, 1)
	if err := cn.When().Subscribed(ctx); err != nil { // the consumer's gauges too
		t.Fatal(err)
	}
	for _, s := range []string{"a", "bb", "ccc"} {
		if err := p.Send(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := cn.Recv(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The writer counts after its write returns, which may be after the
	// consumer has read.
	if err := testkit.WaitFor(ctx, func() bool { return p.Stats().Datums == 3 }); err != nil {
		t.Fatal(err)
	}
	stream := p.StreamID().Short()
	const bytes = 3 + 4 + 5 // JSON strings with their quotes
	for _, tc := range []struct {
		node int
		name string
		want float64
	}{
		{0, "mosaik_streams_producers_active", 1},
		{0, "mosaik_streams_producer_consumers", 1},
		{0, "mosaik_streams_producer_consumers_accepted_total", 1},
		{0, "mosaik_streams_producer_items_sent_total", 3},
		{0, "mosaik_streams_producer_bytes_sent_total", bytes},
		{0, "mosaik_streams_datums_total", 3},
		{0, "mosaik_streams_bytes_total", bytes},
		{1, "mosaik_streams_consumers_active", 1},
		{1, "mosaik_streams_consumer_producers", 1},
		{1, "mosaik_streams_consumer_items_received_total", 3},
		{1, "mosaik_streams_consumer_bytes_received_total", bytes},
		{1, "mosaik_streams_connections_accepted_total", 1},
	} {
		if got := metricValue(t, c.Node(tc.node), tc.name, stream); got != tc.want {
			t.Errorf("node %d %s = %v, want %v", tc.node, tc.name, got, tc.want)
		}
	}
}

package metrics_test

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/mosaikgo/mosaik/metrics"
)

// streamNames are the families a node exports once it produces or
// consumes a stream.
var streamNames = []string{
	"mosaik_streams_bytes_total",
	"mosaik_streams_connections_accepted_total",
	"mosaik_streams_connections_rejected_total",
	"mosaik_streams_consumer_bytes_received_total",
	"mosaik_streams_consumer_items_received_total",
	"mosaik_streams_consumer_producers",
	"mosaik_streams_consumers_active",
	"mosaik_streams_datums_total",
	"mosaik_streams_producer_bytes_sent_total",
	"mosaik_streams_producer_consumers",
	"mosaik_streams_producer_consumers_accepted_total",
	"mosaik_streams_producer_consumers_rejected_total",
	"mosaik_streams_producer_items_dropped_total",
	"mosaik_streams_producer_items_sent_total",
	"mosaik_streams_producers_active",
}

func TestStreamsFamilies(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := metrics.NewStreams(reg)
	again := metrics.NewStreams(reg) // a second stream of the node shares the families
	s.Stream("net", "a").ItemsSent.Add(2)
	again.Stream("net", "a").ItemsSent.Add(3)
	again.Stream("net", "b").ProducersActive.Set(1)
	f := gather(t, reg)
	if got := slices.Sorted(maps.Keys(f)); !slices.Equal(got, streamNames) {
		t.Fatalf("families:\n%v\nwant:\n%v", got, streamNames)
	}
	for _, m := range f["mosaik_streams_producer_items_sent_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["network"] != "net" {
			t.Fatalf("labels %v", labels)
		}
		if labels["stream"] == "a" && m.GetCounter().GetValue() != 5 {
			t.Fatalf("stream a sent %v, want 5", m.GetCounter().GetValue())
		}
	}
	problems, err := promlint.NewWithMetricFamilies(slices.Collect(maps.Values(f))).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range streamNames {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/metrics.md does not list %s", name)
		}
	}
}

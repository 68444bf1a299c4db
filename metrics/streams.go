package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// streamLabels label every streams series: the network's and the
// stream's short ids.
var streamLabels = []string{"network", "stream"}

// Streams is the family of mosaik_streams_* series of one node. Its
// methods are safe for concurrent use and do nothing on a nil *Streams.
type Streams struct {
	producersActive, producerConsumers, consumersActive, consumerProducers *prometheus.GaugeVec

	consumersAccepted, consumersRejected, itemsSent, bytesSent, itemsDropped *prometheus.CounterVec
	connAccepted, connRejected, itemsRecv, bytesRecv, datums, bytes          *prometheus.CounterVec
}

// NewStreams registers the streams series in reg, or finds them there when
// an earlier call registered them, so that every stream of a node shares
// one family.
func NewStreams(reg prometheus.Registerer) *Streams {
	s := &Streams{}
	g := func(name, help string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "mosaik", Subsystem: "streams", Name: name, Help: help}, streamLabels)
		return register(reg, v)
	}
	c := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "mosaik", Subsystem: "streams", Name: name, Help: help}, streamLabels)
		return register(reg, v)
	}
	s.producersActive = g("producers_active", "Producers of the stream running on this node (0 or 1).")
	s.producerConsumers = g("producer_consumers", "Consumers connected to this node's producer of the stream.")
	s.consumersActive = g("consumers_active", "Consumers of the stream running on this node.")
	s.consumerProducers = g("consumer_producers", "Producers this node's consumers of the stream are connected to.")
	s.consumersAccepted = c("producer_consumers_accepted_total", "Consumers the producer admitted.")
	s.consumersRejected = c("producer_consumers_rejected_total", "Consumers the producer refused (unknown, not allowed, no capacity) or disconnected for lagging.")
	s.itemsSent = c("producer_items_sent_total", "Datums the producer wrote to consumers, once per consumer.")
	s.bytesSent = c("producer_bytes_sent_total", "Payload bytes of the datums the producer wrote, once per consumer.")
	s.itemsDropped = c("producer_items_dropped_total", "Datums dropped for a consumer whose queue was full.")
	s.connAccepted = c("connections_accepted_total", "Channels that completed the handshake, on either side.")
	s.connRejected = c("connections_rejected_total", "Channels refused during the handshake, on either side.")
	s.itemsRecv = c("consumer_items_received_total", "Datums this node's consumers received.")
	s.bytesRecv = c("consumer_bytes_received_total", "Payload bytes of the datums this node's consumers received.")
	s.datums = c("datums_total", "Datums the stream carried on this node: sent by its producer plus received by its consumers.")
	s.bytes = c("bytes_total", "Payload bytes the stream carried on this node, sent plus received.")
	return s
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// Stream is the series of one stream on one node, bound once so that the
// hot path skips the label lookups.
type Stream struct {
	ProducersActive, ProducerConsumers, ConsumersActive, ConsumerProducers prometheus.Gauge

	ConsumersAccepted, ConsumersRejected, ItemsSent, BytesSent, ItemsDropped prometheus.Counter
	ConnAccepted, ConnRejected, ItemsReceived, BytesReceived, Datums, Bytes  prometheus.Counter
}

// Stream binds the series of one stream; network and stream are short ids.
func (s *Streams) Stream(network, stream string) *Stream {
	if s == nil {
		return nil
	}
	l := []string{network, stream}
	return &Stream{
		ProducersActive: s.producersActive.WithLabelValues(l...), ProducerConsumers: s.producerConsumers.WithLabelValues(l...),
		ConsumersActive: s.consumersActive.WithLabelValues(l...), ConsumerProducers: s.consumerProducers.WithLabelValues(l...),
		ConsumersAccepted: s.consumersAccepted.WithLabelValues(l...), ConsumersRejected: s.consumersRejected.WithLabelValues(l...),
		ItemsSent: s.itemsSent.WithLabelValues(l...), BytesSent: s.bytesSent.WithLabelValues(l...),
		ItemsDropped: s.itemsDropped.WithLabelValues(l...),
		ConnAccepted: s.connAccepted.WithLabelValues(l...), ConnRejected: s.connRejected.WithLabelValues(l...),
		ItemsReceived: s.itemsRecv.WithLabelValues(l...), BytesReceived: s.bytesRecv.WithLabelValues(l...),
		Datums: s.datums.WithLabelValues(l...), Bytes: s.bytes.WithLabelValues(l...),
	}
}

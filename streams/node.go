package streams

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/transport"
)

// nodeStreams is the streams state of one node: the producers incoming
// channels are routed to, the stream ids advertised in its entry, and its
// metrics. It is created on the node's first Produce or Consume and
// forgotten once the node's actor system has closed.
type nodeStreams struct {
	node    *cluster.Node
	network id.NetworkID
	metrics *metrics.Streams

	mu struct {
		sync.Mutex
		producers map[id.StreamID]*producerCore
		ads       map[id.Digest]int // advertised digests, counted by users
		consumers int               // for unique actor names
	}
}

var registry struct {
	sync.Mutex
	nodes map[*cluster.Node]*nodeStreams
}

// forNode returns node's streams state, creating it (and registering the
// streams ALPN on the node's endpoint) on first use.
func forNode(node *cluster.Node) (*nodeStreams, error) {
	registry.Lock()
	defer registry.Unlock()
	for n := range registry.nodes {
		if n.Actors().Closed() {
			delete(registry.nodes, n)
		}
	}
	if node.Actors().Closed() {
		return nil, ErrClosed
	}
	if ns, ok := registry.nodes[node]; ok {
		return ns, nil
	}
	ns := &nodeStreams{node: node, network: node.NetworkID(), metrics: metrics.NewStreams(node.Metrics())}
	ns.mu.producers = make(map[id.StreamID]*producerCore)
	ns.mu.ads = make(map[id.Digest]int)
	if err := node.Endpoint().Handle(transport.ALPNStreams, ns.accept); err != nil {
		return nil, fmt.Errorf("streams: %w", err)
	}
	if registry.nodes == nil {
		registry.nodes = make(map[*cluster.Node]*nodeStreams)
	}
	registry.nodes[node] = ns
	return ns, nil
}

func (ns *nodeStreams) streamMetrics(stream id.StreamID) *metrics.Stream {
	return ns.metrics.Stream(ns.network.Short(), stream.Short())
}

func (ns *nodeStreams) producer(stream id.StreamID) *producerCore {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.mu.producers[stream]
}

// advertise adds d to the node's entry unless another user already did.
func (ns *nodeStreams) advertise(ctx context.Context, d id.Digest) error {
	ns.mu.Lock()
	ns.mu.ads[d]++
	first := ns.mu.ads[d] == 1
	ns.mu.Unlock()
	if !first {
		return nil
	}
	return ns.node.UpdateLocal(ctx, func(e *discovery.Entry) {
		if !slices.Contains(e.Streams, d) {
			e.Streams = append(e.Streams, d)
		}
	})
}

// withdraw removes d from the node's entry once its last user is gone.
func (ns *nodeStreams) withdraw(ctx context.Context, d id.Digest) error {
	ns.mu.Lock()
	ns.mu.ads[d]--
	last := ns.mu.ads[d] <= 0
	if last {
		delete(ns.mu.ads, d)
	}
	ns.mu.Unlock()
	if !last {
		return nil
	}
	return ns.node.UpdateLocal(ctx, func(e *discovery.Entry) {
		e.Streams = slices.DeleteFunc(e.Streams, func(x id.Digest) bool { return x == d })
	})
}

// accept runs a channel's handshake on the producer's side, on the
// endpoint's handler goroutine: it reads the subscription (the link's
// first frame, held to the endpoint's first-frame limit), checks network
// and stream, measures the round trip, and hands the link to the
// producer's actor, which decides the rest. Whatever fails closes the
// link with its code.
func (ns *nodeStreams) accept(l transport.Link) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	var sub messages.StreamSubscribe
	if err := l.Recv(ctx, &sub); err != nil {
		_ = l.Close(transport.CodeProtocolViolation, "no subscription")
		return
	}
	stream, code, err := checkSubscription(&sub, ns.network)
	if err != nil {
		_ = l.Close(code, err.Error())
		return
	}
	p := ns.producer(stream)
	if p == nil {
		_ = l.Close(transport.CodeStreamNotFound, "no producer of stream "+stream.Short())
		ns.streamMetrics(stream).ConnRejected.Inc()
		return
	}
	rtt, err := probe(ctx, l)
	if err != nil {
		_ = l.Close(transport.CodeProtocolViolation, "probe failed")
		return
	}
	entry, known := ns.node.Catalog().Get(l.Peer())
	known = known && entry.Version >= sub.GetEntryVersion()
	req := &admitRequest{link: l, consumer: sub.GetConsumerId(), known: known, entry: entry, rtt: rtt, criteria: sub.GetCriteria()}
	if _, err := ns.node.Actors().Root().RequestFuture(p.pid, req, handshakeTimeout).Result(); err != nil {
		_ = l.Close(transport.CodeGracefulShutdown, "producer closed")
	}
}

// probe is the producer's leg of the handshake's round trip.
func probe(ctx context.Context, l transport.Link) (time.Duration, error) {
	nonce := rand.Uint64()
	start := time.Now()
	if err := l.Send(ctx, &messages.StreamProbe{Nonce: nonce}); err != nil {
		return 0, err
	}
	var echo messages.StreamProbe
	if err := l.Recv(ctx, &echo); err != nil {
		return 0, err
	}
	if echo.GetNonce() != nonce {
		return 0, fmt.Errorf("streams: probe echo %d, want %d", echo.GetNonce(), nonce)
	}
	return time.Since(start), nil
}

// checkSubscription is the producer's first look at a subscription, before
// anything is looked up: the network must be ours (101) and the stream id
// well formed (400). It returns the stream id, or the code to close with
// and why.
func checkSubscription(sub *messages.StreamSubscribe, network id.NetworkID) (id.StreamID, transport.CloseCode, error) {
	n, err := id.DigestFromProto(sub.GetNetworkId())
	if err != nil || n != network {
		return id.StreamID{}, transport.CodeDifferentNetwork, errors.New("streams: different network")
	}
	stream, err := id.DigestFromProto(sub.GetStreamId())
	if err != nil {
		return id.StreamID{}, transport.CodeProtocolViolation, fmt.Errorf("streams: bad stream id: %w", err)
	}
	return stream, 0, nil
}

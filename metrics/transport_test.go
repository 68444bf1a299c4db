package metrics_test

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
	"github.com/mosaikgo/mosaik/transport/transporttest"
)

// countedHarness runs the transport conformance suite on in-memory
// endpoints wrapped by CountTraffic: counting must not change behaviour.
type countedHarness struct{ net *memnet.Network }

func (h countedHarness) NewEndpoint(t testing.TB, key id.SecretKey, opts transporttest.Options) transport.Endpoint {
	t.Helper()
	ep, err := h.net.Listen(key, memnet.EndpointConfig{MaxFrameSize: opts.MaxFrameSize, FirstFrameSize: opts.FirstFrameSize})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	counted := metrics.New().CountTraffic(ep)
	t.Cleanup(func() { counted.Close() })
	return counted
}

func (h countedHarness) Partition(groups ...[]transport.Endpoint) {
	peers := make([][]id.PeerID, len(groups))
	for i, g := range groups {
		for _, ep := range g {
			peers[i] = append(peers[i], ep.PeerID())
		}
	}
	h.net.Partition(peers...)
}

func (h countedHarness) Heal() { h.net.Heal() }

func TestCountTrafficConforms(t *testing.T) {
	n := memnet.New(memnet.Config{})
	t.Cleanup(func() { n.Close() })
	transporttest.Run(t, countedHarness{n})
}

// TestCountTrafficCountsPayloads sends raw frames and messages both ways
// and checks each side's counters against the payload sizes.
func TestCountTrafficCountsPayloads(t *testing.T) {
	net := memnet.New(memnet.Config{})
	t.Cleanup(func() { net.Close() })
	ctx := context.Background()
	listen := func(seed string, m *metrics.Node) transport.Endpoint {
		key := id.SecretKeyFromSeed(seed)
		ep, err := net.Listen(key, memnet.EndpointConfig{})
		if err != nil {
			t.Fatal(err)
		}
		counted := m.CountTraffic(ep)
		t.Cleanup(func() { counted.Close() })
		return counted
	}
	ma, mb := metrics.New(), metrics.New()
	a, b := listen("a", ma), listen("b", mb)

	frame := bytes.Repeat([]byte{7}, 10)
	ping := &messages.Ping{Nonce: 42, Payload: bytes.Repeat([]byte{1}, 33)}
	served := make(chan error, 1)
	if err := b.Handle(transport.ALPNDiag, func(l transport.Link) {
		served <- func() error {
			got, err := l.RecvFrame(ctx)
			if err != nil {
				return err
			}
			var p messages.Ping
			if err := l.Recv(ctx, &p); err != nil {
				return err
			}
			if err := l.Send(ctx, &messages.Pong{Nonce: p.Nonce}); err != nil {
				return err
			}
			return l.SendFrame(ctx, got)
		}()
	}); err != nil {
		t.Fatal(err)
	}
	link, err := a.Dial(ctx, b.PeerID(), b.Addr(), transport.ALPNDiag)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close(transport.CodeSuccess, "")
	if err := link.SendFrame(ctx, frame); err != nil {
		t.Fatal(err)
	}
	if err := link.Send(ctx, ping); err != nil {
		t.Fatal(err)
	}
	var pong messages.Pong
	if err := link.Recv(ctx, &pong); err != nil {
		t.Fatal(err)
	}
	if _, err := link.RecvFrame(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("served side: %v", err)
	}

	out := float64(len(frame) + proto.Size(ping))
	back := float64(len(frame) + proto.Size(&messages.Pong{Nonce: 42}))
	ea, eb := newExpect(gather(t, ma.Registry())), newExpect(gather(t, mb.Registry()))
	ea.eq(out, "mosaik_network_egress_bytes_total")
	ea.eq(back, "mosaik_network_ingress_bytes_total")
	eb.eq(out, "mosaik_network_ingress_bytes_total")
	eb.eq(back, "mosaik_network_egress_bytes_total")
	if err := ea.err(); err != nil {
		t.Fatalf("dialing side: %v", err)
	}
	if err := eb.err(); err != nil {
		t.Fatalf("accepting side: %v", err)
	}
}

package memnet_test

import (
	"testing"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/memnet"
	"github.com/mosaikgo/mosaik/transport/transporttest"
)

// harness runs the conformance suite on one network shared by all its
// tests, as a test cluster would share one.
type harness struct{ net *memnet.Network }

func (h harness) NewEndpoint(t testing.TB, key id.SecretKey, opts transporttest.Options) transport.Endpoint {
	t.Helper()
	ep, err := h.net.Listen(key, memnet.EndpointConfig{MaxFrameSize: opts.MaxFrameSize, FirstFrameSize: opts.FirstFrameSize})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func (h harness) Partition(groups ...[]transport.Endpoint) {
	peers := make([][]id.PeerID, len(groups))
	for i, g := range groups {
		for _, ep := range g {
			peers[i] = append(peers[i], ep.PeerID())
		}
	}
	h.net.Partition(peers...)
}

func (h harness) Heal() { h.net.Heal() }

func TestConformance(t *testing.T) {
	n := memnet.New(memnet.Config{})
	t.Cleanup(func() { n.Close() })
	transporttest.Run(t, harness{n})
}

package quicnet

import (
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, newHarness())
}

// harness runs every endpoint on loopback behind a FaultConn, so a
// partition is each side's FaultConn dropping the other's packets.
type harness struct {
	mu     sync.Mutex
	faults map[transport.Endpoint]*FaultConn
}

func newHarness() *harness {
	return &harness{faults: make(map[transport.Endpoint]*FaultConn)}
}

func (h *harness) NewEndpoint(t testing.TB, key id.SecretKey, opts transporttest.Options) transport.Endpoint {
	t.Helper()
	ep, fc := listenFaulty(t, Config{Key: key, MaxFrameSize: opts.MaxFrameSize, FirstFrameSize: opts.FirstFrameSize})
	h.mu.Lock()
	h.faults[ep] = fc
	h.mu.Unlock()
	t.Cleanup(func() {
		h.mu.Lock()
		delete(h.faults, ep)
		h.mu.Unlock()
	})
	return ep
}

func (h *harness) Partition(groups ...[]transport.Endpoint) {
	h.Heal()
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, from := range groups {
		for j, to := range groups {
			if i == j {
				continue
			}
			for _, a := range from {
				fc := h.faults[a]
				if fc == nil {
					continue
				}
				for _, b := range to {
					fc.Block(netip.MustParseAddrPort(b.Addr()))
				}
			}
		}
	}
}

func (h *harness) Heal() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, fc := range h.faults {
		fc.Heal()
	}
}

// listenFaulty starts an endpoint for cfg on a loopback socket wrapped in a
// FaultConn, closed when the test ends.
func listenFaulty(t testing.TB, cfg Config) (*Endpoint, *FaultConn) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	fc := NewFaultConn(pc)
	cfg.PacketConn = fc
	ep, err := Listen(cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() {
		if err := ep.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ep, fc
}

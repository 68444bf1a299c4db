package raftbond

import (
	"sync"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"

	"github.com/mosaikgo/mosaik/id"
)

// Factory is dragonboat's config.TransportFactory for one node: set it as
// NodeHostConfig.Expert.TransportFactory of that node's NodeHost. It binds
// the transport dragonboat creates to the node's own Router, so many
// NodeHosts in one process (the test kit runs whole networks in one) each
// talk over their own bonds; nothing is shared between factories.
//
// The Factory is also where the bond layer delivers inbound frames
// ([Factory.Deliver]): it can exist, and be handed to the bonds, before
// the NodeHost does, and it follows the NodeHost if it is closed and
// created again with the same Factory.
type Factory struct {
	cfg Config

	mu struct {
		sync.Mutex
		current *Transport // the last transport created; nil before
	}
}

var _ config.TransportFactory = (*Factory)(nil)

// NewFactory checks cfg and returns a Factory for it.
func NewFactory(cfg Config) (*Factory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Factory{cfg: cfg.withDefaults()}, nil
}

// Create is called by NewNodeHost. A NodeHostConfig the transport cannot
// serve (RaftAddress other than Config.Self) is reported by the
// transport's Start, which makes NewNodeHost fail.
func (f *Factory) Create(nh config.NodeHostConfig, handler raftio.MessageHandler, chunks raftio.ChunkHandler) raftio.ITransport {
	t := newTransport(f.cfg, nh, handler, chunks)
	f.mu.Lock()
	f.mu.current = t
	f.mu.Unlock()
	return t
}

// Validate reports whether addr is a Raft address this transport can
// reach: a PeerID in its canonical form, 64 lower-case hex characters.
// dragonboat checks every replica address with it (StartReplica's initial
// members, RequestAddReplica) and panics on addresses it learns from the
// network that fail it, which is why inbound batches are checked first.
func (f *Factory) Validate(addr string) bool { return validAddress(addr) }

// Transport returns the transport of the current NodeHost, or nil before
// the first NewNodeHost.
func (f *Factory) Transport() *Transport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mu.current
}

// Deliver hands a frame received from peer to the current transport (see
// [Transport.Deliver]); before there is one it returns [ErrNotStarted].
func (f *Factory) Deliver(from id.PeerID, frame []byte) error {
	t := f.Transport()
	if t == nil {
		return ErrNotStarted
	}
	return t.Deliver(from, frame)
}

// validAddress reports whether addr is exactly the String form of a
// PeerID: upper-case hex would name the same peer with another address,
// and dragonboat compares addresses as strings.
func validAddress(addr string) bool {
	if len(addr) != 2*id.PeerIDSize {
		return false
	}
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

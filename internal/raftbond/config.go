package raftbond

import (
	"cmp"
	"errors"
	"fmt"

	"github.com/mosaikgo/mosaik/id"
)

// DefaultMaxFrameSize is the largest Raft frame the transport hands to a
// Router unless [Config.MaxFrameSize] says otherwise: the bond's default
// frame limit (16 MiB, transport.DefaultMaxFrameSize) less room for the
// BondMessage and RaftFrame envelopes around it.
const DefaultMaxFrameSize = 16<<20 - 64

// minFrameSize keeps MaxFrameSize above what a snapshot chunk needs
// (dragonboat's chunks carry up to 2 MiB of data).
const minFrameSize = 2<<20 + 64<<10

// Config describes one node's transport. Zero fields take their defaults,
// except Self and Router, which are required.
type Config struct {
	// Self is this node's PeerID. The NodeHost's RaftAddress must be
	// Self.String(); [Transport.Start] fails otherwise, so that a
	// misconfigured node fails at once instead of having every batch
	// rejected by its peers.
	Self id.PeerID

	// Router carries outgoing frames over the bonds. Required.
	Router Router

	// Gate, if set, decides which replicas a peer may speak for; see
	// [Gate] for why a node exposed to untrusted members needs one.
	// Default: nil, every replica id is accepted from every peer.
	Gate Gate

	// MaxFrameSize bounds a frame, in bytes, kind byte included. Batches
	// larger than this are split into several frames; a single Raft
	// message larger than this is dropped (and counted in
	// Stats.Oversized), since no retry could deliver it. It must not
	// exceed the bond's frame limit less its envelope, or the bond would
	// fail on the frame. Default: [DefaultMaxFrameSize]; at least 2 MiB
	// + 64 KiB, the size of a snapshot chunk.
	MaxFrameSize int
}

// DefaultConfig returns a Config with every default filled in, for self
// and router.
func DefaultConfig(self id.PeerID, router Router) Config {
	return Config{Self: self, Router: router, MaxFrameSize: DefaultMaxFrameSize}
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	c.MaxFrameSize = cmp.Or(c.MaxFrameSize, DefaultMaxFrameSize)
	return c
}

// Validate names the first field that cannot work.
func (c Config) Validate() error {
	if c.Self.IsZero() {
		return errors.New("raftbond: Config.Self is the zero PeerID")
	}
	if c.Router == nil {
		return errors.New("raftbond: Config.Router is nil")
	}
	if c.MaxFrameSize != 0 && c.MaxFrameSize < minFrameSize {
		return fmt.Errorf("raftbond: Config.MaxFrameSize %d is below %d bytes (a snapshot chunk)", c.MaxFrameSize, minFrameSize)
	}
	return nil
}

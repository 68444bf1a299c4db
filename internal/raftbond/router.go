package raftbond

import (
	"errors"

	"github.com/mosaikgo/mosaik/id"
)

// Errors a [Router] returns. A Router may wrap them; the transport checks
// with errors.Is.
var (
	// ErrCongested: the bond to the peer exists but its queue is full.
	// The transport drops the batch (Raft retransmits what matters) and
	// fails a snapshot stream (dragonboat sends the snapshot again).
	ErrCongested = errors.New("raftbond: bond queue full")
	// ErrNoRoute: there is no bond to the peer. Any other error a Router
	// returns is treated the same way.
	ErrNoRoute = errors.New("raftbond: no bond to peer")
)

// Router carries Raft frames to peers over their bonds. The node's groups
// layer implements it.
//
// SendRaft queues frame for the bond to peer and returns at once: nil when
// the frame is queued, [ErrCongested] when the bond's queue is full,
// [ErrNoRoute] (or any other error) when there is no bond to the peer.
// It must never block: dragonboat calls it from its own send goroutines,
// one per peer and one per snapshot stream, and concurrently.
//
// The frame becomes the Router's; the transport never touches it again.
// Frames for one peer must reach it in the order SendRaft accepted them
// (a bond is one ordered stream), and the receiving node hands each to
// [Transport.Deliver] (or [Factory.Deliver]) with the sender's PeerID,
// which the bond authenticated. Any bond shared with the peer will do:
// frames are addressed to the peer's node, not to one group.
type Router interface {
	SendRaft(peer id.PeerID, frame []byte) error
}

package raftbond

import "github.com/mosaikgo/mosaik/id"

// Gate decides which replicas a peer may speak for. The node's groups
// layer implements it from what it knows of each shard's membership.
//
// Admit reports whether peer hosts replica replicaID of shard shardID, so
// that its messages (and snapshot chunks) sent as that replica may reach
// dragonboat. It is called for every inbound message, concurrently, and
// must not block (no I/O, no waiting on an actor).
//
// Why it matters: dragonboat records the sender's address for every
// (shard, replica) it hears from, and panics when a replica shows up at
// a second address. Without a Gate an authenticated peer can crash the
// node by sending as another member's replica id; the transport itself
// only checks that a batch's source address is the peer's own.
type Gate interface {
	Admit(peer id.PeerID, shardID, replicaID uint64) bool
}

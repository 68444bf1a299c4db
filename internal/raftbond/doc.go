// Package raftbond carries dragonboat's Raft traffic over mosaik's bonds.
//
// dragonboat moves messages between NodeHosts through a pluggable
// raftio.ITransport. This package is that transport for a node whose
// peers are reached only over group bonds: the Raft address of a replica
// is the lower-case hex PeerID of the node hosting it, and each frame
// dragonboat sends to that address becomes one RaftFrame on a bond to
// that peer.
//
// # Pieces
//
//   - [Router] (implemented by the groups layer) queues a frame on a bond
//     to a peer, without blocking.
//   - [Gate] (optional, implemented by the groups layer) says which
//     replica ids a peer may speak for.
//   - [Factory] is set as NodeHostConfig.Expert.TransportFactory, one per
//     node; the [Transport] it creates is bound to that node's Router.
//   - [Factory.Deliver] / [Transport.Deliver] is the inbound side: the
//     bond layer calls it for every RaftFrame it receives.
//
// # Frames
//
// A frame is one kind byte and a dragonboat-marshalled value: 1 for a
// raftpb.MessageBatch, 2 for a raftpb.Chunk of a snapshot, 3 for a
// MessageBatch compressed as one S2 block. Batches are marshalled inside
// SendMessageBatch, since dragonboat reuses their buffers afterwards, and a
// batch too large for one frame ([Config.MaxFrameSize]) is split between
// messages. A batch of 2 KiB or more (a leader's run of appends under
// load) is compressed when that saves an eighth or more: its repeated
// terms, indexes and client fields shrink it 2 to 4 times, and on QUIC,
// whose packets carry at most about 1.4 KB each, every packet saved costs
// more CPU than compressing it did. The receiver refuses a compressed batch
// that would inflate past its own MaxFrameSize before allocating for it.
//
// # Ordering and back-pressure
//
// Sending never blocks: dragonboat's goroutines call the Router, which
// queues or refuses. A full bond queue drops a batch (counted; Raft
// retransmits) rather than failing the connection, because dragonboat
// answers any send error by tripping its circuit breaker for the whole
// peer and reporting its replicas unreachable. A missing bond is such an
// error. Snapshot chunks of one stream are queued in order on the same
// ordered bond; the first chunk that cannot be queued fails the stream
// and every chunk after it, so the receiver never sees a gap and
// dragonboat sends the snapshot again.
//
// # Trust
//
// Inbound frames come from authenticated peers but are still untrusted
// bytes. Deliver never panics: it recovers from dragonboat's decoder,
// refuses batches whose source address is not the sending peer, and
// refuses message types and chunk fields that would make dragonboat panic
// (local-only message types, zero replica ids, unusable file names, a
// membership without a config change id). A [Gate] closes the remaining
// hole: a peer naming another member's replica id. Raft is not Byzantine
// fault tolerant, so an admitted member can still disrupt its shards.
//
// # Concurrency
//
// All methods are safe for concurrent use. The transport starts no
// goroutine: sends run on dragonboat's, deliveries on the bond layer's.
// Close waits for deliveries in progress, so none reaches dragonboat after
// it returns.
package raftbond

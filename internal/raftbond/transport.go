package raftbond

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/mosaikgo/mosaik/id"
)

// Lifecycle errors.
var (
	// ErrClosed: the transport was closed (its NodeHost is closing).
	ErrClosed = errors.New("raftbond: closed")
	// ErrNotStarted: no transport is running yet (the NodeHost is not
	// created, or dragonboat has not started the transport); the frame
	// is dropped.
	ErrNotStarted = errors.New("raftbond: not started")
)

// Name is what [Transport.Name] returns; dragonboat logs it.
const Name = "mosaik-raftbond"

// Stats counts one transport's traffic. Read it with [Transport.Stats].
type Stats struct {
	BatchFrames uint64 // batch frames handed to the Router
	ChunkFrames uint64 // snapshot chunk frames handed to the Router
	Congested   uint64 // frames the Router refused with ErrCongested
	Unroutable  uint64 // frames the Router refused otherwise
	Oversized   uint64 // messages dropped for not fitting in a frame
	Delivered   uint64 // inbound frames handed to dragonboat
	Rejected    uint64 // inbound frames refused as malformed
	NotAdmitted uint64 // inbound messages or chunks the Gate refused
}

type counters struct {
	batchFrames, chunkFrames, congested, unroutable, oversized atomic.Uint64
	delivered, rejected, notAdmitted                           atomic.Uint64
}

// Transport is dragonboat's raftio.ITransport over the node's bonds. One
// NodeHost creates one, through its [Factory].
type Transport struct {
	cfg      Config
	self     string // cfg.Self.String(), the source address of our batches
	deploy   uint64 // the NodeHost's deployment id, which its batches carry
	handler  raftio.MessageHandler
	chunks   raftio.ChunkHandler
	startErr error // a NodeHostConfig this transport cannot serve
	stats    counters

	// mu orders Deliver against Start and Close: Deliver holds the read
	// lock while dragonboat handles the frame, so once Close returns no
	// handler call is in flight.
	mu struct {
		sync.RWMutex
		started bool
		closed  bool
	}
	closed atomic.Bool // mirrors mu.closed for the lock-free send path
}

var _ raftio.ITransport = (*Transport)(nil)

func newTransport(cfg Config, nh config.NodeHostConfig, handler raftio.MessageHandler, chunks raftio.ChunkHandler) *Transport {
	t := &Transport{cfg: cfg, self: cfg.Self.String(), deploy: nh.GetDeploymentID(), handler: handler, chunks: chunks}
	switch {
	case nh.RaftAddress != t.self:
		t.startErr = fmt.Errorf("raftbond: NodeHostConfig.RaftAddress %q is not this node's PeerID %s", trim(nh.RaftAddress), t.self)
	case nh.NodeRegistryEnabled():
		// With a node registry dragonboat sends its NodeHostID as the
		// source address, which no peer could check against a bond.
		t.startErr = errors.New("raftbond: NodeHostConfig enables a node registry; Raft addresses must be PeerIDs")
	case handler == nil || chunks == nil:
		t.startErr = errors.New("raftbond: dragonboat gave no message or chunk handler")
	}
	return t
}

// Name returns [Name].
func (t *Transport) Name() string { return Name }

// Start lets inbound frames through. It fails when the NodeHostConfig does
// not fit the transport (RaftAddress is not Config.Self, or a node
// registry is enabled), which makes NewNodeHost fail. It starts no
// goroutine: sending runs on dragonboat's goroutines, receiving on the
// caller of Deliver.
func (t *Transport) Start() error {
	if t.startErr != nil {
		return t.startErr
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		return ErrClosed
	}
	t.mu.started = true
	return nil
}

// Close stops the transport: sends fail with ErrClosed, Deliver returns
// ErrClosed, and Close returns once no Deliver is inside dragonboat. It is
// idempotent and always returns nil (NodeHost.Close panics on an error).
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.closed = true
	t.closed.Store(true)
	return nil
}

// Stats returns the traffic counters so far.
func (t *Transport) Stats() Stats {
	s := &t.stats
	return Stats{
		BatchFrames: s.batchFrames.Load(),
		ChunkFrames: s.chunkFrames.Load(),
		Congested:   s.congested.Load(),
		Unroutable:  s.unroutable.Load(),
		Oversized:   s.oversized.Load(),
		Delivered:   s.delivered.Load(),
		Rejected:    s.rejected.Load(),
		NotAdmitted: s.notAdmitted.Load(),
	}
}

// GetConnection returns a connection for batches to the node at target (a
// PeerID). It only parses the address: there is nothing to dial, and a
// missing bond shows up as send errors.
func (t *Transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	peer, err := t.target(ctx, target)
	if err != nil {
		return nil, err
	}
	return &batchConn{t: t, peer: peer}, nil
}

// GetSnapshotConnection returns a connection for one snapshot's chunks to
// the node at target.
func (t *Transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	peer, err := t.target(ctx, target)
	if err != nil {
		return nil, err
	}
	return &chunkConn{t: t, peer: peer}, nil
}

func (t *Transport) target(ctx context.Context, target string) (id.PeerID, error) {
	if t.closed.Load() {
		return id.PeerID{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return id.PeerID{}, err
	}
	if !validAddress(target) {
		return id.PeerID{}, fmt.Errorf("raftbond: target %q is not a PeerID", trim(target))
	}
	return id.ParsePeerID(target)
}

// send hands one frame to the Router and counts the outcome.
func (t *Transport) send(peer id.PeerID, frame []byte, sent *atomic.Uint64) error {
	err := t.cfg.Router.SendRaft(peer, frame)
	switch {
	case err == nil:
		sent.Add(1)
	case errors.Is(err, ErrCongested):
		t.stats.congested.Add(1)
	default:
		t.stats.unroutable.Add(1)
	}
	return err
}

// batchConn sends message batches to one peer.
type batchConn struct {
	t      *Transport
	peer   id.PeerID
	closed atomic.Bool
}

func (c *batchConn) Close() { c.closed.Store(true) }

// SendMessageBatch marshals the batch at once (dragonboat reuses its
// buffers after the call) and queues it on the bond without waiting.
//
// What the errors mean to dragonboat: any error ends this connection,
// trips the circuit breaker for the whole peer (every shard: sends to it
// fail fast for 0.5 to 1 s), reports its replicas unreachable to Raft, and
// then re-dials (cheap here, GetConnection only parses the address). So a
// full bond queue is not an error: the batch is dropped and counted, and
// Raft's own retransmission (heartbeats, probing after a rejected append)
// covers the loss. A missing bond is an error, since the peer really is
// unreachable and Raft should know.
func (c *batchConn) SendMessageBatch(batch pb.MessageBatch) error {
	t := c.t
	if c.closed.Load() || t.closed.Load() {
		return ErrClosed
	}
	frames, oversized, err := splitBatch(&batch, t.cfg.MaxFrameSize)
	if err != nil {
		return err
	}
	t.stats.oversized.Add(uint64(oversized))
	for _, f := range frames {
		err := t.send(c.peer, f, &t.stats.batchFrames)
		if errors.Is(err, ErrCongested) {
			// Later frames of the batch may still fit once the bond
			// drains; Raft copes with the gap either way.
			continue
		}
		if err != nil {
			return fmt.Errorf("raftbond: send to %s: %w", c.peer.Short(), err)
		}
	}
	return nil
}

// chunkConn sends one snapshot's chunks, in order, to one peer.
type chunkConn struct {
	t      *Transport
	peer   id.PeerID
	failed error // set by the first chunk that could not be queued
	closed atomic.Bool
}

func (c *chunkConn) Close() { c.closed.Store(true) }

// SendChunk marshals the chunk (dragonboat reuses the data buffer) and
// queues it on the bond, behind the chunks before it. A chunk that cannot
// be queued fails the stream, and every later SendChunk fails too: the
// receiver must never see a gap. dragonboat then reports the snapshot
// rejected and sends it again later. dragonboat calls SendChunk from one
// goroutine per stream, so failed needs no lock.
func (c *chunkConn) SendChunk(chunk pb.Chunk) error {
	t := c.t
	if c.closed.Load() || t.closed.Load() {
		return ErrClosed
	}
	if c.failed != nil {
		return c.failed
	}
	frame, err := encodeChunk(&chunk)
	if err == nil && len(frame) > t.cfg.MaxFrameSize {
		t.stats.oversized.Add(1)
		err = fmt.Errorf("%w: chunk of %d bytes, limit %d", ErrTooLarge, len(frame), t.cfg.MaxFrameSize)
	}
	if err == nil {
		err = t.send(c.peer, frame, &t.stats.chunkFrames)
	}
	if err != nil {
		c.failed = fmt.Errorf("raftbond: snapshot chunk %d to %s: %w", chunk.ChunkId, c.peer.Short(), err)
		return c.failed
	}
	return nil
}

// Deliver hands a Raft frame received from peer to dragonboat. The bond
// layer calls it for every RaftFrame, with the PeerID its bond
// authenticated, in the order the bond received them; frame becomes the
// transport's.
//
// Errors: [ErrBadFrame] (and [ErrSourceMismatch], which is one) means the
// peer sent what no honest node sends: treat it as a protocol violation.
// [ErrNotAdmitted] means the [Gate] refused some messages; the rest were
// delivered. [ErrNotStarted] and [ErrClosed] mean the NodeHost is not
// running; the frame is dropped. Nothing the peer sends makes Deliver
// panic.
//
// Blocking: a batch only enqueues into dragonboat's per-shard queues and
// returns in microseconds. A snapshot chunk is written to the snapshot's
// directory by the caller's goroutine (up to 2 MiB, with an fsync at the
// end of each file); a caller that must not wait on the disk should run
// Deliver for its bond's Raft frames on a goroutine of their own (one per
// bond, to keep their order).
func (t *Transport) Deliver(from id.PeerID, frame []byte) error {
	kind, payload, err := frameKind(frame)
	if err == nil && kind == kindBatchS2 {
		kind = kindBatch
		buf := getScratch()
		if payload, err = inflate(*buf, payload, t.cfg.MaxFrameSize); err == nil {
			*buf = payload // grown to fit: keep it so
		}
		// decodeBatch below copies what it keeps.
		defer putScratch(buf, *buf)
	}
	if err != nil {
		t.stats.rejected.Add(1)
		return err
	}
	// Decode before taking the lock: it is the costly part and needs no
	// state.
	var (
		batch pb.MessageBatch
		chunk pb.Chunk
	)
	if kind == kindBatch {
		batch, err = decodeBatch(from, payload)
	} else {
		chunk, err = decodeChunk(payload)
	}
	if err != nil {
		t.stats.rejected.Add(1)
		return err
	}
	refused := 0
	if kind == kindBatch {
		batch.Requests, refused = t.admitted(from, batch.Requests)
	} else if !t.admit(from, chunk.ShardID, chunk.From) {
		refused = 1
	}
	t.stats.notAdmitted.Add(uint64(refused))

	t.mu.RLock()
	defer t.mu.RUnlock()
	switch {
	case t.mu.closed:
		return ErrClosed
	case !t.mu.started:
		return ErrNotStarted
	}
	if kind == kindBatch && len(batch.Requests) > 0 {
		t.handler(batch)
		t.stats.delivered.Add(1)
	}
	if kind == kindChunk && refused == 0 {
		// A false return means dragonboat dropped the chunk (out of
		// order, unknown snapshot, node removed); it keeps no stream
		// state we could reset, so there is nothing more to do.
		t.chunks(chunk)
		t.stats.delivered.Add(1)
	}
	if refused > 0 {
		return fmt.Errorf("%w: %d from %s", ErrNotAdmitted, refused, from.Short())
	}
	return nil
}

// Campaign makes the local replica of a shard stand for election now
// rather than when its election timeout runs out. dragonboat has no call
// for that; the message a leader sends to hand its lead over (TimeoutNow)
// is one, so Campaign delivers one from the replica to itself. A follower
// campaigns at once, skipping the pre-vote; a leader, candidate or
// non-voting replica ignores it, and so does a follower with configuration
// changes committed but not yet applied. It is only safe to disturb the
// election timer where nobody else could lead: the caller's replica must
// be its shard's only voter. Errors: [ErrNotStarted], [ErrClosed].
func (t *Transport) Campaign(shardID, replicaID uint64) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	switch {
	case t.mu.closed:
		return ErrClosed
	case !t.mu.started:
		return ErrNotStarted
	}
	t.handler(pb.MessageBatch{
		SourceAddress: t.self,
		DeploymentId:  t.deploy,
		BinVer:        raftio.TransportBinVersion,
		Requests: []pb.Message{{
			Type: pb.TimeoutNow, ShardID: shardID, From: replicaID, To: replicaID,
		}},
	})
	return nil
}

func (t *Transport) admit(from id.PeerID, shardID, replicaID uint64) bool {
	return t.cfg.Gate == nil || t.cfg.Gate.Admit(from, shardID, replicaID)
}

// admitted filters msgs in place down to those the Gate admits.
func (t *Transport) admitted(from id.PeerID, msgs []pb.Message) ([]pb.Message, int) {
	if t.cfg.Gate == nil {
		return msgs, 0
	}
	kept := msgs[:0]
	for _, m := range msgs {
		if t.admit(from, m.ShardID, m.From) {
			kept = append(kept, m)
		}
	}
	return kept, len(msgs) - len(kept)
}

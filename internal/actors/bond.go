package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/transport"
)

// bondQueue and bondQueueBytes bound the frames waiting to be written on
// one bond, in number and in encoded bytes, Raft frames included. A full
// queue drops the frame instead of blocking the group actor or the Raft
// engine: heartbeats are repeated anyway, and the consensus layer
// retransmits what it needs. 1024 frames alone would let a stalled peer
// pin 16 GiB (frames are up to 16 MiB); 32 MiB holds two of the largest
// Raft frames, or thousands of ordinary ones, and one frame larger than
// the whole budget still goes when the queue is empty.
const (
	bondQueue      = 1024
	bondQueueBytes = 32 << 20
)

// sendQueue is one bond's write queue: the channel its writer drains,
// bounded in frames, and the byte count of what waits in it. The Raft
// engine writes to it without the bond actor (see consensusHost.SendRaft),
// so the byte count cannot live in the actor: senders go through offer,
// which takes the bytes first.
type sendQueue struct {
	ch     chan proto.Message
	limit  int64
	bytes  atomic.Int64
	closed atomic.Bool // the bond stopped: nothing is taken any more
}

func newSendQueue(frames int, limit int64) *sendQueue {
	return &sendQueue{ch: make(chan proto.Message, frames), limit: limit}
}

// offer queues msg if the bond runs and msg fits in frames and bytes,
// without blocking, and reports whether it did. A frame must never wait in
// the queue of a bond that has stopped, where it would vanish without an
// error.
func (q *sendQueue) offer(msg proto.Message) bool {
	if q.closed.Load() {
		return false
	}
	n := int64(proto.Size(msg))
	if b := q.bytes.Add(n); b > q.limit && b != n {
		q.bytes.Add(-n)
		return false
	}
	select {
	case q.ch <- msg:
		return true
	default:
		q.bytes.Add(-n)
		return false
	}
}

// sent gives back the bytes of a message the writer took off the queue.
func (q *sendQueue) sent(size int) { q.bytes.Add(-int64(size)) }

// bondParams is what a group actor gives a bond actor.
type bondParams struct {
	group     id.GroupID
	network   id.NetworkID
	key       groups.Key
	self      id.PeerID
	peer      id.PeerID
	consensus groups.ConsensusConfig
	dir       groups.Direction

	// Outgoing bonds dial addr through endpoint; incoming ones start with
	// link, whose HandshakeStart the group actor already verified.
	endpoint transport.Endpoint
	addr     string
	link     transport.Link
	secret   []byte // incoming: the link's shared secret, already derived

	// raft hands received Raft frames to the replication engine, on the
	// bond's reader goroutine, which keeps them in order.
	raft func(from id.PeerID, frame []byte) error

	// knownBonds goes into our half of the handshake.
	knownBonds []id.PeerID
	stats      *BondStats
	metrics    *metrics.Group // the group's; nil records nothing
}

// BondStats counts one node's bond traffic across all its groups.
type BondStats struct {
	FramesSent, FramesReceived atomic.Uint64
	BytesSent, BytesReceived   atomic.Uint64
	Dropped                    atomic.Uint64 // frames dropped on a full queue
}

// Messages between a bond actor and its group actor. They stay inside
// the node and carry Go values (links, errors).
type (
	// bondUp: the handshake completed; the bond carries traffic.
	bondUp struct {
		peer       id.PeerID
		pid        *actor.PID
		dir        groups.Direction
		knownBonds []id.PeerID
		queue      *sendQueue // the write queue, for Raft frames
	}
	// bondDown: the bond ended; err says why.
	bondDown struct {
		peer  id.PeerID
		pid   *actor.PID
		err   error
		queue *sendQueue // the bond's write queue, to unroute
	}
	// bondReceived: a frame for the group actor (entry updates, topology,
	// Raft).
	bondReceived struct {
		peer id.PeerID
		msg  *messages.BondMessage
	}
	// closeBond asks a bond to close its link with code.
	closeBond struct {
		code   transport.CloseCode
		reason string
	}
	// departBond asks a bond to send Departure and close once the peer
	// has read it (or after a grace period).
	departBond struct{ reason string }
)

// Bond actor internals.
type (
	handshakeDone struct {
		link transport.Link
		end  groups.End
		err  error
	}
	frameIn      struct{ msg *messages.BondMessage }
	linkDown     struct{ err error }
	heartbeatDue struct{}
	departDue    struct{}
)

// bondActor keeps one authenticated link to one peer of one group: it
// runs the handshake (outgoing side), heartbeats the link, writes frames
// from its queue and hands received frames to its group actor.
type bondActor struct {
	p        bondParams
	tasks    *Tasks
	link     transport.Link
	queue    *sendQueue
	hb       groups.Heartbeat
	rx       atomic.Uint64 // frames read, counted by the reader task
	lastRx   uint64        // rx at the last heartbeat tick
	seq      uint64
	up       bool
	closing  bool
	departed bool // Departure sent; closing once the peer hangs up
	err      error
}

func newBondActor(p bondParams) actor.Producer {
	return func() actor.Actor { return &bondActor{p: p} }
}

func (b *bondActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		b.tasks = NewTasks()
		b.queue = newSendQueue(bondQueue, bondQueueBytes)
		b.hb = groups.NewHeartbeat(b.p.consensus.MaxMissedHeartbeats)
		if b.p.dir == groups.Outgoing {
			b.dial(ctx)
		} else {
			b.accept(ctx)
		}
	case *actor.Stopping:
		// Bonds are stopped, never restarted, after a crash (see the
		// groups supervisor): a crashed bond's link state is gone, and the
		// group actor dials again.
		b.shutdown(ctx, transport.CodeGracefulShutdown, "bond stopped")
	case *handshakeDone:
		if m.err != nil {
			b.fail(ctx, m.err)
			return
		}
		b.link = m.link
		b.start(ctx, m.end.KnownBonds)
	case *frameIn:
		b.received(ctx, m.msg)
	case *linkDown:
		b.fail(ctx, m.err)
	case *heartbeatDue:
		b.heartbeat(ctx)
	case *messages.BondMessage:
		b.send(m)
	case *closeBond:
		b.close(ctx, m.code, m.reason)
	case *departBond:
		b.depart(ctx, m.reason)
	case *departDue:
		b.close(ctx, transport.CodeSuccess, "departed")
	}
}

// dial runs the outgoing handshake off the mailbox: connect, prove the
// key, read the acceptor's proof.
func (b *bondActor) dial(ctx actor.Context) {
	p := b.p
	timeout := p.consensus.ForwardTimeout
	b.tasks.Go(ctx, func(tctx context.Context) any {
		tctx, cancel := context.WithTimeout(tctx, timeout)
		defer cancel()
		link, err := p.endpoint.Dial(tctx, p.peer, p.addr, transport.ALPNGroups)
		if err != nil {
			return &handshakeDone{err: fmt.Errorf("dial: %w", err)}
		}
		end, err := outgoingHandshake(tctx, link, p)
		if err != nil {
			var rej *groups.Rejection
			switch {
			case errors.As(err, &rej):
				link.Close(rej.Code, rej.Reason)
			case errors.Is(err, context.DeadlineExceeded):
				link.Close(transport.CodeTimeout, "handshake timed out")
			default:
				link.Close(transport.CodeBadHandshake, "handshake failed")
			}
			return &handshakeDone{err: err}
		}
		return &handshakeDone{link: link, end: end}
	})
}

func outgoingHandshake(ctx context.Context, link transport.Link, p bondParams) (groups.End, error) {
	secret, err := link.SharedSecret(groups.SecretLabel(p.group))
	if err != nil {
		return groups.End{}, err
	}
	start := groups.Start{Network: p.network, Group: p.group, KnownBonds: p.knownBonds}
	if err := link.Send(ctx, start.Proto(p.key, secret, p.self)); err != nil {
		return groups.End{}, fmt.Errorf("send handshake: %w", err)
	}
	var end messages.HandshakeEnd
	if err := link.Recv(ctx, &end); err != nil {
		return groups.End{}, fmt.Errorf("read handshake: %w", err)
	}
	return groups.VerifyEnd(&end, p.key, secret, p.peer)
}

// accept answers a verified incoming handshake with our proof. The
// answer is the first frame on the queue, so it precedes anything else.
func (b *bondActor) accept(ctx actor.Context) {
	b.link = b.p.link
	secret := b.p.secret
	if secret == nil {
		var err error
		if secret, err = b.link.SharedSecret(groups.SecretLabel(b.p.group)); err != nil {
			b.fail(ctx, err)
			return
		}
	}
	b.queue.offer(groups.End{KnownBonds: b.p.knownBonds}.Proto(b.p.key, secret, b.p.self)) // the queue is empty
	b.start(ctx, nil)
}

// start runs the bond: reader, writer and heartbeat tasks, then tells the
// group actor.
func (b *bondActor) start(ctx actor.Context, peerBonds []id.PeerID) {
	b.up = true
	link, stats, queue, raft, peer, rx := b.link, b.p.stats, b.queue, b.p.raft, b.p.peer, &b.rx
	gm := b.p.metrics
	// Tasks talk to the actor through these, never through ctx, which
	// belongs to the actor's own goroutine.
	sys, self := ctx.ActorSystem(), ctx.Self()
	b.tasks.Go(ctx, func(tctx context.Context) any {
		for {
			payload, err := link.RecvFrame(tctx)
			if err != nil {
				return &linkDown{err: err}
			}
			msg, err := groups.DecodeBondMessage(payload)
			if err != nil {
				link.Close(transport.CodeProtocolViolation, "undecodable bond frame")
				return &linkDown{err: err}
			}
			stats.FramesReceived.Add(1)
			stats.BytesReceived.Add(uint64(len(payload)))
			gm.BondReceived(len(payload))
			rx.Add(1) // any frame counts as a heartbeat
			if r, ok := msg.GetKind().(*messages.BondMessage_Raft); ok && raft != nil {
				// Straight to the engine: no actor hop on the hot path.
				_ = raft(peer, r.Raft.GetData())
				continue
			}
			sys.Root.Send(self, &frameIn{msg: msg})
		}
	})
	b.tasks.Go(ctx, func(tctx context.Context) any {
		for {
			select {
			case msg := <-queue.ch:
				size := proto.Size(msg)
				err := link.Send(tctx, msg)
				queue.sent(size)
				if err != nil {
					return &linkDown{err: err}
				}
				stats.FramesSent.Add(1)
				stats.BytesSent.Add(uint64(size))
				gm.BondSent(size)
			case <-tctx.Done():
				return nil
			}
		}
	})
	interval, jitter := b.p.consensus.HeartbeatInterval, b.p.consensus.HeartbeatJitter
	b.tasks.Go(ctx, func(tctx context.Context) any {
		t := time.NewTimer(groups.NextHeartbeat(interval, jitter, rand.Float64()))
		defer t.Stop()
		for {
			select {
			case <-t.C:
				sys.Root.Send(self, &heartbeatDue{})
				t.Reset(groups.NextHeartbeat(interval, jitter, rand.Float64()))
			case <-tctx.Done():
				return nil
			}
		}
	})
	ctx.Send(ctx.Parent(), &bondUp{peer: b.p.peer, pid: ctx.Self(), dir: b.p.dir, knownBonds: peerBonds, queue: b.queue})
}

func (b *bondActor) heartbeat(ctx actor.Context) {
	if n := b.rx.Load(); n != b.lastRx {
		b.lastRx = n
		b.hb.Heard()
	}
	ping, dead := b.hb.Tick()
	if dead {
		b.close(ctx, transport.CodeTimeout, fmt.Sprintf("no frame for %d heartbeats", b.p.consensus.MaxMissedHeartbeats))
		return
	}
	if ping {
		b.seq++
		b.send(groups.PingMessage(b.seq))
	}
}

func (b *bondActor) received(ctx actor.Context, msg *messages.BondMessage) {
	switch k := msg.GetKind().(type) {
	case *messages.BondMessage_Ping:
		b.send(groups.PongMessage(k.Ping.GetSeq()))
	case *messages.BondMessage_Pong:
	case *messages.BondMessage_Departure:
		// The peer is leaving; closing here is what lets its Departure
		// through (a closing side discards unsent frames, so it waits for
		// us to hang up).
		b.close(ctx, transport.CodeSuccess, "peer departed: "+k.Departure.GetReason())
	default:
		ctx.Send(ctx.Parent(), &bondReceived{peer: b.p.peer, msg: msg})
	}
}

// send queues a frame; a full queue drops it (see bondQueue).
func (b *bondActor) send(msg proto.Message) {
	if !b.up || b.closing {
		return
	}
	if !b.queue.offer(msg) {
		b.p.stats.Dropped.Add(1)
		b.p.metrics.BondDropped()
	}
}

func (b *bondActor) depart(ctx actor.Context, reason string) {
	if !b.up || b.departed {
		b.close(ctx, transport.CodeSuccess, reason)
		return
	}
	b.send(groups.DepartureMessage(reason))
	b.departed = true
	grace := b.p.consensus.ForwardTimeout
	b.tasks.Go(ctx, func(tctx context.Context) any {
		select {
		case <-time.After(grace):
			return &departDue{}
		case <-tctx.Done():
			return nil
		}
	})
}

// fail ends the bond because its link or handshake failed.
func (b *bondActor) fail(ctx actor.Context, err error) {
	if b.err == nil {
		b.err = err
	}
	if b.departed && b.err != nil {
		// After our Departure the peer hanging up is the expected end.
		b.err = nil
	}
	b.stop(ctx)
}

// close ends the bond with a code of our choosing.
func (b *bondActor) close(ctx actor.Context, code transport.CloseCode, reason string) {
	if b.link != nil {
		b.link.Close(code, reason)
	}
	if b.err == nil && code != transport.CodeSuccess {
		b.err = &transport.CloseError{Code: code, Reason: reason}
	}
	b.stop(ctx)
}

func (b *bondActor) stop(ctx actor.Context) {
	if b.closing {
		return
	}
	b.closing = true
	ctx.Send(ctx.Parent(), &bondDown{peer: b.p.peer, pid: ctx.Self(), err: b.err, queue: b.queue})
	ctx.Stop(ctx.Self())
}

// shutdown releases the link and every task; it runs as the actor stops.
func (b *bondActor) shutdown(ctx actor.Context, code transport.CloseCode, reason string) {
	if b.queue != nil {
		b.queue.closed.Store(true)
	}
	if b.link != nil {
		b.link.Close(code, reason)
	} else if b.p.link != nil {
		b.p.link.Close(code, reason)
	}
	if b.tasks != nil {
		b.tasks.Stop()
	}
	if !b.closing {
		b.closing = true
		ctx.Send(ctx.Parent(), &bondDown{peer: b.p.peer, pid: ctx.Self(), err: b.err, queue: b.queue})
	}
}

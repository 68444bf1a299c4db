package streams

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/transport"
)

// errUnsubscribed ends a channel the consumer dropped itself.
var errUnsubscribed = errors.New("streams: producer no longer eligible")

// consumerCore is the untyped consumer: the actor that keeps one channel
// per eligible producer, and the queue their datums arrive in.
type consumerCore struct {
	ns      *nodeStreams
	stream  id.StreamID
	pid     *actor.PID
	cfg     consumerSettings
	metrics *metrics.Stream
	decode  func([]byte) (any, error)

	id     uint64 // names this consumer to producers, among its node's
	recv   chan any
	view   *feed.Value[sideView]
	total  struct{ datums, bytes atomic.Uint64 }
	closed chan struct{}
	once   sync.Once
}

func (c *consumerCore) markClosed() { c.once.Do(func() { close(c.closed) }) }

type consumerSettings struct {
	require  requirements
	criteria []byte
	backoff  Backoff
	online   ChannelConditions
}

// inChannel is one producer's channel on the consumer's side; its
// goroutine dials, handshakes, reads and reconnects.
type inChannel struct {
	rec    *channelRecord
	addr   string
	cancel context.CancelFunc
}

// Messages of the consumer actor, sent by channel goroutines.
type (
	inConnected    struct{ ch *inChannel }
	inDisconnected struct {
		ch  *inChannel
		err error
	}
	inEnded struct {
		ch  *inChannel
		err error
	}
)

// consumerActor keeps the consumer's channels in line with the catalog:
// one per eligible producer, started, dropped and re-planned on every
// catalog change (planChannels decides), and publishes the view.
type consumerActor struct {
	core       *consumerCore
	tasks      *actors.Tasks
	channels   map[id.PeerID]*inChannel
	ended      map[id.PeerID]*channelRecord // last ended channel per producer, for listings
	terminated map[id.PeerID]termMark
	snap       *discovery.Snapshot
	expiry     time.Time
}

func (a *consumerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.tasks = actors.NewTasks()
		a.channels = make(map[id.PeerID]*inChannel)
		a.ended = make(map[id.PeerID]*channelRecord)
		a.terminated = make(map[id.PeerID]termMark)
		a.core.metrics.ConsumersActive.Inc()
		watchCatalog(ctx, a.tasks, a.core.ns)
		a.publish()
	case *catalogChanged:
		a.snap = m.snap
		a.plan(ctx)
	case *expiryTick:
		a.expiry = time.Time{}
		a.plan(ctx)
	case *inConnected:
		if a.current(m.ch) {
			m.ch.rec.setState(Connected, nil)
			a.core.metrics.ConnAccepted.Inc()
			a.publish()
		}
	case *inDisconnected:
		if a.current(m.ch) {
			m.ch.rec.setState(Connecting, m.err)
			a.publish()
		}
	case *inEnded:
		if a.current(m.ch) {
			peer := m.ch.rec.peer
			delete(a.channels, peer)
			m.ch.rec.setState(Terminated, m.err)
			a.ended[peer] = m.ch.rec
			mark := termMark{local: a.snap.Local().Version}
			if e, ok := a.snap.Get(peer); ok {
				mark.producer = e.Version
			}
			a.terminated[peer] = mark
			a.publish()
		}
	case *actor.Stopping:
		a.core.markClosed()
		for _, ch := range a.channels {
			ch.cancel()
		}
		a.tasks.Stop()
		a.core.metrics.ConsumersActive.Dec()
		a.core.metrics.ConsumerProducers.Sub(float64(a.connected()))
		a.channels = nil
		a.core.view.Set(sideView{closed: true})
	}
}

func (a *consumerActor) current(ch *inChannel) bool { return a.channels[ch.rec.peer] == ch }

func (a *consumerActor) plan(ctx actor.Context) {
	if a.snap == nil {
		return
	}
	self := a.snap.Local()
	candidates := producerCandidates(a.snap.Peers(), self.Peer, a.core.stream)
	running := make(map[id.PeerID]PeerInfo, len(a.channels))
	var moved []id.PeerID
	for peer, ch := range a.channels {
		if e, ok := candidates[peer]; ok {
			ch.rec.setEntry(e)
			if len(e.Addrs) > 0 && e.Addrs[0] != ch.addr {
				moved = append(moved, peer) // restarted elsewhere: dial the new address now
				continue
			}
		}
		running[peer] = ch.rec.peerInfo(nil)
	}
	for _, peer := range moved {
		a.channels[peer].cancel()
		delete(a.channels, peer)
	}
	start, stop, forget := planChannels(planInput{
		candidates: candidates, running: running, terminated: a.terminated,
		local: self.Version, require: a.core.cfg.require,
	})
	for _, peer := range stop {
		ch := a.channels[peer]
		ch.cancel()
		delete(a.channels, peer)
		ch.rec.setState(Terminated, errUnsubscribed)
		a.ended[peer] = ch.rec
	}
	for _, peer := range forget {
		delete(a.terminated, peer)
		delete(a.ended, peer)
	}
	for _, peer := range start {
		a.startChannel(ctx, candidates[peer])
	}
	for _, ch := range a.channels {
		if exp, ok := a.core.cfg.require.check(ch.rec.peerInfo(nil)); ok {
			a.expiry = armExpiry(ctx, a.tasks, a.expiry, exp)
		}
	}
	a.publish()
}

func (a *consumerActor) startChannel(ctx actor.Context, e discovery.Entry) {
	if len(e.Addrs) == 0 {
		return
	}
	delete(a.ended, e.Peer)
	cctx, cancel := context.WithCancel(a.tasks.Context())
	ch := &inChannel{rec: newChannelRecord(e.Peer, e), addr: e.Addrs[0], cancel: cancel}
	a.channels[e.Peer] = ch
	core, sys, self := a.core, ctx.ActorSystem(), ctx.Self()
	notify := func(msg any) { sys.Root.Send(self, msg) }
	a.tasks.Go(ctx, func(context.Context) any {
		defer cancel()
		return core.run(cctx, ch, notify)
	})
}

func (a *consumerActor) connected() int {
	n := 0
	for _, ch := range a.channels {
		if ch.rec.state() == Connected {
			n++
		}
	}
	return n
}

func (a *consumerActor) publish() {
	recs := make([]*channelRecord, 0, len(a.channels)+len(a.ended))
	for _, ch := range a.channels {
		recs = append(recs, ch.rec)
	}
	for _, r := range a.ended {
		recs = append(recs, r)
	}
	n := a.connected()
	prev := a.core.view.Get().connected
	a.core.metrics.ConsumerProducers.Add(float64(n - prev))
	a.core.view.Set(sideView{channels: recs, online: a.core.cfg.online.Met(infos(recs)), connected: n})
}

// run keeps one producer's channel up: sessions one after another, with
// backoff between failures, a catalog sync after 401, until the channel
// ends for good or ctx ends. It runs on a goroutine the actor's tasks own
// and returns what the actor should hear last (nil after ctx ended).
func (c *consumerCore) run(ctx context.Context, ch *inChannel, notify func(any)) any {
	b := c.cfg.backoff
	attempt, resyncs := 0, 0
	var failingSince time.Time
	for {
		connected, err := c.session(ctx, ch, notify)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			attempt, resyncs, failingSince = 0, 0, time.Time{}
		}
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if !connected {
			c.metrics.ConnRejected.Inc()
		}
		switch classifyClose(err) {
		case terminal:
			return &inEnded{ch: ch, err: err}
		case resyncNow:
			if resyncs < 3 {
				resyncs++
				notify(&inDisconnected{ch: ch, err: err})
				sctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
				serr := c.ns.node.SyncWithPeer(sctx, ch.rec.peer, ch.addr)
				cancel()
				if serr == nil {
					continue
				}
			}
		}
		if b.Exhausted(time.Since(failingSince)) {
			return &inEnded{ch: ch, err: fmt.Errorf("streams: gave up after %s: %w", b.MaxElapsed, err)}
		}
		notify(&inDisconnected{ch: ch, err: err})
		t := time.NewTimer(b.Delay(attempt, rand.Float64()))
		attempt++
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// session is one connection to the producer: dial, subscribe, echo the
// probe, check the requirements with the measured round trip, wait for
// the acknowledgement, then read batches into the receive queue until the
// link ends. connected says whether it got that far.
func (c *consumerCore) session(ctx context.Context, ch *inChannel, notify func(any)) (connected bool, err error) {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	l, err := c.ns.node.Endpoint().Dial(hctx, ch.rec.peer, ch.addr, transport.ALPNStreams)
	if err != nil {
		return false, err
	}
	defer l.Close(transport.CodeSuccess, "unsubscribed")
	sub := &messages.StreamSubscribe{
		NetworkId: c.ns.network.Proto(), StreamId: c.stream.Proto(), Criteria: c.cfg.criteria,
		EntryVersion: c.ns.node.Catalog().Local().Version, ConsumerId: c.id,
	}
	if err := l.Send(hctx, sub); err != nil {
		return false, err
	}
	start := time.Now()
	var probe messages.StreamProbe
	if err := l.Recv(hctx, &probe); err != nil {
		return false, err
	}
	rtt := time.Since(start)
	if err := l.Send(hctx, &probe); err != nil {
		return false, err
	}
	ch.rec.setRTT(rtt)
	if _, ok := c.cfg.require.check(ch.rec.peerInfo(nil)); !ok {
		const reason = "producer does not meet the consumer's requirements"
		_ = l.Close(transport.CodeStreamNotAllowed, reason)
		return false, &transport.CloseError{Code: transport.CodeStreamNotAllowed, Reason: reason}
	}
	var acc messages.StreamAccepted
	if err := l.Recv(hctx, &acc); err != nil {
		return false, err
	}
	notify(&inConnected{ch: ch})
	for {
		frame, err := l.RecvFrame(ctx)
		if err != nil {
			return true, err
		}
		var n, size uint64
		err = decodeBatch(frame, func(d []byte) error {
			v, err := c.decode(d)
			if err != nil {
				return fmt.Errorf("%w: %w", errDecode, err)
			}
			select {
			case c.recv <- v:
			case <-ctx.Done():
				return ctx.Err()
			case <-l.Done():
				// The producer gave up on us (10_413, say) while we
				// waited for room: what is left of the batch is lost.
				return l.Err()
			}
			n++
			size += uint64(len(d))
			ch.rec.datums.Add(1)
			ch.rec.bytes.Add(uint64(len(d)))
			c.total.datums.Add(1)
			c.total.bytes.Add(uint64(len(d)))
			return nil
		})
		c.metrics.ItemsReceived.Add(float64(n))
		c.metrics.BytesReceived.Add(float64(size))
		c.metrics.Datums.Add(float64(n))
		c.metrics.Bytes.Add(float64(size))
		if err != nil {
			if errors.Is(err, errDecode) {
				_ = l.Close(transport.CodeProtocolViolation, err.Error())
			}
			return true, err
		}
	}
}

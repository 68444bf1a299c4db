package streams

import (
	"context"
	"errors"
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

// errReplaced ends a channel whose consumer opened a new one.
var errReplaced = errors.New("streams: replaced by a new channel of the same consumer")

// maxBatchBytes bounds how many payload bytes a consumer's writer puts in
// one frame; a datum larger than that goes alone.
const maxBatchBytes = 256 << 10

// producerCore is the untyped producer: the actor that owns its channels
// and the lock-free path datums take to them.
type producerCore struct {
	ns      *nodeStreams
	stream  id.StreamID
	pid     *actor.PID
	cfg     producerSettings
	metrics *metrics.Stream

	fan         atomic.Pointer[fanout] // published by the actor
	view        *feed.Value[sideView]
	undelivered atomic.Uint64
	total       struct{ datums, bytes, dropped atomic.Uint64 }
	closed      chan struct{}
	handle      any // the typed *Producer[T], for AlreadyExists
	once        sync.Once
}

func (p *producerCore) markClosed() { p.once.Do(func() { close(p.closed) }) }

// producerSettings is the untyped part of ProducerConfig.
type producerSettings struct {
	queueSize    int
	dropLagging  bool
	maxConsumers int
	require      requirements
	online       ChannelConditions
}

// fanout is what a send needs: the connected consumers and whether the
// producer is online. The actor replaces it whenever either changes.
type fanout struct {
	channels []*outChannel
	online   bool
}

// outChannel is one consumer's channel on the producer's side.
type outChannel struct {
	key      channelKey
	rec      *channelRecord
	link     transport.Link
	criteria []byte
	queue    chan []byte
	lagging  atomic.Bool
	expiry   discovery.Expiration
}

type sendResult int

const (
	sentOK sendResult = iota
	sentOffline
	sentFull
	sentClosed
	sentNowhere // online with no consumer: undelivered
)

// offer queues one encoded datum for every connected consumer. It never
// blocks: a consumer whose queue is full loses the datum (DropLagging) or
// is reported to the actor as lagging, once.
func (p *producerCore) offer(b []byte) sendResult {
	select {
	case <-p.closed:
		return sentClosed
	default:
	}
	f := p.fan.Load()
	if !f.online {
		return sentOffline
	}
	delivered, full := 0, 0
	for _, ch := range f.channels {
		select {
		case ch.queue <- b:
			delivered++
			continue
		default:
		}
		full++
		if p.cfg.dropLagging {
			ch.rec.dropped.Add(1)
			p.total.dropped.Add(1)
			p.metrics.ItemsDropped.Inc()
		} else if ch.lagging.CompareAndSwap(false, true) {
			p.ns.node.Actors().Root().Send(p.pid, &laggingConsumer{ch: ch})
		}
	}
	switch {
	case delivered > 0:
		return sentOK
	case full > 0:
		return sentFull
	}
	p.undelivered.Add(1)
	return sentNowhere
}

// Messages of the producer actor.
type (
	admitRequest struct {
		link     transport.Link
		consumer uint64 // the consumer's id among its node's
		known    bool
		entry    discovery.Entry
		rtt      time.Duration
		criteria []byte
	}
	admitReply      struct{ accepted bool }
	laggingConsumer struct{ ch *outChannel }
	outEnded        struct {
		ch  *outChannel
		err error
	}
	catalogChanged struct{ snap *discovery.Snapshot }
	expiryTick     struct{}
)

// producerActor owns a producer's channels: it admits consumers, starts a
// writer per consumer, drops consumers that lag or stop qualifying, and
// publishes the fan-out and the view after every change.
type producerActor struct {
	core     *producerCore
	tasks    *actors.Tasks
	channels map[channelKey]*outChannel
	expiry   time.Time // the armed expiry timer, zero if none
}

// channelKey names one consumer: its node and its id among the node's
// consumers.
type channelKey struct {
	peer     id.PeerID
	consumer uint64
}

func (a *producerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.tasks = actors.NewTasks()
		a.channels = make(map[channelKey]*outChannel)
		watchCatalog(ctx, a.tasks, a.core.ns)
		a.core.metrics.ProducersActive.Set(1)
		a.publish()
	case *admitRequest:
		a.admit(ctx, m)
	case *laggingConsumer:
		if a.channels[m.ch.key] == m.ch {
			_ = m.ch.link.Close(transport.CodeTooSlow, "consumer queue full")
			a.core.metrics.ConsumersRejected.Inc()
		}
	case *outEnded:
		if a.channels[m.ch.key] == m.ch {
			delete(a.channels, m.ch.key)
			m.ch.rec.setState(Terminated, m.err)
			a.publish()
		}
	case *catalogChanged:
		a.recheck(ctx, m.snap)
	case *expiryTick:
		a.expiry = time.Time{}
		a.recheck(ctx, a.core.ns.node.Catalog())
	case *actor.Stopping:
		a.core.markClosed()
		for _, ch := range a.channels {
			_ = ch.link.Close(transport.CodeGracefulShutdown, "producer closed")
		}
		a.tasks.Stop()
		a.core.metrics.ProducersActive.Set(0)
		a.core.metrics.ProducerConsumers.Set(0)
		a.channels = nil
		a.publishClosed()
	}
}

func (a *producerActor) admit(ctx actor.Context, m *admitRequest) {
	peer := m.link.Peer()
	key := channelKey{peer: peer, consumer: m.consumer}
	info := PeerInfo{Entry: m.entry, RTT: m.rtt, HasRTT: true, Criteria: m.criteria}
	connected := len(a.channels)
	old, replacing := a.channels[key]
	if replacing {
		// The consumer reconnected before we saw its old channel end (it
		// crashed, or the link died silently): the new one replaces it.
		connected--
	}
	v := decideAdmission(admissionInput{
		known: m.known, peer: info, connected: connected, maxConsumers: a.core.cfg.maxConsumers,
		require: a.core.cfg.require,
	})
	ctx.Respond(&admitReply{accepted: v.accept})
	if !v.accept {
		_ = m.link.Close(transport.CloseCode(v.code), v.reason)
		a.core.metrics.ConsumersRejected.Inc()
		a.core.metrics.ConnRejected.Inc()
		return
	}
	rec := newChannelRecord(peer, m.entry)
	rec.setRTT(m.rtt)
	rec.setState(Connected, nil)
	if replacing {
		_ = old.link.Close(transport.CodeGracefulShutdown, "replaced by a new channel of the same consumer")
		old.rec.setState(Terminated, errReplaced)
	}
	ch := &outChannel{key: key, rec: rec, link: m.link, criteria: m.criteria, queue: make(chan []byte, a.core.cfg.queueSize), expiry: v.expiry}
	a.channels[key] = ch
	a.core.metrics.ConsumersAccepted.Inc()
	a.core.metrics.ConnAccepted.Inc()
	core := a.core
	a.tasks.Go(ctx, func(tctx context.Context) any {
		return &outEnded{ch: ch, err: core.write(tctx, ch)}
	})
	a.armExpiry(ctx, v.expiry)
	a.publish()
}

// recheck re-evaluates every consumer against its newest entry and the
// clock, after a catalog change or at a ticket's expiry, and closes with
// 10_403 the channels of consumers that no longer qualify.
func (a *producerActor) recheck(ctx actor.Context, snap *discovery.Snapshot) {
	changed := false
	for _, ch := range a.channels {
		if e, ok := snap.Get(ch.rec.peer); ok {
			ch.rec.setEntry(e)
			changed = true
		}
		exp, ok := a.core.cfg.require.check(ch.rec.peerInfo(ch.criteria))
		if !ok {
			_ = ch.link.Close(transport.CodeStreamNotAllowed, "consumer no longer meets the producer's requirements")
			a.core.metrics.ConsumersRejected.Inc()
			continue
		}
		ch.expiry = exp
		a.armExpiry(ctx, exp)
	}
	if changed {
		a.publish() // conditions on tags see the new entries
	}
}

// armExpiry makes sure a tick arrives at exp, unless an earlier one is
// already armed.
func (a *producerActor) armExpiry(ctx actor.Context, exp discovery.Expiration) {
	a.expiry = armExpiry(ctx, a.tasks, a.expiry, exp)
}

func armExpiry(ctx actor.Context, tasks *actors.Tasks, armed time.Time, exp discovery.Expiration) time.Time {
	if exp.IsNever() || (!armed.IsZero() && !exp.Time().Before(armed)) {
		return armed
	}
	at := exp.Time()
	tasks.Go(ctx, func(tctx context.Context) any {
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		select {
		case <-t.C:
			return &expiryTick{}
		case <-tctx.Done():
			return nil
		}
	})
	return at
}

func (a *producerActor) publish() {
	recs := make([]*channelRecord, 0, len(a.channels))
	chs := make([]*outChannel, 0, len(a.channels))
	for _, ch := range a.channels {
		recs = append(recs, ch.rec)
		chs = append(chs, ch)
	}
	online := a.core.cfg.online.Met(infos(recs))
	a.core.fan.Store(&fanout{channels: chs, online: online})
	a.core.view.Set(sideView{channels: recs, online: online, connected: len(recs)})
	a.core.metrics.ProducerConsumers.Set(float64(len(recs)))
}

func (a *producerActor) publishClosed() {
	a.core.fan.Store(&fanout{})
	a.core.view.Set(sideView{closed: true})
}

// write is one consumer's writer: it acknowledges the subscription, then
// writes whatever is queued, batched into frames, until the link or the
// producer ends. It runs on a goroutine the actor's tasks own.
func (p *producerCore) write(ctx context.Context, ch *outChannel) error {
	l := ch.link
	defer l.Close(transport.CodeGracefulShutdown, "producer writer ended")
	if err := l.Send(ctx, &messages.StreamAccepted{}); err != nil {
		return err
	}
	batch := make([][]byte, 0, 64)
	var buf []byte
	for {
		select {
		case b := <-ch.queue:
			batch = append(batch, b)
		case <-l.Done():
			return l.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
		size := len(batch[0])
	drain:
		for size < maxBatchBytes {
			select {
			case b := <-ch.queue:
				batch = append(batch, b)
				size += len(b)
			default:
				break drain
			}
		}
		buf = appendBatch(buf[:0], batch)
		if err := l.SendFrame(ctx, buf); err != nil {
			if errors.Is(err, transport.ErrClosed) {
				return l.Err()
			}
			return err
		}
		n := uint64(len(batch))
		ch.rec.datums.Add(n)
		ch.rec.bytes.Add(uint64(size))
		p.total.datums.Add(n)
		p.total.bytes.Add(uint64(size))
		p.metrics.ItemsSent.Add(float64(n))
		p.metrics.BytesSent.Add(float64(size))
		p.metrics.Datums.Add(float64(n))
		p.metrics.Bytes.Add(float64(size))
		clear(batch)
		batch = batch[:0]
		if cap(buf) > 4*maxBatchBytes {
			buf = nil
		}
	}
}

// watchCatalog sends the actor the catalog now and after every change,
// until the actor's tasks stop.
func watchCatalog(ctx actor.Context, tasks *actors.Tasks, ns *nodeStreams) {
	sys, self := ctx.ActorSystem(), ctx.Self()
	tasks.Go(ctx, func(tctx context.Context) any {
		snap := ns.node.Catalog()
		for {
			sys.Root.Send(self, &catalogChanged{snap: snap})
			select {
			case <-snap.Changed():
				snap = ns.node.Catalog()
			case <-tctx.Done():
				return nil
			}
		}
	})
}

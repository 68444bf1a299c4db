package streams

import (
	"context"
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Producer is a node's producer of one typed stream. Its methods are safe
// for concurrent use. Datums sent from one goroutine reach each consumer
// in the order sent.
type Producer[T any] struct {
	core      *producerCore
	codec     statemachine.Codec[T]
	sink      func(T)
	closeOnce sync.Once
	closeErr  error
}

// Produce starts producing the stream def declares on node, advertises it
// in the node's entry and returns the producer. A node produces a stream
// once: a second Produce of the same stream returns the existing producer
// with ErrAlreadyExists (and ErrTypeMismatch if its datum type differs).
func Produce[T any](ctx context.Context, node *cluster.Node, def Def[T]) (*Producer[T], error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	ns, err := forNode(node)
	if err != nil {
		return nil, err
	}
	stream := def.StreamID()
	ns.mu.Lock()
	if existing, ok := ns.mu.producers[stream]; ok {
		ns.mu.Unlock()
		if p, ok := existing.handle.(*Producer[T]); ok {
			return p, fmt.Errorf("%w: %s", ErrAlreadyExists, stream.Short())
		}
		return nil, fmt.Errorf("%w: %s", ErrTypeMismatch, stream.Short())
	}
	cfg := def.Producer
	core := &producerCore{
		ns: ns, stream: stream, metrics: ns.streamMetrics(stream),
		view:   feed.NewValue(sideView{}),
		closed: make(chan struct{}),
		cfg: producerSettings{
			queueSize:    cfg.QueueSize,
			dropLagging:  cfg.DropLagging,
			maxConsumers: cfg.MaxConsumers,
			require:      requirements{preds: cfg.Require, tickets: cfg.Tickets},
			online:       cfg.OnlineWhen.or(MinimumOf(1)),
		},
	}
	if core.cfg.queueSize == 0 {
		core.cfg.queueSize = DefaultQueueSize
	}
	core.fan.Store(&fanout{})
	p := &Producer[T]{core: core, codec: def.Codec, sink: cfg.UndeliveredSink}
	core.handle = p
	ns.mu.producers[stream] = core // reserved before spawning, so a racing Produce sees it
	ns.mu.Unlock()

	props := actors.Props(func() actor.Actor { return &producerActor{core: core} })
	pid, err := node.Actors().Spawn(props, "streams-producer-"+stream.String())
	if err == nil {
		core.pid = pid
		err = ns.advertise(ctx, stream)
	}
	if err != nil {
		p.shutdown(ctx, false)
		return nil, fmt.Errorf("streams: produce %s: %w", stream.Short(), err)
	}
	return p, nil
}

// ProduceOrGet is Produce that returns the node's existing producer of
// the stream, if any, without an error.
func ProduceOrGet[T any](ctx context.Context, node *cluster.Node, def Def[T]) (*Producer[T], error) {
	p, err := Produce(ctx, node, def)
	if p != nil && err != nil && !isTypeMismatch(err) {
		return p, nil
	}
	return p, err
}

// StreamID is the id of the stream produced.
func (p *Producer[T]) StreamID() id.StreamID { return p.core.stream }

// TrySend encodes d once and queues it for every connected consumer,
// without waiting. It fails with a *SendError handing d back: ErrOffline
// while the online conditions do not hold, ErrFull when every consumer's
// queue was full, ErrClosed after Close, ErrEncode or ErrTooLarge when d
// cannot be sent at all. A datum sent while online with no consumer
// (MinimumOf(0)) goes to the UndeliveredSink and is not an error.
func (p *Producer[T]) TrySend(d T) error {
	b, err := p.codec.Encode(d)
	if err != nil {
		return &SendError[T]{Datum: d, Err: fmt.Errorf("%w: %w", ErrEncode, err)}
	}
	if len(b) > MaxDatumSize {
		return &SendError[T]{Datum: d, Err: fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))}
	}
	switch p.core.offer(b) {
	case sentOffline:
		return &SendError[T]{Datum: d, Err: ErrOffline}
	case sentFull:
		return &SendError[T]{Datum: d, Err: ErrFull}
	case sentClosed:
		return &SendError[T]{Datum: d, Err: ErrClosed}
	case sentNowhere:
		if p.sink != nil {
			p.sink(d)
		}
	}
	return nil
}

// Send waits until the producer is online, then sends d as TrySend does.
// It returns ctx's error if ctx ends first, ErrClosed once closed.
func (p *Producer[T]) Send(ctx context.Context, d T) error {
	for {
		err := p.TrySend(d)
		if err == nil || !isOffline(err) {
			return err
		}
		if err := p.When().Online(ctx); err != nil {
			return err
		}
	}
}

// Consumers lists the connected consumers' channels.
func (p *Producer[T]) Consumers() []ChannelInfo { return infos(p.core.view.Get().channels) }

// Stats are the producer's totals.
func (p *Producer[T]) Stats() Stats {
	return Stats{
		Datums: p.core.total.datums.Load(), Bytes: p.core.total.bytes.Load(),
		Dropped: p.core.total.dropped.Load(), Undelivered: p.core.undelivered.Load(),
	}
}

// When waits for the producer's conditions.
func (p *Producer[T]) When() When { return When{v: p.core.view} }

// Close stops producing: consumers' channels close with 204 (graceful
// shutdown, which ends them for good) and the stream leaves the node's
// entry. It waits for the producer's goroutines. Idempotent.
func (p *Producer[T]) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { p.closeErr = p.shutdown(ctx, true) })
	return p.closeErr
}

func (p *Producer[T]) shutdown(ctx context.Context, advertised bool) error {
	c := p.core
	c.ns.mu.Lock()
	if c.ns.mu.producers[c.stream] == c {
		delete(c.ns.mu.producers, c.stream)
	}
	c.ns.mu.Unlock()
	c.markClosed()
	var err error
	if c.pid != nil {
		err = stopActor(c.ns.node, c.pid)
	}
	if advertised {
		if werr := c.ns.withdraw(ctx, c.stream); werr != nil && err == nil && !c.ns.node.Actors().Closed() {
			err = werr
		}
	}
	return err
}

func stopActor(node *cluster.Node, pid *actor.PID) error {
	if node.Actors().Closed() {
		return nil // the node's close stopped it
	}
	if err := node.Actors().Root().StopFuture(pid).Wait(); err != nil {
		return fmt.Errorf("streams: stop %s: %w", pid.Id, err)
	}
	return nil
}

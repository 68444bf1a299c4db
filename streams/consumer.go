package streams

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/feed"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
)

// Consumer is a node's consumer of one typed stream: it subscribes by
// itself to every eligible producer in the catalog. Datums of one
// producer arrive in the order it sent them; datums of different
// producers interleave. Its methods are safe for concurrent use.
type Consumer[T any] struct {
	core      *consumerCore
	closeOnce sync.Once
	closeErr  error
}

// Consume starts consuming the stream def declares on node.
func Consume[T any](ctx context.Context, node *cluster.Node, def Def[T]) (*Consumer[T], error) {
	if err := def.Validate(); err != nil {
		return nil, err
	}
	ns, err := forNode(node)
	if err != nil {
		return nil, err
	}
	stream := def.StreamID()
	cfg := def.Consumer
	size := cfg.QueueSize
	if size == 0 {
		size = DefaultQueueSize
	}
	codec := def.Codec
	core := &consumerCore{
		ns: ns, stream: stream, metrics: ns.streamMetrics(stream),
		decode: func(b []byte) (any, error) { return codec.Decode(b) },
		id:     rand.Uint64(),
		recv:   make(chan any, size),
		view:   feed.NewValue(sideView{}),
		closed: make(chan struct{}),
		cfg: consumerSettings{
			require:  requirements{preds: cfg.Require, tickets: cfg.Tickets},
			criteria: cfg.Criteria,
			backoff:  cfg.Backoff.withDefaults(),
			online:   cfg.OnlineWhen.or(MinimumOf(0)),
		},
	}
	core.view.Set(sideView{online: core.cfg.online.Met(nil)})
	ns.mu.Lock()
	ns.mu.consumers++
	name := "streams-consumer-" + stream.String() + "-" + strconv.Itoa(ns.mu.consumers)
	ns.mu.Unlock()
	c := &Consumer[T]{core: core}
	props := actors.Props(func() actor.Actor { return &consumerActor{core: core} })
	pid, err := node.Actors().Spawn(props, name)
	if err != nil {
		return nil, fmt.Errorf("streams: consume %s: %w", stream.Short(), err)
	}
	core.pid = pid
	if err := ns.advertise(ctx, ConsumerMark(stream)); err != nil {
		_ = stopActor(node, pid)
		return nil, fmt.Errorf("streams: consume %s: %w", stream.Short(), err)
	}
	return c, nil
}

// StreamID is the id of the stream consumed.
func (c *Consumer[T]) StreamID() id.StreamID { return c.core.stream }

// Recv returns the next datum, waiting for one. It returns ctx's error
// when ctx ends and ErrClosed once the consumer is closed.
func (c *Consumer[T]) Recv(ctx context.Context) (T, error) {
	select {
	case v := <-c.core.recv:
		return v.(T), nil
	default:
	}
	var zero T
	select {
	case v := <-c.core.recv:
		return v.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-c.core.closed:
		return zero, ErrClosed
	}
}

// TryRecv returns the next datum if one is queued.
func (c *Consumer[T]) TryRecv() (T, bool) {
	select {
	case v := <-c.core.recv:
		return v.(T), true
	default:
		var zero T
		return zero, false
	}
}

// All iterates over the datums as they arrive, until ctx ends or the
// consumer is closed.
func (c *Consumer[T]) All(ctx context.Context) iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			v, err := c.Recv(ctx)
			if err != nil || !yield(v) {
				return
			}
		}
	}
}

// Producers lists the consumer's channels: connected, connecting, and the
// last ended one of each producer still in the catalog.
func (c *Consumer[T]) Producers() []ChannelInfo { return infos(c.core.view.Get().channels) }

// Stats are the consumer's totals.
func (c *Consumer[T]) Stats() Stats {
	return Stats{Datums: c.core.total.datums.Load(), Bytes: c.core.total.bytes.Load()}
}

// When waits for the consumer's conditions.
func (c *Consumer[T]) When() When { return When{v: c.core.view} }

// Close unsubscribes from every producer and waits for the consumer's
// goroutines. Datums still queued are discarded. Idempotent.
func (c *Consumer[T]) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		core := c.core
		core.markClosed()
		err := stopActor(core.ns.node, core.pid)
		if werr := core.ns.withdraw(ctx, ConsumerMark(core.stream)); werr != nil && err == nil && !core.ns.node.Actors().Closed() {
			err = werr
		}
		c.closeErr = err
	})
	return c.closeErr
}

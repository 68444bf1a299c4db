package streams

import (
	"fmt"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/transport"
)

// Def declares a stream once, for both sides: its id, its datum type's
// codec, and how each side behaves. The zero value of every tuning field
// is its default.
type Def[T any] struct {
	// Name derives the stream id (id.Of(Name)) unless ID is set.
	Name string
	// ID is a custom stream id; it takes precedence over Name.
	ID id.StreamID
	// Codec encodes datums: statemachine.JSON or statemachine.Proto, the
	// same codecs as state machines. Required.
	Codec statemachine.Codec[T]

	Producer ProducerConfig[T]
	Consumer ConsumerConfig
}

// StreamID is the stream's id: ID when set, otherwise id.Of(Name).
func (d Def[T]) StreamID() id.StreamID {
	if !d.ID.IsZero() {
		return d.ID
	}
	return id.Of(d.Name)
}

// Validate names the first field that cannot work.
func (d Def[T]) Validate() error {
	switch {
	case d.Name == "" && d.ID.IsZero():
		return fmt.Errorf("%w: Name and ID are both empty", ErrInvalidDef)
	case d.Codec == nil:
		return fmt.Errorf("%w: Codec is nil", ErrInvalidDef)
	case d.Producer.QueueSize < 0:
		return fmt.Errorf("%w: Producer.QueueSize is negative", ErrInvalidDef)
	case d.Producer.MaxConsumers < 0:
		return fmt.Errorf("%w: Producer.MaxConsumers is negative", ErrInvalidDef)
	case d.Consumer.QueueSize < 0:
		return fmt.Errorf("%w: Consumer.QueueSize is negative", ErrInvalidDef)
	}
	return nil
}

// DefaultQueueSize is the default per-consumer send queue of a producer
// and receive queue of a consumer, in datums.
const DefaultQueueSize = 1024

// MaxDatumSize is the largest encoded datum a producer sends: what fits a
// transport frame with the batch's own encoding.
const MaxDatumSize = transport.DefaultMaxFrameSize - 16

// handshakeTimeout bounds a channel's handshake on either side.
const handshakeTimeout = 5 * time.Second

// ProducerConfig tunes a producer.
type ProducerConfig[T any] struct {
	// QueueSize is each consumer's send queue, in datums. Default 1024.
	QueueSize int
	// DropLagging drops datums for a consumer whose queue is full (they
	// are counted) instead of disconnecting it with 10_413 TooSlow.
	// Default false: lagging consumers are disconnected, so that one slow
	// consumer never holds memory for the others, and it reconnects and
	// resumes from the datums sent after.
	DropLagging bool
	// MaxConsumers refuses consumers beyond this many with 10_509.
	// Default 0: unlimited.
	MaxConsumers int
	// Require lists requirements on a consumer (its catalog entry and the
	// channel's round trip), chained with AND; a consumer that fails one
	// is refused, or disconnected when its entry changes, with 10_403.
	Require []Predicate
	// Tickets lists validators the consumer's entry must pass (each with
	// a valid ticket of its class); the channel ends with 10_403 at the
	// earliest expiry. Default none.
	Tickets []discovery.TicketValidator
	// UndeliveredSink receives datums sent while no consumer was
	// connected (possible only with online conditions that allow it, such
	// as MinimumOf(0)). It runs on the sender's goroutine and must not
	// block. Default: such datums are counted and dropped.
	UndeliveredSink func(T)
	// OnlineWhen says when the producer is online. Default MinimumOf(1).
	OnlineWhen ChannelConditions
}

// ConsumerConfig tunes a consumer.
type ConsumerConfig struct {
	// QueueSize bounds the receive queue, in datums. Default 1024. The
	// queue is bounded so that a consumer that does not keep up pushes
	// back: its channels stop reading, QUIC's flow control stops the
	// producer's writes, and the producer disconnects it (or drops its
	// datums) instead of this process's memory growing without limit.
	QueueSize int
	// Require lists requirements on a producer, chained with AND; a
	// producer that fails one is not subscribed to, or dropped when its
	// entry changes. A requirement on the round trip is checked on the
	// channel's handshake, where it is measured.
	Require []Predicate
	// Tickets lists validators the producer's entry must pass.
	Tickets []discovery.TicketValidator
	// Criteria are sent to producers in the subscription; producers see
	// them in PeerInfo.Criteria. Default empty.
	Criteria []byte
	// Backoff spaces reconnections to one producer.
	Backoff Backoff
	// OnlineWhen says when the consumer is online. Default MinimumOf(0):
	// at once.
	OnlineWhen ChannelConditions
}

// ConsumerMark is the digest a node puts in its entry's streams while it
// consumes stream: producers advertise the stream id itself, consumers
// this mark, so that the catalog tells both apart.
func ConsumerMark(stream id.StreamID) id.Digest {
	return stream.Derive([]byte("mosaik/streams/consumer"))
}

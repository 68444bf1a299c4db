package streams

import (
	"errors"
	"time"

	"github.com/mosaikgo/mosaik/transport"
)

// Backoff spaces a consumer's reconnection attempts to one producer: the
// n-th retry waits Initial*2^n, capped at Max, minus up to a quarter at
// random so that consumers cut off together do not return together. A
// channel that has not connected for MaxElapsed since it last lost its
// producer gives up (the producer is retried when its catalog entry
// changes).
type Backoff struct {
	// Initial is the first delay. Default 50 ms.
	Initial time.Duration
	// Max caps one delay. Default 5 s.
	Max time.Duration
	// MaxElapsed is how long a channel keeps retrying. Default 300 s, the
	// reference's.
	MaxElapsed time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 50 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.MaxElapsed <= 0 {
		b.MaxElapsed = 300 * time.Second
	}
	return b
}

// Delay is the wait before retry number attempt (0 for the first), for a
// random fraction jitter in [0, 1).
func (b Backoff) Delay(attempt int, jitter float64) time.Duration {
	d := b.Initial
	for range attempt {
		if d >= b.Max/2 {
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	return d - time.Duration(float64(d)*0.25*jitter)
}

// Exhausted reports whether a channel that has been failing for elapsed
// should give up.
func (b Backoff) Exhausted(elapsed time.Duration) bool { return elapsed >= b.MaxElapsed }

// closeOutcome is what a consumer does after its channel ended.
type closeOutcome int

const (
	retryLater closeOutcome = iota // reconnect with backoff
	resyncNow                      // 401: sync the catalog with the producer, then retry at once
	terminal                       // give up until the producer's or our own entry changes
)

func (o closeOutcome) String() string {
	switch o {
	case resyncNow:
		return "resync"
	case terminal:
		return "terminal"
	}
	return "retry"
}

// errDecode marks a datum or batch that did not decode: the producer and
// the consumer disagree on the stream's type, which retrying cannot fix.
var errDecode = errors.New("streams: datum does not decode")

// classifyClose maps why a channel ended to what the consumer does next.
// NotAllowed, GracefulShutdown, StreamNotFound, DifferentNetwork and
// decode errors are terminal; unknown peer asks for a catalog sync; every
// other end (timeouts, capacity, lagging, unreachable) retries.
func classifyClose(err error) closeOutcome {
	if errors.Is(err, errDecode) || errors.Is(err, transport.ErrBadFrame) || errors.Is(err, transport.ErrFrameTooLarge) {
		return terminal
	}
	code, ok := transport.CodeOf(err)
	if !ok {
		return retryLater
	}
	switch code {
	case transport.CodeStreamNotAllowed, transport.CodeGracefulShutdown,
		transport.CodeStreamNotFound, transport.CodeDifferentNetwork, transport.CodeProtocolViolation:
		return terminal
	case transport.CodeUnknownPeer:
		return resyncNow
	}
	return retryLater
}

// Close codes of the streams protocol, as uint32 for the pure functions.
const (
	codeUnknownPeer = uint32(transport.CodeUnknownPeer)
	codeNotAllowed  = uint32(transport.CodeStreamNotAllowed)
	codeNoCapacity  = uint32(transport.CodeNoCapacity)
)

package streams

import (
	"errors"
	"fmt"
)

// Errors of package streams. Send errors that hand a datum back are
// [*SendError] values matching one of ErrOffline, ErrFull, ErrClosed,
// ErrEncode or ErrTooLarge through errors.Is.
var (
	// ErrClosed: the producer, the consumer or the node was closed.
	ErrClosed = errors.New("streams: closed")
	// ErrOffline: the producer's online conditions do not hold.
	ErrOffline = errors.New("streams: offline")
	// ErrFull: every consumer's queue was full, so no consumer took the
	// datum.
	ErrFull = errors.New("streams: consumer queues full")
	// ErrEncode: the stream's codec could not encode the datum.
	ErrEncode = errors.New("streams: encode")
	// ErrTooLarge: the encoded datum exceeds MaxDatumSize.
	ErrTooLarge = errors.New("streams: datum too large")
	// ErrAlreadyExists: the node already produces this stream; Produce
	// returns the existing producer with it.
	ErrAlreadyExists = errors.New("streams: stream already produced on this node")
	// ErrTypeMismatch: the node produces this stream with another datum
	// type.
	ErrTypeMismatch = errors.New("streams: stream produced with another type")
	// ErrInvalidDef: the stream definition cannot work; the error names
	// the field.
	ErrInvalidDef = errors.New("streams: invalid definition")
)

// SendError is a send that did not happen; it hands the datum back.
type SendError[T any] struct {
	Datum T
	Err   error // matches one of the package's sentinels
}

func (e *SendError[T]) Error() string { return fmt.Sprintf("streams: datum not sent: %s", e.Err) }

// Unwrap makes errors.Is(err, ErrOffline) and the like work.
func (e *SendError[T]) Unwrap() error { return e.Err }

func isOffline(err error) bool { return errors.Is(err, ErrOffline) }

func isTypeMismatch(err error) bool { return errors.Is(err, ErrTypeMismatch) }

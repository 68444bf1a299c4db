package quicnet

import (
	"errors"
	"fmt"
	"math"
	"net"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/transport"
)

// closedHere is the error of a link this side closed: the local
// *transport.CloseError (Remote false) that says with which code, and
// transport.ErrClosed, so that callers checking either form both see it.
type closedHere struct {
	close *transport.CloseError
}

func (e *closedHere) Error() string   { return e.close.Error() }
func (e *closedHere) Unwrap() []error { return []error{e.close, transport.ErrClosed} }

// translate turns the error a QUIC connection ended with into the
// transport's vocabulary: a peer's close is a *transport.CloseError, our
// own close is a *closedHere, silence past the idle timeout is
// transport.ErrTimeout. It returns nil for errors that are not the end of
// the connection (a stream deadline, say).
func translate(err error) error {
	if err == nil {
		return nil
	}
	if ae, ok := errors.AsType[*quic.ApplicationError](err); ok {
		code := ae.ErrorCode
		if code > math.MaxUint32 {
			// Not a mosaik peer: clamp rather than alias a real code.
			code = math.MaxUint32
		}
		ce := &transport.CloseError{Code: transport.CloseCode(code), Reason: ae.ErrorMessage, Remote: ae.Remote}
		if ae.Remote {
			return ce
		}
		return &closedHere{close: ce}
	}
	if _, ok := errors.AsType[*quic.IdleTimeoutError](err); ok {
		return fmt.Errorf("%w: %w", transport.ErrTimeout, err)
	}
	if _, ok := errors.AsType[*quic.HandshakeTimeoutError](err); ok {
		return fmt.Errorf("%w: %w", transport.ErrUnreachable, err)
	}
	if _, ok := errors.AsType[*quic.StatelessResetError](err); ok {
		// The peer's endpoint restarted and forgot the connection.
		return fmt.Errorf("quicnet: connection reset by peer: %w", err)
	}
	if _, ok := errors.AsType[*quic.TransportError](err); ok {
		return fmt.Errorf("quicnet: connection failed: %w", err)
	}
	if errors.Is(err, net.ErrClosed) {
		// quic-go's own teardown (the endpoint's socket went away).
		return fmt.Errorf("%w: %w", transport.ErrClosed, err)
	}
	return nil
}

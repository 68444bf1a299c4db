package transport

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
)

// ALPN protocol names of mosaik's own protocols. A connection's ALPN picks
// the [Handler] that serves it on the accepting side.
const (
	ALPNDiscoverySync = "/mosaik/discovery/sync/2"
	ALPNGroups        = "/mosaik/groups/1"
	ALPNStreams       = "/mosaik/streams/1"
	ALPNDiag          = "/mosaik/diag/1"
)

// Errors returned by endpoints and links. Failures caused by the other side
// closing a link are reported as [*CloseError] instead.
var (
	// ErrClosed: the endpoint or link was closed locally.
	ErrClosed = errors.New("transport: closed")
	// ErrPeerMismatch: the dialed side does not hold the expected peer's key.
	ErrPeerMismatch = errors.New("transport: remote peer is not the one expected")
	// ErrUnreachable: no endpoint answers at the address.
	ErrUnreachable = errors.New("transport: peer unreachable")
	// ErrFrameTooLarge: a frame exceeds the maximum frame size. On receipt the
	// link is closed with [CodeProtocolViolation].
	ErrFrameTooLarge = errors.New("transport: frame too large")
	// ErrBadFrame: a frame was truncated or did not decode as the expected
	// message. On receipt the link is closed with [CodeProtocolViolation].
	ErrBadFrame = errors.New("transport: malformed frame")
	// ErrNoHandler: the ALPN has no handler registered, or already has one.
	ErrNoHandler = errors.New("transport: no handler for protocol")
)

// Endpoint is one node's attachment to a network.
type Endpoint interface {
	// PeerID is the identity this endpoint proves to others.
	PeerID() id.PeerID

	// Addr is the address others pass to Dial to reach this endpoint.
	Addr() string

	// Handle registers h for incoming links that negotiate alpn. It fails
	// with ErrNoHandler if alpn already has a handler. Incoming connections
	// for an ALPN without a handler are closed with [CodeInvalidALPN]; the
	// dialer sees that close from Dial itself or from its first Send or
	// Recv, depending on timing.
	Handle(alpn string, h Handler) error

	// Dial connects to the endpoint at addr, checks that it is peer, and
	// opens a link speaking alpn. It fails with ErrPeerMismatch if the
	// other side proves another identity, and ErrUnreachable if nobody
	// answers: at once when the implementation knows (a killed or
	// partitioned in-memory peer), otherwise when ctx ends.
	Dial(ctx context.Context, peer id.PeerID, addr string, alpn string) (Link, error)

	// Close closes every link with [CodeGracefulShutdown], stops accepting,
	// and waits for every goroutine the endpoint started, handlers
	// included. It is idempotent; later calls return nil.
	Close() error
}

// Handler serves one incoming link. It runs on its own goroutine, owned by
// the endpoint, and must return once the link is closed; a handler that
// hands the link to another owner (an actor) returns at once. The link
// stays open after the handler returns until someone closes it.
type Handler func(Link)

// Link is one authenticated, ordered, bidirectional stream of frames.
type Link interface {
	// Peer is the authenticated identity of the other side.
	Peer() id.PeerID

	// ALPN is the protocol the link was opened for.
	ALPN() string

	// RemoteAddr is the other side's address as this side sees it.
	RemoteAddr() string

	// Send writes msg as one frame. It returns when the frame is handed to
	// the network, not when the peer has read it.
	Send(ctx context.Context, msg proto.Message) error

	// Recv reads the next frame into msg (which it resets first). A frame
	// that is too large or does not decode closes the link with
	// [CodeProtocolViolation] and returns ErrFrameTooLarge or ErrBadFrame.
	// The first frame a link receives is held to the endpoint's first-frame
	// limit ([DefaultFirstFrameSize] unless configured), later ones to its
	// maximum frame size: the first frame is all a peer can send before
	// the protocol on the link has authenticated it, so every protocol
	// opens with a small frame and authenticates on it.
	Recv(ctx context.Context, msg proto.Message) error

	// SendFrame writes an already encoded message as one frame.
	SendFrame(ctx context.Context, payload []byte) error

	// RecvFrame reads the next frame's payload without decoding it. The
	// returned slice belongs to the caller.
	RecvFrame(ctx context.Context) ([]byte, error)

	// SharedSecret returns 32 bytes derived from the connection's key
	// exchange and label: equal on both ends of this link, different on
	// every other connection and for every other label.
	SharedSecret(label string) ([]byte, error)

	// Close ends the link with code and reason, which the other side reads
	// as a [*CloseError]. Frames not yet delivered are discarded. Only the
	// first call has an effect.
	Close(code CloseCode, reason string) error

	// Done is closed once the link is closed by either side.
	Done() <-chan struct{}

	// Err is nil while the link is open; afterwards it tells why it closed:
	// a [*CloseError] carrying the code (after a local close it also
	// matches ErrClosed), or ErrTimeout when the peer went silent.
	Err() error
}

// ErrTimeout reports a link that heard nothing from its peer within the
// endpoint's idle timeout: the peer died or the path between them did.
var ErrTimeout = errors.New("transport: peer silent past the idle timeout")

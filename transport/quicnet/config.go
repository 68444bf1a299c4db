package quicnet

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// ErrBadConfig reports a [Config] that [Config.Validate] refuses.
var ErrBadConfig = errors.New("quicnet: invalid config")

// Defaults applied to zero fields of a [Config].
const (
	DefaultListenAddr       = "127.0.0.1:0"
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultIdleTimeout      = 30 * time.Second
	// DefaultMaxUnauthenticated and DefaultMaxUnauthenticatedPerIP bound
	// the accepted connections that have not yet sent their first frame;
	// see Config.MaxUnauthenticated.
	DefaultMaxUnauthenticated      = 256
	DefaultMaxUnauthenticatedPerIP = 32
)

// Config describes one endpoint. The zero value of every field but Key
// means its default, so Config{Key: k} is a working loopback endpoint.
type Config struct {
	// Key is the node's identity: its certificate carries the public half,
	// which peers check against the PeerID they dialed. Required.
	Key id.SecretKey

	// ListenAddr is the UDP address to bind, host:port; port 0 picks a free
	// port. Default "127.0.0.1:0": loopback only, so nothing is exposed
	// unless asked for. A wildcard host ("0.0.0.0:7000") accepts on every
	// interface, but then [Endpoint.Addr] reports the wildcard, which peers
	// cannot dial; advertise a routable address yourself. Ignored when
	// PacketConn is set.
	ListenAddr string

	// PacketConn, if set, is the socket the endpoint uses instead of
	// binding ListenAddr. The endpoint owns it from Listen on and closes it
	// in Close (also when Listen fails). It exists so tests can interpose a
	// [FaultConn]; a plain *net.UDPConn keeps quic-go's batched I/O, any
	// other type falls back to one syscall per packet. Default nil.
	PacketConn net.PacketConn

	// MaxFrameSize bounds the payload of a received frame, in bytes; a
	// larger announced length closes the link with
	// [transport.CodeProtocolViolation] before the payload is read, so a
	// peer cannot make this node allocate more. It does not limit sends:
	// the receiver's own bound is the one that counts. Default
	// [transport.DefaultMaxFrameSize] (16 MiB, room for Raft snapshot
	// chunks); at most 4 GiB-1, the largest length the prefix can carry.
	MaxFrameSize int

	// FirstFrameSize bounds the payload of the first frame a link
	// receives, in bytes, in either direction; later frames may reach
	// MaxFrameSize. The first frame is sent before any protocol has
	// authenticated the peer (every mosaik protocol authenticates on it),
	// so this is all an outsider can make a link buffer. A larger
	// announced length closes the link with
	// [transport.CodeProtocolViolation] before the payload is read.
	// Default [transport.DefaultFirstFrameSize] (64 KiB); at most
	// MaxFrameSize.
	FirstFrameSize int

	// MaxUnauthenticated bounds the accepted connections that have not yet
	// delivered their first frame, in total: from the first QUIC packet
	// through the TLS handshake, the stream and the first frame. Beyond it
	// new connections are refused at their first packet (QUIC's
	// CONNECTION_REFUSED; [Stats].RefusedTotal). Above a quarter of it,
	// new connections must first prove their source address (QUIC's
	// Retry, one more round trip), so that spoofed addresses cannot take
	// slots. Default 256: well above what a node of a few hundred peers
	// sees at once after a restart, while 256 connections cost the
	// endpoint at most about 64 MiB (first frame, stream buffers and
	// connection state).
	MaxUnauthenticated int

	// MaxUnauthenticatedPerIP bounds the same connections per source IP
	// address ([Stats].RefusedPerIP), so that one host cannot take every
	// slot. Default 32: nodes sharing a host (tests, demos on loopback)
	// connect in bursts well below it. At most MaxUnauthenticated.
	MaxUnauthenticatedPerIP int

	// HandshakeTimeout bounds a dial's QUIC and TLS handshake when the
	// caller's context allows longer; an accepted connection must complete
	// its handshake within twice this (quic-go's rule), then open its
	// stream, send the preamble and deliver its first frame within this
	// once more, or it is closed with [transport.CodeTimeout] and its slot
	// (see MaxUnauthenticated) freed. Default 5 s: several retransmissions
	// on a lossy path, yet a dead address is given up on quickly and a
	// silent outsider holds nothing for long.
	HandshakeTimeout time.Duration

	// IdleTimeout is QUIC's max idle timeout: a link that receives nothing
	// for this long is dropped and its Send, Recv and Err report
	// [transport.ErrTimeout]. It is how a dead peer or a cut path is
	// noticed, so it trades detection speed against tolerance of stalls.
	// The effective value is the smaller of the two ends' settings.
	// Default 30 s.
	IdleTimeout time.Duration

	// KeepAlivePeriod is how often a link with nothing else to send pings
	// its peer, so that an idle but healthy link does not hit IdleTimeout.
	// Zero means IdleTimeout/3 (two pings may be lost before the link
	// dies); negative disables keep-alives, letting idle links expire.
	// Must be below IdleTimeout.
	KeepAlivePeriod time.Duration
}

// Validate reports the first field that cannot work, naming it.
func (c Config) Validate() error {
	switch {
	case c.Key.IsZero():
		return fmt.Errorf("%w: Key is required", ErrBadConfig)
	case c.MaxFrameSize < 0:
		return fmt.Errorf("%w: MaxFrameSize %d is negative", ErrBadConfig, c.MaxFrameSize)
	case uint64(c.MaxFrameSize) > math.MaxUint32:
		return fmt.Errorf("%w: MaxFrameSize %d exceeds the 32-bit length prefix", ErrBadConfig, c.MaxFrameSize)
	case c.FirstFrameSize < 0:
		return fmt.Errorf("%w: FirstFrameSize %d is negative", ErrBadConfig, c.FirstFrameSize)
	case c.MaxUnauthenticated < 0:
		return fmt.Errorf("%w: MaxUnauthenticated %d is negative", ErrBadConfig, c.MaxUnauthenticated)
	case c.MaxUnauthenticatedPerIP < 0:
		return fmt.Errorf("%w: MaxUnauthenticatedPerIP %d is negative", ErrBadConfig, c.MaxUnauthenticatedPerIP)
	case c.HandshakeTimeout < 0:
		return fmt.Errorf("%w: HandshakeTimeout %v is negative", ErrBadConfig, c.HandshakeTimeout)
	case c.IdleTimeout < 0:
		return fmt.Errorf("%w: IdleTimeout %v is negative", ErrBadConfig, c.IdleTimeout)
	}
	d := c.withDefaults()
	if d.FirstFrameSize > d.MaxFrameSize {
		return fmt.Errorf("%w: FirstFrameSize %d exceeds MaxFrameSize %d", ErrBadConfig, d.FirstFrameSize, d.MaxFrameSize)
	}
	if d.MaxUnauthenticatedPerIP > d.MaxUnauthenticated {
		return fmt.Errorf("%w: MaxUnauthenticatedPerIP %d exceeds MaxUnauthenticated %d", ErrBadConfig, d.MaxUnauthenticatedPerIP, d.MaxUnauthenticated)
	}
	if d.KeepAlivePeriod >= d.IdleTimeout {
		return fmt.Errorf("%w: KeepAlivePeriod %v must be below IdleTimeout %v", ErrBadConfig, d.KeepAlivePeriod, d.IdleTimeout)
	}
	if c.PacketConn == nil {
		if _, err := net.ResolveUDPAddr("udp", d.ListenAddr); err != nil {
			return fmt.Errorf("%w: ListenAddr %q: %w", ErrBadConfig, d.ListenAddr, err)
		}
	}
	return nil
}

// withDefaults fills zero fields. A negative KeepAlivePeriod stays negative
// (disabled); the QUIC config turns it into zero.
func (c Config) withDefaults() Config {
	c.ListenAddr = cmp.Or(c.ListenAddr, DefaultListenAddr)
	c.MaxFrameSize = cmp.Or(c.MaxFrameSize, transport.DefaultMaxFrameSize)
	c.FirstFrameSize = cmp.Or(c.FirstFrameSize, min(transport.DefaultFirstFrameSize, c.MaxFrameSize))
	c.MaxUnauthenticated = cmp.Or(c.MaxUnauthenticated, DefaultMaxUnauthenticated)
	c.MaxUnauthenticatedPerIP = cmp.Or(c.MaxUnauthenticatedPerIP, min(DefaultMaxUnauthenticatedPerIP, c.MaxUnauthenticated))
	c.HandshakeTimeout = cmp.Or(c.HandshakeTimeout, DefaultHandshakeTimeout)
	c.IdleTimeout = cmp.Or(c.IdleTimeout, DefaultIdleTimeout)
	c.KeepAlivePeriod = cmp.Or(c.KeepAlivePeriod, c.IdleTimeout/3)
	return c
}

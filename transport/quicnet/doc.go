// Package quicnet is the transport for real networks: mosaik's
// [transport.Endpoint] and [transport.Link] over QUIC (quic-go) and TLS 1.3.
//
// # How the pieces fit
//
// [Listen] binds one UDP socket and runs one quic.Transport on it, which
// both accepts and dials, so a node has a single address. Each link is one
// QUIC connection carrying one bidirectional stream, opened by the dialer.
//
// Identity: the endpoint's certificate is a self-signed wrapper around the
// node's ed25519 key (crypto/tls has no raw public keys). No CA is
// consulted. The dialer accepts the server only if the certificate's key is
// the PeerID it asked for (else [transport.ErrPeerMismatch]); the server
// demands a client certificate and takes the dialer's PeerID from it. TLS
// 1.3's CertificateVerify proves each side holds its key.
//
// Routing: the server echoes whatever single ALPN the dialer offers, then
// looks it up among the handlers registered with [Endpoint.Handle]. An
// unknown ALPN is closed with [transport.CodeInvalidALPN], which the dialer
// reads as a *transport.CloseError from its first Send or Recv: Dial
// returns as soon as the dialer's half of the handshake is done, so it
// reports the refusal itself only when that arrives first.
//
// Framing: the dialer's stream starts with a 4-byte preamble ("msk" and a
// version), which makes the stream visible to the acceptor before any
// frame and turns away peers speaking something else
// ([transport.CodeProtocolViolation]). Frames follow: a big-endian uint32
// length, then a protobuf payload of at most [Config.MaxFrameSize] bytes.
// A received frame that is too large or does not decode closes the link
// with CodeProtocolViolation. The first frame each side receives is held
// to [Config.FirstFrameSize] (64 KiB), and a frame's buffer grows as its
// bytes arrive, never to a length the peer merely announced.
//
// Outsiders: anyone can complete a TLS handshake with a key of their own
// making, so the endpoint treats an accepted connection as unauthenticated
// until its first frame (where every mosaik protocol proves membership)
// has arrived. Such connections are bounded in total and per source IP
// ([Config.MaxUnauthenticated], [Config.MaxUnauthenticatedPerIP]), counted
// from their first packet (quic-go's ConnContext; beyond the limits the
// dialer gets CONNECTION_REFUSED before any handshake work), and must send
// their first frame within [Config.HandshakeTimeout] of the handshake, or
// they are closed with [transport.CodeTimeout]. Once a quarter of the slots
// are taken, new connections must first prove their source address (QUIC
// Retry). New connections get little flow-control credit until they read
// more. [Endpoint.Stats] counts refusals and timeouts.
//
// Closing: Link.Close is QUIC's CONNECTION_CLOSE with the application code
// and reason, which the peer reads as a *transport.CloseError with Remote
// set. Locally the link then reports a *transport.CloseError with Remote
// unset that also matches transport.ErrClosed. A peer silent past
// [Config.IdleTimeout] ends the link with transport.ErrTimeout.
// SharedSecret is the connection's TLS exporter.
//
// Tests use [FaultConn] as [Config.PacketConn] to cut and heal paths
// between endpoints while QUIC runs unchanged on top.
//
// # Concurrency
//
// Endpoints and links are safe for concurrent use. Sends take the link's
// write lock for one whole frame (one stream write), so frames never
// interleave; Recvs take a read lock. Both locks are waited for with the
// caller's context, and a blocked Send or Recv returns when its context
// ends or the link closes. A Recv abandoned mid-frame keeps what it read
// and the next Recv continues the frame; a Send abandoned after part of
// its frame went out closes the link with [transport.CodeCancelled],
// since the stream cannot be resynchronised.
//
// Goroutines: the endpoint runs one accept loop, one goroutine per
// accepted connection that sets up the link and then runs the handler on
// it, a short-lived goroutine per connection when it ends, to forget it
// and free its unauthenticated slot, and, for a connection whose first
// frame does not arrive in time, the timer callback that closes it. Links start none of their own (quic-go runs its own per connection);
// a Send or Recv whose context ends waits for the context's callback.
// [Endpoint.Close] closes every connection, then waits for all of these.
package quicnet

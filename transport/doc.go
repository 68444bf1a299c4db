// Package transport moves protobuf messages between mosaik nodes.
//
// An [Endpoint] is one node's presence on a network. It dials peers by
// [id.PeerID] and address, and routes incoming connections by ALPN protocol
// name to the [Handler] registered for it. Every connection yields one
// [Link]: a single ordered, reliable, bidirectional stream of frames, each a
// big-endian uint32 length followed by one protobuf message, no larger than
// the endpoint's maximum frame size.
//
// The first frame a link receives, in either direction, may be at most
// the endpoint's first-frame size (64 KiB by default), far below the
// maximum frame size: it arrives before the protocol on the link has
// admitted the peer (TLS proves which key a peer holds, but anyone can
// make a key; a protocol's opening message proves that the peer belongs,
// by a group key or the network secret), so it is what an outsider
// controls. Each mosaik protocol opens with a small frame and checks it
// before it reads more. Readers grow a frame's buffer as its bytes arrive
// ([GrowPayload]) rather than allocating the announced length.
//
// Both ends of a link are authenticated: the dialer names the peer it
// expects and the connection fails unless the other side proves it holds
// that peer's key; the acceptor learns the dialer's key from the handshake.
// [Link.SharedSecret] gives a per-connection secret that is equal on both
// ends and differs on every other connection, for binding proofs to one link.
//
// Links end with a [CloseCode] and a reason. The side that did not close sees
// a [*CloseError] from Send and Recv carrying the code and reason, with
// Remote set. Closing discards frames not yet delivered: protocols that need
// a last message through wait for the peer to close after reading it.
//
// Two implementations share this contract and one conformance suite
// (package transporttest): quicnet over QUIC and TLS 1.3 for real networks,
// and memnet, an in-memory network with fault injection (partitions, drops,
// delay, killed endpoints) for tests.
//
// # Concurrency
//
// Endpoints and links are safe for concurrent use, with one limit: frames
// sent by concurrent Send calls do not interleave, but their order is the
// order in which the calls took the link's write lock. One reader at a time
// should call Recv. Every blocking call takes a context and also returns
// when the link or endpoint closes. Endpoint.Close closes every link and
// returns only after every goroutine the endpoint started, including
// running handlers, has returned.
package transport

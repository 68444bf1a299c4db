// Package memnet is an in-memory network that implements the transport
// contract, with fault injection for tests.
//
// A [Network] is one simulated world. Each [Network.Listen] attaches an
// [Endpoint] with an address of the form "mem:N", unique within the network
// and never reused, so a node that restarts gets a new address just as a
// restarted process gets a new port. Endpoints dial each other by address and
// expected [id.PeerID]; links behave like the QUIC transport's links, down to
// the errors, so a cluster tested here behaves the same over QUIC:
//
//   - Frames are bytes, not shared pointers: Send encodes with
//     [transport.Marshal] and Recv decodes with [transport.Unmarshal], so
//     encoding and decoding failures happen for real.
//   - The receiver enforces its own maximum frame size. An oversized or
//     undecodable frame makes Recv close the link with
//     [transport.CodeProtocolViolation] and return the wrapped
//     [transport.ErrFrameTooLarge] or [transport.ErrBadFrame]; the sender
//     then reads a remote [*transport.CloseError] with that code. Send also
//     checks the sender's own limit and fails with ErrFrameTooLarge, leaving
//     the link open.
//   - A dial to an ALPN the other side does not serve fails in Dial itself
//     with a remote [*transport.CloseError] carrying
//     [transport.CodeInvalidALPN]; no link is ever returned for it.
//   - Close(code, reason) reaches the peer as a remote *CloseError. The side
//     that closed sees, from then on, an error that is both
//     [transport.ErrClosed] and a local *CloseError with its own code (match
//     either with errors.Is or errors.As). Frames not yet read are discarded
//     on both sides.
//   - [transport.Link.SharedSecret] derives from a random 32-byte secret drawn for
//     each connection and shared by its two ends, keyed with blake3.
//
// # Faults
//
// Every fault hook is a method of [Network], safe to call at any time from
// any goroutine, and takes effect at once for links already open.
//
//   - [Network.Partition] splits peers into groups that cannot reach each
//     other; peers not named reach everyone. Traffic across the cut stalls:
//     frames (and closes) are held, not lost, as QUIC retransmission would
//     hold them, and arrive in order after [Network.Heal]. New dials across
//     the cut fail at once with [transport.ErrUnreachable] rather than
//     waiting out a handshake timeout.
//   - A link that hears nothing from its peer for the idle timeout
//     ([Config.IdleTimeout]) closes with a wrapped [transport.ErrTimeout],
//     as a QUIC connection does. Links between live, connected peers never
//     fall silent (QUIC keep-alives), so only a partition or a killed peer
//     times a link out; each end times out on its own.
//   - [Network.SetDropRate] loses each frame with a given probability. QUIC
//     never loses a frame on a live link, so this is harsher than any real
//     deployment: it is for protocols that claim to tolerate message loss.
//   - [Network.SetDelay] and [Network.SetJitter] deliver each frame some
//     time after it was sent, keeping the order of frames on each direction
//     of each link.
//   - [Network.Kill] crashes every endpoint of a peer: its own links close
//     locally, nothing more travels to or from it, its peers hear silence and
//     time out, and dials to it fail with ErrUnreachable. Listening again
//     with the same key brings the peer back at a new address; partition
//     groups name peers, not addresses, so they apply to it again.
//
// Drops and jitter draw from one random source seeded by [Config.Seed], in
// the order frames are sent: a test that sends the same frames in the same
// order loses and delays the same ones on every run.
//
// # Ordering, back-pressure and concurrency
//
// Each direction of a link is one FIFO: frames arrive in the order Send
// calls took the link's lock, whatever the delay, jitter or partitions in
// between. Queues are unbounded, so Send never blocks and a slow reader
// costs memory rather than stalling its writer; memnet does not model QUIC
// flow control. Recv blocks until a frame arrives, its context ends, or the
// link closes.
//
// Without delay, a frame goes straight from Send into the receiver's queue
// and no goroutine is involved. Delayed frames and idle timeouts use
// [time.AfterFunc] timers, each owned by the endpoint on whose side it
// fires. Handlers run on goroutines owned by their endpoint.
// [Endpoint.Close], [Network.Kill] and [Network.Close] stop those timers
// and wait for the callbacks and handlers they started, so nothing outlives
// them; in turn none of them may be called from a handler of an endpoint
// they close, or they would wait for themselves.
//
// # Gossip
//
// [Network.Gossip] attaches a [GossipTransport], a
// [github.com/hashicorp/memberlist.NodeAwareTransport] for one peer's
// memberlist, so discovery runs over the same simulated world and the same
// faults as links. memberlist's own MockNetwork cannot test failure
// detection: its sends to a stopped node block. Each gossip transport has a
// fake address "127.0.0.1:N" that no socket backs, unique within the network
// and never reused; a peer has at most one live gossip transport, and gets a
// new address when it comes back after Shutdown or Kill.
//
//   - Packets (WriteTo) behave like UDP datagrams: best effort, never
//     blocking the sender, never reporting a loss. A packet vanishes if
//     nothing live is at its address, if a partition lies between sender and
//     receiver when it is sent or when it is due (packets are lost, not held
//     like link frames), by the drop rate, if its sender is killed while it
//     is delayed, or if the receiver's PacketCh already holds
//     [GossipPacketBuffer] packets. SetDelay and SetJitter delay packets;
//     jitter may reorder them, as it does datagrams.
//   - Streams (DialTimeout) behave like TCP connections: reliable, ordered,
//     unbounded buffers, with deadlines; drop rate and delay do not apply to
//     them. A dial succeeds once the other memberlist takes its end from
//     StreamCh. It fails at once, with [transport.ErrUnreachable], if
//     nothing live is at the address or a partition is in the way, and with
//     a timeout error if the other side does not accept within the timeout.
//     A partition stalls an established stream: writes wait, and reads wait
//     once they have read what arrived, until the cut heals or their
//     deadline passes (memberlist always sets one). A close across a cut
//     reaches the other end, as EOF, once the cut heals.
//   - Kill takes the peer's gossip transport down with its endpoints: its
//     packets in flight vanish, its own streams fail with [net.ErrClosed],
//     and their other ends hear nothing more, waiting out their deadlines.
//   - [GossipTransport.Shutdown], which memberlist calls from its own
//     Shutdown, and [Network.Close] detach the transport cleanly: its
//     streams close (the other ends read EOF) and the memberlist goroutines
//     blocked on them return at once. PacketCh and StreamCh are never
//     closed: memberlist's listeners read them until their own shutdown
//     channel closes, and a closed channel would hand them nil values.
//
// Undelayed packets go straight into the receiver's PacketCh inside
// WriteTo. Delayed packets use timers owned by the receiving transport,
// which Shutdown, Kill and Network.Close stop and wait for. Streams own no
// goroutine or timer: a blocked Read, Write or dial waits on its caller's
// goroutine, and returns when its deadline passes or either transport goes
// away.
//
// Timers are ordinary [time] timers, so a network created inside a
// [testing/synctest] bubble runs on the bubble's fake clock: delays and idle
// timeouts of seconds then cost a test no wall time.
package memnet

// Package streams is mosaik's typed pub/sub between peers: a node
// produces a stream, other nodes consume it, and they find each other
// through the signed catalog, with no broker.
//
// A stream is declared once with a [Def]: its id (a Digest, id.Of(Name)
// by default, or a custom ID), the codec of its datums (the state
// machines' codecs, statemachine.JSON or statemachine.Proto), and each
// side's tuning. [Produce] starts a [Producer] on a node and advertises
// the stream id in the node's peer entry; [Consume] starts a [Consumer],
// advertises [ConsumerMark] of the id, and subscribes by itself to every
// eligible producer of the stream in the catalog, re-planning on every
// catalog change.
//
// # Pieces
//
// Each producer and each consumer is one actor in the node's actor
// system (one mailbox each). The producer's actor admits consumers, owns
// one writer goroutine and one bounded send queue per consumer, and drops
// consumers that lag or stop qualifying; datums do not pass through its
// mailbox: Send encodes a datum once and offers the bytes to every
// connected consumer's queue directly, from a fan-out list the actor
// republishes on every change. The consumer's actor owns one goroutine
// per producer that dials, handshakes, reads and reconnects with
// [Backoff]; datums go from there into the consumer's bounded receive
// queue.
//
// Protocol decisions are pure functions tested without a network:
// decideAdmission (the producer's verdict on a subscription),
// planChannels (which producers a consumer subscribes to),
// [ChannelConditions.Met] (when a side is online), classifyClose (what a
// consumer does after a channel ended), [Backoff.Delay], and the batch
// encoding (appendBatch, decodeBatch).
//
// # Protocol
//
// A channel is one link on ALPN /mosaik/streams/1
// (messages/streams.proto). The consumer sends StreamSubscribe (network,
// stream, criteria); the producer checks the network (101) and the stream
// (10_404), sends a StreamProbe that the consumer echoes, so both sides
// measure the round trip, then decides: unknown consumer (401: the
// consumer syncs its catalog with the producer and retries), capacity
// (10_509), requirements and tickets (10_403). It answers StreamAccepted
// and then writes StreamBatch frames. A full consumer queue disconnects
// that consumer with 10_413 unless the producer drops instead. On the
// consumer's side 10_403, 204 (graceful shutdown), 10_404, 101, 400 and
// undecodable datums end a channel for good (until either side's entry
// changes); anything else reconnects with backoff.
//
// # Concurrency and back-pressure
//
// Producer.TrySend never blocks; Producer.Send blocks only while the
// producer is offline. Datums sent from one goroutine reach each consumer
// in order. A consumer's receive queue is bounded: when the application
// does not keep up, reading stops, QUIC's flow control stops the
// producer's writer, its queue for that consumer fills, and the producer
// disconnects the consumer (or drops its datums), so memory stays
// bounded everywhere. Every goroutine is owned by an actor's task set and
// ends when the actor stops; Close on either side, and the node's Close,
// wait for them.
package streams

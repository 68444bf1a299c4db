// Package actorkit is what an application's own actors need to live in a
// mosaik node's actor system (cluster.Node.Actors) and to use a group
// with messages.
//
//   - [GroupActorProps] builds the group actor: spawned under the
//     application's supervisor, it joins a group and serves
//     messages.ExecuteRequest, QueryRequest and SubscribeEvents, answering
//     the sender's PID. Commands enter the actor's submission queue and are
//     proposed one at a time in the order received.
//   - [Props] builds props with an unbounded mailbox: a bounded one blocks
//     its senders, and two actors sending to each other would deadlock.
//   - [Tasks] runs an actor's blocking work in goroutines it owns, each
//     reporting back as a message to the actor's mailbox, so that nothing
//     blocks inside Receive.
//
// PIDs are local to one actor system: spawn the group actor, and every
// actor that talks to it, in the node's own system. examples/supervisor
// shows an application supervisor that does so.
package actorkit

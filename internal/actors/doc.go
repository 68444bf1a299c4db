// Package actors holds mosaik's actor shells and the base they stand on.
//
// Each node runs one protoactor-go actor system with one root supervisor
// ([System]). Under it, the node's subsystems run as child actors, one
// mailbox each: discovery, the groups supervisor, one actor per joined group
// and one per bond. Actors only move messages and bytes; protocol decisions
// are plain functions in the packages that own them.
//
// The base keeps protoactor-go's pitfalls out of every actor:
//
//   - Nothing blocks inside Receive. Blocking work (a dial, a link read, a
//     dragonboat call) runs in a [Tasks] goroutine that the actor owns and
//     that reports back as a message to the actor's own mailbox.
//   - Mailboxes are unbounded ([Props] always builds one), because a bounded
//     mailbox blocks its senders and two actors sending to each other would
//     deadlock. Back-pressure is explicit instead, where work enters: a
//     token per proposal in flight ([MaxInFlight] per group handle), a
//     bounded queue of frames (and of bytes) per bond, a bounded input
//     queue in front of the discovery actor.
//   - [System.Close] stops the tree children first and waits until the root
//     has stopped; protoactor's own Shutdown stops nothing.
//   - PIDs are local to one actor system: two systems in one process (the
//     test kit runs many nodes in one process) hand out colliding PIDs, so a
//     PID never leaves its node. Nodes talk through transport links.
package actors

package actorkit

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/internal/actors"
)

type (
	// System is a node's actor system (cluster.Node.Actors): Spawn puts
	// an actor under the node's root supervisor, Root sends from outside
	// any actor.
	System = actors.System
	// Tasks are an actor's owned goroutines: Go runs blocking work and
	// sends its result to the actor's mailbox, Every is a ticker into the
	// mailbox, Stop (on Stopping and Restarting) cancels them and waits.
	Tasks = actors.Tasks
	// Joiner joins groups: a node's Join wrapped to take only the config.
	Joiner = actors.Joiner
)

// NewTasks returns an actor's task set; call Stop when the actor stops
// or restarts.
func NewTasks() *Tasks { return actors.NewTasks() }

// Props returns props for producer with an unbounded mailbox, plus opts.
func Props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	return actors.Props(producer, opts...)
}

// GroupActorProps returns the props of a group actor, the facade through
// which an application's actors use a group with messages. Spawn it as a
// child of the application's supervisor in the node's actor system
// (cluster.Node.Actors): PIDs are local to one actor system. On Started
// it joins the group through joiner (idempotent per group id); requests
// received meanwhile are held, then served in order, or answered with the
// join's error.
//
//   - [messages.ExecuteRequest]: the command enters the actor's
//     submission queue (cluster.Queue) and is proposed after every command received
//     before it; the sender gets [messages.ExecuteReply] once it is
//     applied or failed, so one sender's replies come in its sending
//     order. timeout_ms (default five times ForwardTimeout) runs from
//     receipt: a command still waiting then is never proposed, one in
//     flight may or may not commit. With cluster.MaxQueued commands waiting, a
//     new one is answered at once with cluster.ErrQueueFull. A request sent
//     without a sender is executed and not answered.
//   - [messages.QueryRequest]: reads (cluster.Group.Read) concurrently with
//     everything else and answers with [messages.QueryReply]; a strong
//     query sent after an ExecuteReply reflects that command.
//   - [messages.SubscribeEvents] / [messages.UnsubscribeEvents]: a
//     subscriber gets the current [messages.LeaderChanged] and
//     [messages.Committed], then one on every change (Committed is
//     coalesced to the latest index).
//
// On restart or stop, the commands and queries it holds are answered
// with an error (one in flight says it may have committed); a restarted
// incarnation joins the same group again and keeps its subscribers. Stop
// does not leave the group. docs/architecture.md shows where the actor
// sits on the path of a command.
func GroupActorProps(joiner Joiner, cfg cluster.GroupConfig) *actor.Props {
	return actors.GroupActorProps(joiner, cfg)
}

// Package rsm is the typed face of a group's replicated state machine:
// [Join] a group with a [StateMachine] and its codecs, then [Group.Execute]
// commands, [Group.Query] the state, and wait for conditions with
// [Group.When].
//
// It is the typed shell over the byte-level core (cluster.Group):
// commands and queries are encoded with the config's codecs at the edge,
// the core's errors are given this package's types (an offline error
// hands the commands back), and everything inside moves bytes.
//
// # Ordering
//
// Every command issued through one [Group] handle, by Execute, ExecuteMany,
// Feed or FeedMany, enters the handle's submission queue (the core's
// cluster.Queue), and they are proposed one at a time, oldest first: the
// next is proposed only once the previous one is committed and applied
// locally (or has failed). So commands issued through one handle are
// applied in issue order, whichever member leads; concurrent calls are
// ordered by when they entered the queue. An Execute on an idle handle
// proposes from its caller's goroutine; otherwise a goroutine of the
// queue proposes while it has work. The price is one command (or batch)
// in flight per handle; batches ([Group.ExecuteMany], [Group.FeedMany])
// and handles of their own for independent clients are the way to
// throughput. A proposal that timed out may still commit later; only
// then could a later command have overtaken it.
//
// # Batches
//
// ExecuteMany and FeedMany commit their commands as one log entry (a
// statemachine batch envelope): they are applied together, in order, in
// one Apply call, each with that entry's index, and no other command
// interleaves. Their [IndexRange] is therefore {idx, idx}.
//
// # Feed
//
// [Group.Feed] returns once the command is encoded and accepted into the
// handle's submission queue (at most [MaxQueued] commands wait there;
// Feed blocks, bounded by its ctx, while it is full). It does not mean the
// command is committed, nor that it has an index yet: dragonboat assigns
// the index when the entry commits. The returned [Pending] learns the index
// and waits for commit and local apply. Once accepted, a command is
// proposed under the handle's lifetime, not Feed's ctx: each proposal is
// bounded by the group's ForwardTimeout, and is abandoned only by Leave or
// Close (Pending.Wait then reports [ErrGroupTerminated]).
//
// # Errors
//
// [ErrOffline] (matched by [*OfflineError], which hands the commands back:
// they were not submitted), [ErrNoCommands], [ErrGroupTerminated] after
// Leave or Close, statemachine.ErrCodec for encoding failures and
// statemachine.ErrCommandRejected / ErrMachineFailed from the replicas.
//
// # Goroutines
//
// A handle runs a goroutine only while its queue has commands waiting.
// [Group.Leave] and [Group.Close] stop it and wait for it; it also ends
// when the node closes the group.
package rsm

// Package feed carries state and events out of actors without ever
// blocking them: a [Feed] fans events out from one publisher to many
// subscribers, a [Value] holds the latest state for readers that wait on
// conditions.
//
// Actors publish events (catalog changes, leader changes) from inside
// Receive, where blocking is forbidden, so every subscriber has its own
// queue and reads at its own pace. A subscriber that falls more than its
// limit behind is cut off with [ErrLagged] instead of growing memory
// without bound; it can resubscribe and resynchronise from a snapshot.
//
// A Feed and its subscriptions are safe for concurrent use. No goroutines
// are started.
package feed

// Package cluster is the node users hold: [Start] brings up a node's
// identity, transport endpoint, gossip (memberlist) and actor tree, and
// [Node] exposes what the node knows and can do.
//
// A node is started with little more than a network name and, usually, a
// seed address. It gossips with memberlist to learn who is alive, and keeps
// a catalog of signed peer entries (see package discovery) that says what
// each peer offers. Reading the catalog never waits for the node's actors:
// [Node.Catalog] returns an immutable snapshot, and its Changed channel
// says when a newer one exists.
//
// # Lifecycle and concurrency
//
// All Node methods are safe for concurrent use. [Node.Close] leaves every
// joined group (Departure on each bond), says farewell to the catalog,
// leaves the gossip ring gracefully, so peers see the departure at once rather than
// after failure detection, stops every actor, closes the transport, and
// returns once every goroutine the node started has ended. Methods that
// change or wait on the node (Join, UpdateLocal, AddTags, RemoveTags,
// SyncWith, SyncWithPeer, WaitCatalog) return [ErrClosed] after Close; readers
// (Catalog, PeerID, addresses) keep answering with the last state.
//
// The one memberlist per node is the only component whose goroutines the
// node cannot wait for (its Shutdown does not wait); they exit within one
// probe interval of Close.
package cluster

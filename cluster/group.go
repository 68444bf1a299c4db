package cluster

import (
	"context"
	"fmt"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
)

// Group types, defined with the actors that implement them.
type (
	// GroupConfig describes a group to join: key, consensus timings,
	// state machine signature, validators and authorization hook.
	GroupConfig = actors.GroupConfig
	// Group is a joined group: its bonds, their events, and Leave.
	Group = actors.Group
	// BondsView is a member's view of a group's bonds and topology.
	BondsView = actors.BondsView
	// BondEvent reports one of this member's bonds coming up or down.
	BondEvent = actors.BondEvent
	// Consensus is a member's view of its group's consensus: phase, shard,
	// leader, term, committee, why it is offline (see Group.Consensus).
	Consensus = actors.Consensus
	// RivalLoss reports one loss of this member's shard to a rival shard.
	RivalLoss = actors.RivalLoss
	// RivalTally totals a member's losses to rival shards.
	RivalTally = actors.RivalTally
	// LeadershipPreference says how a member takes part in consensus
	// (observer, reluctance).
	LeadershipPreference = actors.LeadershipPreference
	// GroupStatus is a member's view of one group it has joined: phase,
	// shard, leader, term, committee, applied index and bonds.
	GroupStatus = groups.Status
	// Queue proposes a handle's commands one at a time, in the order
	// they entered it (see Group.NewQueue).
	Queue = actors.Queue
	// Proposal is an entry accepted by Queue.Submit.
	Proposal = actors.Proposal
)

// Errors of group handles, the same values package actors returns, so
// that errors.Is works whichever name a program uses.
var (
	// ErrOffline: the group cannot take commands now (no leader reachable,
	// not joined yet, or re-forming); nothing was proposed.
	ErrOffline = actors.ErrOffline
	// ErrOutcomeUnknown: the command was proposed but its commit was not
	// confirmed in time; it may still be applied.
	ErrOutcomeUnknown = actors.ErrOutcomeUnknown
	// ErrGroupLeft: a call on a handle after Leave.
	ErrGroupLeft = actors.ErrGroupLeft
	// ErrCorruptDataDir: the data directory is damaged; the node does not
	// start from it (see docs/troubleshooting.md).
	ErrCorruptDataDir = actors.ErrCorruptDataDir
	// ErrQueueClosed: the submission queue was closed, or the group left,
	// before the command was proposed.
	ErrQueueClosed = actors.ErrQueueClosed
	// ErrQueueFull: Queue.Offer found MaxQueued commands waiting.
	ErrQueueFull = actors.ErrQueueFull
)

// MaxInFlight bounds the proposals one group handle has in flight.
const MaxInFlight = actors.MaxInFlight

// MaxQueued bounds the commands one Queue holds waiting.
const MaxQueued = actors.MaxQueued

// GroupStatus reports this node's view of every group it has joined, in
// group id order.
func (n *Node) GroupStatus() []GroupStatus { return n.groups.Status() }

// PeerGroupStatus asks peer, which must be in the catalog, for its view of
// the groups it has joined (what `mosaik status` shows). The answer rides
// on a discovery sync link, so the peer must be of this network (and
// prove its secret, as this node must).
func (n *Node) PeerGroupStatus(ctx context.Context, peer id.PeerID) ([]GroupStatus, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	e, ok := n.Catalog().Get(peer)
	if !ok || len(e.Addrs) == 0 {
		return nil, fmt.Errorf("cluster: status of %s: no address for it in the catalog", peer.Short())
	}
	st, err := n.disc.GroupStatus(ctx, peer, e.Addrs[0])
	if err != nil {
		return nil, fmt.Errorf("cluster: status of %s: %w", peer.Short(), err)
	}
	return st, nil
}

// Join joins the group cfg describes: the node advertises the membership,
// bonds with every authorized member it finds, and keeps those bonds
// alive. Joining a group already joined (same group id) returns the same
// handle.
func (n *Node) Join(ctx context.Context, cfg GroupConfig) (*Group, error) {
	if n.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return n.groups.Join(cfg)
}

// BondStats returns the node's bond traffic counters, all groups together.
func (n *Node) BondStats() *actors.BondStats { return n.groups.BondStats() }

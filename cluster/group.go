package cluster

import (
	"context"
	"fmt"

	"github.com/mosaikgo/mosaik/actors"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
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
	// GroupStatus is a member's view of one group it has joined: phase,
	// shard, leader, term, committee, applied index and bonds.
	GroupStatus = groups.Status
)

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

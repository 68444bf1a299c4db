package cluster

import (
	"context"

	"github.com/mosaikgo/mosaik/actors"
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
)

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

package cluster

import (
	"context"
	"slices"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// The node's tickets: credentials in its signed entry that other nodes'
// validators check (package tickets). Each call re-signs the entry and
// gossips it; bonds re-check a peer's tickets as its entry changes, so a
// removed ticket (a revocation) ends the bonds it admitted within a
// catalog round.

// AddTicket puts t in the node's entry (once: a ticket of the same id is
// not added twice).
func (n *Node) AddTicket(ctx context.Context, t discovery.Ticket) error {
	return n.UpdateLocal(ctx, func(e *discovery.Entry) { e.Tickets = discovery.WithTicket(e.Tickets, t) })
}

// RemoveTicket takes the ticket with the given id out of the node's entry.
func (n *Node) RemoveTicket(ctx context.Context, ticket id.Digest) error {
	return n.UpdateLocal(ctx, func(e *discovery.Entry) {
		e.Tickets = slices.DeleteFunc(e.Tickets, func(t discovery.Ticket) bool { return t.ID() == ticket })
	})
}

// RemoveTicketsOf takes every ticket of class out of the node's entry.
func (n *Node) RemoveTicketsOf(ctx context.Context, class id.Digest) error {
	return n.UpdateLocal(ctx, func(e *discovery.Entry) {
		e.Tickets = slices.DeleteFunc(e.Tickets, func(t discovery.Ticket) bool { return t.Class == class })
	})
}

// ReplaceTicket puts t in the node's entry in place of every ticket of its
// class, in one change: a renewed ticket replaces the old one without a
// moment in which the node holds none.
func (n *Node) ReplaceTicket(ctx context.Context, t discovery.Ticket) error {
	return n.UpdateLocal(ctx, func(e *discovery.Entry) {
		e.Tickets = discovery.WithTicket(slices.DeleteFunc(e.Tickets, func(o discovery.Ticket) bool { return o.Class == t.Class }), t)
	})
}

// Tickets returns the tickets in the node's own entry.
func (n *Node) Tickets() []discovery.Ticket { return n.Catalog().Local().Clone().Tickets }

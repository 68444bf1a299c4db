package collections

import (
	"context"

	"github.com/mosaikgo/mosaik/id"
)

// base holds what every writer and reader offers.
type base struct{ h *handle }

// Version is the version of the local state: the last write this
// member has applied.
func (b base) Version() Version { return b.h.load().version }

// When returns the handle's condition waits.
func (b base) When() *When { return &When{h: b.h} }

// Close releases the handle. The node's membership of the collection
// ends with its last handle: the member leaves the group (its replica
// stops), which Close waits for, bounded by ctx.
func (b base) Close(ctx context.Context) error { return b.h.close(ctx) }

// Leader is the collection's group leader as this member knows it; zero
// when none is known.
func (b base) Leader() id.PeerID { return b.h.m.core.Consensus().Leader }

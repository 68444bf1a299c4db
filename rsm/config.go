package rsm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Config describes a group to join with a typed state machine.
type Config[C, Q, R any] struct {
	// Key is the group secret; members prove they hold it.
	Key groups.Key
	// Consensus holds the group's timings (part of the group id); the
	// zero value means groups.DefaultConsensus().
	Consensus groups.ConsensusConfig
	// Machine makes a state machine in its empty state, one per replica.
	// Its Signature is part of the group id. Required.
	Machine func() statemachine.StateMachine[C, Q, R]
	// Codecs encode commands, queries and results: usually
	// statemachine.JSONCodecs[C, Q, R]() or statemachine.ProtoCodecs.
	// Default, per nil codec: statemachine.DefaultCodec of its type
	// (protobuf for protobuf message types, JSON otherwise).
	Codecs statemachine.Codecs[C, Q, R]
	// Tickets are the validators a peer's tickets must pass to bond (see
	// cluster.GroupConfig.Tickets); part of the group id, in order.
	// Optional.
	Tickets []discovery.TicketValidator
	// Authorize decides whether a key holder may bond, from its catalog
	// entry; it must not block. Nil admits every key holder.
	Authorize func(discovery.Entry) error
	// StrictQuorum keeps a member cut off from every other member offline
	// instead of re-forming the group alone, so that once the group has
	// formed no acknowledged write is discarded by a later merge. Default
	// false (availability first); see cluster.GroupConfig.StrictQuorum.
	StrictQuorum bool
	// ReplaceAfter is how long a voter's bond must stay down before the
	// leader replaces it. Default: see cluster.GroupConfig.ReplaceAfter.
	ReplaceAfter time.Duration
	// SnapshotEntries is how many applied commands trigger a snapshot.
	// Default 10000; see cluster.GroupConfig.SnapshotEntries.
	SnapshotEntries uint64
}

// Validate names the first missing field.
func (c Config[C, Q, R]) Validate() error {
	switch {
	case c.Machine == nil:
		return errors.New("rsm: Config.Machine is nil")
	}
	return nil
}

// withDefaults fills what the zero value leaves to defaults.
func (c Config[C, Q, R]) withDefaults() Config[C, Q, R] {
	c.Codecs = c.Codecs.WithDefaults()
	return c
}

// GroupConfig is the untyped config Join hands the node: its Machine
// erases a fresh typed machine with the codecs.
func (c Config[C, Q, R]) GroupConfig() cluster.GroupConfig {
	return cluster.GroupConfig{
		Key:       c.Key,
		Consensus: c.Consensus,
		Machine: func() statemachine.Machine {
			return statemachine.Erase(c.Machine(), c.Codecs.WithDefaults())
		},
		Tickets:         c.Tickets,
		Authorize:       c.Authorize,
		StrictQuorum:    c.StrictQuorum,
		ReplaceAfter:    c.ReplaceAfter,
		SnapshotEntries: c.SnapshotEntries,
	}
}

// Join joins the group cfg describes on node and returns a new handle on
// it. Joining is idempotent per group id: a second Join of the same group
// shares the membership (the first join's Authorize stays in force) but
// gets its own handle, with its own submission order; Leave on any handle
// leaves the group for all.
func Join[C, Q, R any](ctx context.Context, node *cluster.Node, cfg Config[C, Q, R]) (*Group[C, Q, R], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	core, err := node.Join(ctx, cfg.GroupConfig())
	if err != nil {
		return nil, fmt.Errorf("rsm: join: %w", err)
	}
	return newGroup(core, cfg), nil
}

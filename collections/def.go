package collections

import (
	"errors"
	"fmt"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
)

// Version is a point in a collection's history: the log index of the
// last write applied. Every write, even one that changes nothing (a
// compare-and-swap that does not match, a pop of an empty vector, a
// rejected command), takes a version of its own.
type Version uint64

// Def defines a collection: the store id names it (every node that
// names the same store id, kind and element types reaches the same
// collection), Config tunes it.
type Def struct {
	// Store names the collection; id.Of("name") turns a name into one.
	// The group key is derived from it, so anyone who knows the store
	// id can join: gate the group with Config.Tickets or Authorize.
	Store id.StoreID
	// Config is optional; the zero value means defaults.
	Config Config
}

// Config tunes a collection. The zero value of each field is its
// default.
type Config struct {
	// Consensus holds the group's timings (part of the group id: every
	// member must use the same). Default groups.DefaultConsensus();
	// groups.FastConsensus() for tests and LANs.
	Consensus groups.ConsensusConfig
	// SnapshotEntries is how many applied writes trigger a snapshot;
	// members more than that far behind catch up by snapshot transfer.
	// Default 10000 (the groups default).
	SnapshotEntries uint64
	// Tickets are the validators a peer's tickets must pass to bond,
	// as in cluster.GroupConfig.Tickets (part of the group id).
	Tickets []discovery.TicketValidator
	// Authorize decides whether a peer may bond, from its catalog entry;
	// it must not block. Nil admits everyone who knows the store id.
	Authorize func(discovery.Entry) error
	// StrictQuorum: see cluster.GroupConfig.StrictQuorum. Default false.
	StrictQuorum bool
	// ReplaceAfter: see cluster.GroupConfig.ReplaceAfter.
	ReplaceAfter time.Duration
}

// Validate names the first bad field.
func (d Def) Validate() error {
	if d.Store.IsZero() {
		return errors.New("collections: Def.Store is zero")
	}
	if err := d.Config.Consensus.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("collections: Def.Config.Consensus: %w", err)
	}
	return nil
}

var (
	// ErrOffline: the collection's group has no leader this member can
	// reach, or this member has not joined it yet; the write was not
	// sent. It comes inside a [*WriteError] that hands the input back.
	ErrOffline = errors.New("collections: offline")
	// ErrClosed: the handle was closed.
	ErrClosed = errors.New("collections: closed")
	// ErrRole: a node holds a writer and a reader of one collection at
	// once; a member is one or the other.
	ErrRole = errors.New("collections: a node is either a writer or a reader of a collection")
)

// WriteError is a write that was not sent: the group was offline
// (matches [ErrOffline]) or the input did not encode (matches
// statemachine.ErrCodec). Input is what the caller passed, handed back.
type WriteError[T any] struct {
	Input T
	Err   error
}

func (e *WriteError[T]) Error() string { return "collections: write not sent: " + e.Err.Error() }
func (e *WriteError[T]) Unwrap() error { return e.Err }

// errNegativeIndex: a Vec index or length below zero is refused before
// it is sent.
var errNegativeIndex = errors.New("collections: negative index")

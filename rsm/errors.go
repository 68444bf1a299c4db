package rsm

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mosaikgo/mosaik/cluster"
)

var (
	// ErrOffline: the group has no running replica or no known leader;
	// the commands were not submitted. Commands come back in an
	// [*OfflineError], which matches it. It is the core's sentinel, so
	// errors of the untyped API match too.
	ErrOffline = cluster.ErrOffline
	// ErrNoCommands: ExecuteMany or FeedMany of an empty batch.
	ErrNoCommands = errors.New("rsm: no commands")
	// ErrOutcomeUnknown: a command was submitted but its commit was not
	// confirmed before the deadline, or this member's replica stopped
	// with it in flight (the group re-forming, or this member rejoining);
	// it may still be applied (a retry may apply it twice unless the
	// machine deduplicates). When the deadline passed it matches
	// context.DeadlineExceeded too.
	ErrOutcomeUnknown = cluster.ErrOutcomeUnknown
	// ErrGroupTerminated: the handle was closed, or the group left.
	ErrGroupTerminated = errors.New("rsm: group terminated")
)

// OfflineError hands back commands that were not submitted because the
// group was offline. It matches [ErrOffline].
type OfflineError[C any] struct {
	Commands []C
}

func (e *OfflineError[C]) Error() string {
	return fmt.Sprintf("rsm: group offline: %d command(s) not submitted", len(e.Commands))
}

// Is makes errors.Is(err, ErrOffline) hold.
func (e *OfflineError[C]) Is(target error) bool { return target == ErrOffline }

// terminal maps the core's ends of a handle (its queue closed, the group
// left) to ErrGroupTerminated; a proposal abandoned in flight by the end
// matches ErrOutcomeUnknown as well (it may still commit).
func terminal(err error) error {
	switch {
	case errors.Is(err, cluster.ErrQueueClosed) && errors.Is(err, cluster.ErrOutcomeUnknown):
		return fmt.Errorf("%w: %w", ErrGroupTerminated, ErrOutcomeUnknown)
	case errors.Is(err, cluster.ErrQueueClosed), errors.Is(err, cluster.ErrGroupLeft):
		return ErrGroupTerminated
	}
	return err
}

// commandError is the error of a call that submitted cmds: the core's
// ErrOffline becomes an [*OfflineError] handing back a copy of cmds (the
// caller may reuse its slice), and the handle's ends become
// ErrGroupTerminated.
func commandError[C any](err error, cmds []C) error {
	if errors.Is(err, cluster.ErrOffline) {
		return &OfflineError[C]{Commands: slices.Clone(cmds)}
	}
	return terminal(err)
}

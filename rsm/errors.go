package rsm

import (
	"errors"
	"fmt"

	"github.com/mosaikgo/mosaik/actors"
)

var (
	// ErrOffline: the group has no running replica or no known leader;
	// the commands were not submitted. Commands come back in an
	// [*OfflineError], which matches it. It is the core's sentinel, so
	// errors of the untyped API match too.
	ErrOffline = actors.ErrOffline
	// ErrNoCommands: ExecuteMany or FeedMany of an empty batch.
	ErrNoCommands = errors.New("rsm: no commands")
	// ErrOutcomeUnknown: a command was submitted but its commit was not
	// confirmed before the deadline, or this member's replica stopped
	// with it in flight (the group re-forming, or this member rejoining);
	// it may still be applied (a retry may apply it twice unless the
	// machine deduplicates). When the deadline passed it matches
	// context.DeadlineExceeded too.
	ErrOutcomeUnknown = actors.ErrOutcomeUnknown
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

// terminal maps the core's "left" to this package's sentinel.
func terminal(err error) error {
	if errors.Is(err, actors.ErrGroupLeft) {
		return ErrGroupTerminated
	}
	return err
}

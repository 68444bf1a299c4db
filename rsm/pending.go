package rsm

import (
	"context"

	"github.com/mosaikgo/mosaik/cluster"
)

// Pending is a command (or batch) accepted by Feed or FeedMany.
type Pending struct {
	p *cluster.Proposal
	// commandError is commandError for the commands accepted.
	commandError func(error) error
}

// Done is closed once the outcome is known.
func (p *Pending) Done() <-chan struct{} { return p.p.Done() }

// Wait returns the command's log index once it is committed and applied
// by this member, or why it was not: an [*OfflineError] (not submitted),
// [ErrGroupTerminated], a rejection by the replicas, or a proposal
// timeout (then it may still commit). ctx bounds only the wait: the
// command stays submitted when ctx ends.
func (p *Pending) Wait(ctx context.Context) (uint64, error) {
	idx, err := p.p.Wait(ctx)
	if err != nil {
		err = p.commandError(err)
	}
	return idx, err
}

// WaitRange is Wait for a batch: the range of its one entry.
func (p *Pending) WaitRange(ctx context.Context) (IndexRange, error) {
	idx, err := p.Wait(ctx)
	if err != nil {
		return IndexRange{}, err
	}
	return IndexRange{First: idx, Last: idx}, nil
}

package rsm

import "context"

// Pending is a command (or batch) accepted by Feed or FeedMany.
type Pending struct {
	s       *submission
	drained <-chan struct{} // the handle has ended and failed its queue
}

// Done is closed once the outcome is known.
func (p *Pending) Done() <-chan struct{} { return p.s.done }

// Wait returns the command's log index once it is committed and applied
// by this member, or why it was not: an [*OfflineError] (not submitted),
// [ErrGroupTerminated], a rejection by the replicas, or a proposal
// timeout (then it may still commit). ctx bounds only the wait: the
// command stays submitted when ctx ends.
func (p *Pending) Wait(ctx context.Context) (uint64, error) {
	if p.s.finished() {
		return p.s.index, p.s.err // spares the select, which locks all three
	}
	select {
	case <-p.s.done:
		return p.s.index, p.s.err
	case <-p.drained:
		// The handle ended: s was finished, or never taken from the queue.
		select {
		case <-p.s.done:
			return p.s.index, p.s.err
		default:
			return 0, ErrGroupTerminated
		}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// WaitRange is Wait for a batch: the range of its one entry.
func (p *Pending) WaitRange(ctx context.Context) (IndexRange, error) {
	idx, err := p.Wait(ctx)
	if err != nil {
		return IndexRange{}, err
	}
	return IndexRange{First: idx, Last: idx}, nil
}

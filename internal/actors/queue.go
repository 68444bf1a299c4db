package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// MaxQueued bounds the entries one Queue holds waiting to be proposed.
const MaxQueued = MaxInFlight

var (
	// ErrQueueClosed: the queue was closed, or its group left, before the
	// entry was proposed; it never will be.
	ErrQueueClosed = errors.New("actors: submission queue closed")
	// ErrQueueFull: Offer found MaxQueued entries waiting.
	ErrQueueFull = errors.New("actors: submission queue full")
)

// Queue proposes entries to its group one at a time, in the order they
// entered it: the next is proposed only once the previous one is
// committed and applied by this member, or has failed. It is the one
// ordered submission path of the runtime: typed handles (package rsm) and
// the group actor (GroupActorProps) each own one.
//
// Proposing is done by whoever finds the queue idle: a Propose caller
// proposes its own entry on its goroutine when nothing waits before it;
// otherwise a proposer goroutine runs while the queue has entries and
// ends when it is empty, so an idle queue costs no goroutine.
//
// A queue lives until Close or until its group is left. Then the entry in
// flight is abandoned (its error matches ErrQueueClosed and, as it may
// still commit, ErrOutcomeUnknown) and every entry still waiting fails
// with ErrQueueClosed.
type Queue struct {
	grp *Group
	// slots holds one token per waiting entry, so that at most MaxQueued
	// wait; the queue itself is a slice, which costs an idle queue
	// nothing.
	slots chan struct{}
	mu    struct {
		sync.Mutex
		waiting   []*Proposal // FIFO
		proposers int         // 1 while a proposer goroutine runs
	}
	// proposing is held by whoever proposes from the queue, so that
	// entries are taken and proposed in the same order.
	proposing sync.Mutex
	proposers sync.WaitGroup
	life      context.Context
	cancel    context.CancelFunc
	// closed is closed once life ended, every waiting entry failed and
	// the proposer goroutine ended.
	closed chan struct{}
}

// NewQueue returns a submission queue on grp. Close releases it.
func (grp *Group) NewQueue() *Queue {
	life, cancel := context.WithCancel(grp.Context())
	q := &Queue{
		grp:    grp,
		slots:  make(chan struct{}, MaxQueued),
		life:   life,
		cancel: cancel,
		closed: make(chan struct{}),
	}
	context.AfterFunc(life, q.shutdown)
	return q
}

// Proposal is an entry in a Queue.
type Proposal struct {
	// ctx bounds the proposal: an entry whose ctx ended while it waited
	// is not proposed.
	ctx context.Context
	// then, when set, learns the outcome on the goroutine that finished
	// the entry, in queue order.
	then   func(index uint64, err error)
	entry  []byte
	done   chan struct{}
	closed <-chan struct{} // the queue's
	index  uint64
	err    error
}

func (p *Proposal) finish(index uint64, err error) {
	p.index, p.err = index, err
	close(p.done)
	if p.then != nil {
		p.then(index, err)
	}
}

func (p *Proposal) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed once the outcome is known.
func (p *Proposal) Done() <-chan struct{} { return p.done }

// Wait returns the entry's log index once it is committed and applied by
// this member, or why it was not. ctx bounds only the wait.
func (p *Proposal) Wait(ctx context.Context) (uint64, error) {
	if p.finished() {
		return p.index, p.err
	}
	select {
	case <-p.done:
		return p.index, p.err
	case <-p.closed:
		// The queue closed: p was finished, or never taken from it.
		select {
		case <-p.done:
			return p.index, p.err
		default:
			return 0, ErrQueueClosed
		}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Propose proposes entry after every entry that entered the queue before
// it and returns its log index once this member applied it. If ctx ends
// while the entry waits, it is never proposed; once proposed, an end of
// ctx returns ErrOutcomeUnknown (see Group.ProposeUntil).
func (q *Queue) Propose(ctx context.Context, entry []byte) (uint64, error) {
	if q.proposing.TryLock() {
		if q.waiting() == 0 {
			// Nothing that entered earlier waits, and what enters
			// meanwhile waits behind this.
			defer q.releaseProposing()
			if err := q.admissible(); err != nil {
				return 0, err
			}
			return q.propose(ctx, entry)
		}
		// Not while holding proposing: enqueue may wait for a slot,
		// which only proposing frees.
		q.proposing.Unlock()
	}
	p, err := q.enqueue(ctx, &Proposal{ctx: ctx, entry: entry}, true)
	if err != nil {
		return 0, err
	}
	// Propose up to p on this goroutine if no one else proposes: that
	// spares two hand-offs to the proposer goroutine and back.
	if q.proposing.TryLock() {
		q.proposeWaiting(p)
		q.releaseProposing()
	} else {
		q.ensureProposer()
	}
	return p.Wait(ctx)
}

// Submit queues entry to be proposed under the queue's lifetime and
// returns once it is accepted; ctx bounds only the wait for a slot while
// MaxQueued entries wait.
func (q *Queue) Submit(ctx context.Context, entry []byte) (*Proposal, error) {
	p, err := q.enqueue(ctx, &Proposal{ctx: q.life, entry: entry}, true)
	if err != nil {
		return nil, err
	}
	q.ensureProposer()
	return p, nil
}

// Offer queues entry without blocking, to be proposed under ctx, and
// calls then with its outcome (also when it is never proposed) on the
// goroutine that finishes it; the calls come in queue order and must not
// block. It fails with ErrQueueFull while MaxQueued entries wait.
func (q *Queue) Offer(ctx context.Context, entry []byte, then func(index uint64, err error)) error {
	if _, err := q.enqueue(ctx, &Proposal{ctx: ctx, entry: entry, then: then}, false); err != nil {
		return err
	}
	q.ensureProposer()
	return nil
}

// Close abandons the entry in flight (it may still commit), fails the
// waiting ones with ErrQueueClosed, and returns once no goroutine works
// for the queue.
func (q *Queue) Close() {
	q.cancel()
	<-q.closed
	// A Propose caller proposing on its own goroutine has had its
	// proposal cut short too; wait for it to let go.
	q.proposing.Lock()
	q.proposing.Unlock()
}

// Done is closed once the queue is closed or its group left.
func (q *Queue) Done() <-chan struct{} { return q.life.Done() }

// admissible says why nothing may be submitted now, or nil: the queue
// has closed, the state machine failed, or the group is offline.
func (q *Queue) admissible() error {
	if q.life.Err() != nil {
		return ErrQueueClosed
	}
	c := q.grp.Consensus()
	switch {
	case c.Failed != nil:
		return c.Failed
	case !c.Online():
		return ErrOffline
	}
	return nil
}

// enqueue appends p, once admissible and given a slot; block says
// whether to wait for one (bounded by ctx) or fail with ErrQueueFull.
func (q *Queue) enqueue(ctx context.Context, p *Proposal, block bool) (*Proposal, error) {
	if err := q.admissible(); err != nil {
		return nil, err
	}
	select {
	case q.slots <- struct{}{}:
	default:
		if !block {
			return nil, ErrQueueFull
		}
		select {
		case q.slots <- struct{}{}:
		case <-q.life.Done():
			return nil, ErrQueueClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p.done = make(chan struct{})
	p.closed = q.closed
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.life.Err() != nil {
		// shutdown may have failed the waiting entries already: p must
		// not be left behind.
		<-q.slots
		return nil, ErrQueueClosed
	}
	q.mu.waiting = append(q.mu.waiting, p)
	return p, nil
}

// dequeue takes the oldest waiting entry, nil when there is none.
func (q *Queue) dequeue() *Proposal {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.mu.waiting) == 0 {
		return nil
	}
	p := q.mu.waiting[0]
	q.mu.waiting[0] = nil
	q.mu.waiting = q.mu.waiting[1:]
	<-q.slots
	return p
}

func (q *Queue) waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mu.waiting)
}

// proposeWaiting proposes waiting entries, oldest first, until none is
// left or, when until is set, until it has finished. The caller holds
// proposing.
func (q *Queue) proposeWaiting(until *Proposal) {
	for until == nil || !until.finished() {
		p := q.dequeue()
		if p == nil {
			return
		}
		p.finish(q.propose(p.ctx, p.entry))
	}
}

// propose proposes one entry and waits for this member to apply it; the
// queue's end abandons it: then the error matches ErrQueueClosed, and
// ErrOutcomeUnknown too if it was submitted.
func (q *Queue) propose(ctx context.Context, entry []byte) (uint64, error) {
	if q.life.Err() != nil {
		return 0, ErrQueueClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	idx, err := q.grp.ProposeUntil(ctx, q.life.Done(), entry)
	switch {
	case err == nil || q.life.Err() == nil:
	case errors.Is(err, ErrOutcomeUnknown):
		err = fmt.Errorf("%w: %w", ErrQueueClosed, err) // abandoned in flight
	default:
		err = ErrQueueClosed // cut short before it was submitted
	}
	return idx, err
}

// ensureProposer makes sure a proposer goroutine will propose what waits:
// it starts one unless one runs (it sees the queue before it ends) or the
// queue's life is over (shutdown fails what waits).
func (q *Queue) ensureProposer() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.mu.proposers > 0 || q.life.Err() != nil {
		return
	}
	q.mu.proposers = 1
	q.proposers.Add(1)
	go q.proposer()
}

// proposer proposes what waits until nothing does, then ends.
func (q *Queue) proposer() {
	defer q.proposers.Done()
	for {
		q.proposing.Lock()
		q.proposeWaiting(nil)
		q.proposing.Unlock()
		q.mu.Lock()
		if len(q.mu.waiting) == 0 || q.life.Err() != nil {
			q.mu.proposers = 0
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
	}
}

// releaseProposing releases proposing and starts the proposer for what
// entered the queue while it was held.
func (q *Queue) releaseProposing() {
	q.proposing.Unlock()
	if q.waiting() > 0 {
		q.ensureProposer()
	}
}

// shutdown runs once the queue's life has ended. Under proposing, so
// that outcomes are reported in queue order after the one in flight
// (abandoned by the end of life), it fails every waiting entry; then it
// waits for the proposer goroutine and closes closed. Only then may a
// waiter conclude that an entry left unfinished was never proposed.
func (q *Queue) shutdown() {
	q.proposing.Lock()
	for p := q.dequeue(); p != nil; p = q.dequeue() {
		p.finish(0, ErrQueueClosed)
	}
	q.proposing.Unlock()
	// ensureProposer adds only while life lasts, under mu, which dequeue
	// took after life ended: no Add can follow this Wait.
	q.proposers.Wait()
	close(q.closed)
}

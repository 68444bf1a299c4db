package rsm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/mosaikgo/mosaik/actors"
	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
)

// MaxQueued bounds the commands (or batches) one handle holds in its
// submission queue; Feed blocks while it is full.
const MaxQueued = actors.MaxInFlight

// Consistency chooses how a query reads the state.
type Consistency int

const (
	// Weak reads the local replica at once: possibly stale, never blocks
	// on the leader. Works while no leader is known.
	Weak Consistency = iota
	// Strong is linearizable: it reflects every command committed before
	// the query started (a Raft read index from the leader).
	Strong
)

// IndexRange is the log indexes a batch occupies. A batch is one log
// entry, so First == Last.
type IndexRange struct{ First, Last uint64 }

// Group is a typed handle on a joined group. Its methods are safe for
// concurrent use.
type Group[C, Q, R any] struct {
	core   *cluster.Group
	codecs statemachine.Codecs[C, Q, R]

	// slots holds one token per queued submission, so that at most
	// MaxQueued wait; the queue itself is a slice, which costs an idle
	// handle nothing (a channel of MaxQueued pointers would cost every
	// handle 8 KiB, scanned by every garbage collection).
	slots chan struct{}
	mu    struct {
		sync.Mutex
		queue      []*submission // FIFO
		submitting bool          // a submitter goroutine runs
	}
	// proposing is held by whoever proposes from the queue: a submitter,
	// or an Execute caller that found the handle idle.
	proposing sync.Mutex
	// submitters counts the submitter goroutine while one runs (see
	// ensureSubmitter); an idle handle has none.
	submitters sync.WaitGroup
	// life ends with Close, Leave or the group's end (it hangs off the
	// core's context): in-flight proposals are abandoned, the queue is
	// failed, and then drained is closed.
	life    context.Context
	cancel  context.CancelFunc
	drained chan struct{}
}

func newGroup[C, Q, R any](core *cluster.Group, cfg Config[C, Q, R]) *Group[C, Q, R] {
	life, cancel := context.WithCancel(core.Context())
	g := &Group[C, Q, R]{
		core:    core,
		codecs:  cfg.Codecs,
		slots:   make(chan struct{}, MaxQueued),
		life:    life,
		cancel:  cancel,
		drained: make(chan struct{}),
	}
	// Runs once life ends; until then it costs no goroutine.
	context.AfterFunc(life, g.closeQueue)
	return g
}

// submission is one entry waiting in, or proposed from, the queue.
type submission struct {
	// ctx is the caller's for Execute (a command whose caller gave up is
	// not proposed), the handle's for Feed.
	ctx   context.Context
	entry []byte
	// toOfflineError turns actors.ErrOffline into the OfflineError that hands
	// the commands back (see Group.offline).
	toOfflineError func(error) error
	done           chan struct{}
	index          uint64
	err            error
}

func (s *submission) finish(index uint64, err error) {
	s.index, s.err = index, err
	close(s.done)
}

func (s *submission) finished() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// ensureSubmitter makes sure a submitter goroutine will propose what is
// queued: it starts one unless one runs already (it sees the queue before
// it ends) or the handle's life is over (closeQueue fails the queue).
func (g *Group[C, Q, R]) ensureSubmitter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mu.submitting || g.life.Err() != nil {
		return
	}
	g.mu.submitting = true
	g.submitters.Add(1)
	go g.submitter()
}

// submitter proposes the queued submissions until the queue is empty, then
// ends: see proposeQueued, and Ordering in the package doc.
func (g *Group[C, Q, R]) submitter() {
	defer g.submitters.Done()
	for {
		g.proposing.Lock()
		g.proposeQueued(nil)
		g.proposing.Unlock()
		g.mu.Lock()
		if len(g.mu.queue) == 0 || g.life.Err() != nil {
			g.mu.submitting = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
	}
}

// closeQueue runs once the handle's life has ended: it fails what is still
// queued, waits for the submitter to end, and closes drained. Only then
// may a waiter conclude that a submission left unfinished was never
// proposed: see Pending.Wait.
func (g *Group[C, Q, R]) closeQueue() {
	g.drain()
	// ensureSubmitter adds under g.mu and only while life lasts, and drain
	// took g.mu after life ended: no Add can follow this Wait.
	g.submitters.Wait()
	close(g.drained)
}

// proposeQueued proposes the queued submissions one at a time, oldest
// first, each once the one before it is committed and applied locally
// (or has failed), until the queue is empty or until, when it is set,
// has finished. The caller holds g.proposing, so that submissions are
// taken from the queue and proposed in the same order.
func (g *Group[C, Q, R]) proposeQueued(until *submission) {
	for until == nil || !until.finished() {
		s := g.dequeue()
		if s == nil {
			return
		}
		g.propose(s)
	}
}

// dequeue takes the oldest queued submission, nil when there is none.
func (g *Group[C, Q, R]) dequeue() *submission {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.mu.queue) == 0 {
		return nil
	}
	s := g.mu.queue[0]
	g.mu.queue[0] = nil
	g.mu.queue = g.mu.queue[1:]
	<-g.slots
	return s
}

// queued is the number of submissions waiting.
func (g *Group[C, Q, R]) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.mu.queue)
}

// execute commits entry, the encoding of cmds, for Execute and
// ExecuteMany. On an idle handle (the common case: one caller per
// handle) the caller proposes at once, without queueing: with g.proposing
// held and the queue empty, nothing issued earlier can be waiting, and
// what is issued meanwhile queues behind it. Otherwise entry is queued and
// proposed by proposeInline.
func (g *Group[C, Q, R]) execute(ctx context.Context, entry []byte, cmds []C) (uint64, error) {
	if g.proposing.TryLock() {
		if g.queued() == 0 {
			defer g.releaseProposing()
			toOfflineError := func(err error) error { return g.offline(err, cmds) }
			if err := g.admissible(); err != nil {
				return 0, toOfflineError(err)
			}
			return g.proposeEntry(ctx, entry, toOfflineError)
		}
		// Not while holding g.proposing: submit may wait for a slot,
		// which only proposing frees.
		g.proposing.Unlock()
	}
	s, err := g.submit(ctx, ctx, entry, cmds)
	if err != nil {
		return 0, err
	}
	g.proposeInline(s)
	return g.wait(ctx, s)
}

// proposeInline lets the caller of Execute propose, on its own goroutine,
// the queue up to and including its submission s when no one else is
// proposing: that spares the two hand-offs to the submitter and back.
// Otherwise, and for what is queued after s, the submitter is kicked.
func (g *Group[C, Q, R]) proposeInline(s *submission) {
	if !g.proposing.TryLock() {
		g.ensureSubmitter()
		return
	}
	defer g.releaseProposing()
	g.proposeQueued(s)
}

// releaseProposing releases g.proposing and kicks the submitter for what was queued
// while it was held.
func (g *Group[C, Q, R]) releaseProposing() {
	g.proposing.Unlock()
	if g.queued() > 0 {
		g.ensureSubmitter()
	}
}

// drain fails every submission still queued. Enqueuers racing with it are
// covered by Pending.Wait, which also watches g.drained.
func (g *Group[C, Q, R]) drain() {
	for s := g.dequeue(); s != nil; s = g.dequeue() {
		s.finish(0, ErrGroupTerminated)
	}
}

func (g *Group[C, Q, R]) propose(s *submission) {
	idx, err := g.proposeEntry(s.ctx, s.entry, s.toOfflineError)
	s.finish(idx, err)
}

// proposeEntry proposes entry and waits for this member to apply it;
// toOfflineError maps an offline group's error (see Group.offline). The handle's
// end abandons the proposal (Close cancels life); without a deadline on ctx
// the core gives it ForwardTimeout.
func (g *Group[C, Q, R]) proposeEntry(ctx context.Context, entry []byte, toOfflineError func(error) error) (uint64, error) {
	if g.life.Err() != nil {
		return 0, ErrGroupTerminated
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	idx, err := g.core.ProposeUntil(ctx, g.life.Done(), entry)
	switch {
	case err == nil:
	case errors.Is(err, actors.ErrOffline):
		err = toOfflineError(err)
	case g.life.Err() != nil:
		err = ErrGroupTerminated
	}
	return idx, terminal(err)
}

// admissible says why nothing may be submitted now, or nil: the handle
// has ended, the state machine failed, or the group is offline
// (actors.ErrOffline, handed to offline).
func (g *Group[C, Q, R]) admissible() error {
	if g.terminated() {
		return ErrGroupTerminated
	}
	c := g.core.Consensus()
	switch {
	case c.Failed != nil:
		return c.Failed // the state machine failed: say so, not "offline"
	case !c.Online():
		return actors.ErrOffline
	}
	return nil
}

// offline turns actors.ErrOffline into an OfflineError that hands back a
// copy of cmds; other errors pass.
func (g *Group[C, Q, R]) offline(err error, cmds []C) error {
	if !errors.Is(err, actors.ErrOffline) {
		return err
	}
	return &OfflineError[C]{Commands: slices.Clone(cmds)}
}

// enqueue puts a submission in the queue, in issue order.
func (g *Group[C, Q, R]) enqueue(ctx context.Context, s *submission) error {
	if err := g.admissible(); err != nil {
		return s.toOfflineError(err)
	}
	select {
	case g.slots <- struct{}{}:
	default:
		select {
		case g.slots <- struct{}{}:
		case <-g.life.Done():
			return ErrGroupTerminated
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.life.Err() != nil {
		// The handle ended since the check above, and closeQueue may have
		// drained the queue already: s must not be left in it.
		<-g.slots
		return ErrGroupTerminated
	}
	g.mu.queue = append(g.mu.queue, s)
	return nil
}

func (g *Group[C, Q, R]) terminated() bool { return g.life.Err() != nil }

// entry encodes cmds as one log entry: a plain command for one, a batch
// envelope for several (or whenever batch is set).
func (g *Group[C, Q, R]) entry(cmds []C, batch bool) ([]byte, error) {
	if len(cmds) == 0 {
		return nil, ErrNoCommands
	}
	if !batch {
		b, err := g.codecs.Command.Encode(cmds[0])
		if err != nil {
			return nil, fmt.Errorf("rsm: command 0: %w", err)
		}
		return statemachine.EncodeSingle(b), nil
	}
	enc := make([][]byte, len(cmds))
	for i, c := range cmds {
		b, err := g.codecs.Command.Encode(c)
		if err != nil {
			return nil, fmt.Errorf("rsm: command %d: %w", i, err)
		}
		enc[i] = b
	}
	return statemachine.EncodeBatch(enc), nil
}

// submit queues entry, the encoding of cmds, to be proposed under
// proposal; ctx bounds the wait for a queue slot.
func (g *Group[C, Q, R]) submit(ctx, proposal context.Context, entry []byte, cmds []C) (*submission, error) {
	kept := slices.Clone(cmds) // the caller may reuse cmds once we return
	s := &submission{
		ctx:            proposal,
		entry:          entry,
		toOfflineError: func(err error) error { return g.offline(err, kept) },
		done:           make(chan struct{}),
	}
	if err := g.enqueue(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}

// wait returns s's outcome once it is known, or ctx's error.
func (g *Group[C, Q, R]) wait(ctx context.Context, s *submission) (uint64, error) {
	p := Pending{s: s, drained: g.drained}
	return p.Wait(ctx)
}

// Execute submits cmd and returns its log index once it is committed and
// applied by this member. Any member may execute; a follower's command is
// forwarded to the leader. If ctx ends first the command may or may not
// be committed, unless it was still queued (then it is never proposed).
func (g *Group[C, Q, R]) Execute(ctx context.Context, cmd C) (uint64, error) {
	cmds := []C{cmd}
	entry, err := g.entry(cmds, false)
	if err != nil {
		return 0, err
	}
	return g.execute(ctx, entry, cmds)
}

// ExecuteMany commits cmds as one log entry, applied together and in
// order with nothing interleaved, and returns once this member applied it.
func (g *Group[C, Q, R]) ExecuteMany(ctx context.Context, cmds []C) (IndexRange, error) {
	entry, err := g.entry(cmds, true)
	if err != nil {
		return IndexRange{}, err
	}
	idx, err := g.execute(ctx, entry, cmds)
	if err != nil {
		return IndexRange{}, err
	}
	return IndexRange{First: idx, Last: idx}, nil
}

// Feed queues cmd for replication and returns once it is accepted into
// the handle's submission queue: it will be proposed after every command
// issued earlier through this handle and before every later one, under
// the handle's lifetime (ctx bounds only the wait for a queue slot). Wait
// on the Pending for its index. See Feed in the package doc.
func (g *Group[C, Q, R]) Feed(ctx context.Context, cmd C) (*Pending, error) {
	return g.feed(ctx, []C{cmd}, false)
}

// FeedMany is Feed for a batch committed as one entry, as in ExecuteMany.
func (g *Group[C, Q, R]) FeedMany(ctx context.Context, cmds []C) (*Pending, error) {
	return g.feed(ctx, cmds, true)
}

// feed queues cmds under the handle's lifetime and leaves them to the
// submitter.
func (g *Group[C, Q, R]) feed(ctx context.Context, cmds []C, batch bool) (*Pending, error) {
	entry, err := g.entry(cmds, batch)
	if err != nil {
		return nil, err
	}
	s, err := g.submit(ctx, g.life, entry, cmds)
	if err != nil {
		return nil, err
	}
	g.ensureSubmitter()
	return &Pending{s: s, drained: g.drained}, nil
}

// Query asks the state machine q. Weak reads the local replica, Strong is
// linearizable; both return the result with the applied index it reflects.
func (g *Group[C, Q, R]) Query(ctx context.Context, q Q, c Consistency) (R, uint64, error) {
	var zero R
	if g.terminated() {
		return zero, 0, ErrGroupTerminated
	}
	b, err := g.codecs.Query.Encode(q)
	if err != nil {
		return zero, 0, fmt.Errorf("rsm: query: %w", err)
	}
	out, applied, err := g.core.Read(ctx, b, c == Strong)
	if err != nil {
		if g.terminated() {
			return zero, 0, ErrGroupTerminated
		}
		return zero, 0, err
	}
	r, err := g.codecs.Result.Decode(out)
	if err != nil {
		return zero, 0, fmt.Errorf("rsm: result: %w", err)
	}
	return r, applied, nil
}

// ID is the group's id.
func (g *Group[C, Q, R]) ID() id.GroupID { return g.core.ID() }

// Self is this member's peer id.
func (g *Group[C, Q, R]) Self() id.PeerID { return g.core.Bonds().Self }

// Leader is the current leader as this member knows it; zero when none.
func (g *Group[C, Q, R]) Leader() id.PeerID { return g.core.Consensus().Leader }

// IsLeader reports whether this member leads the group.
func (g *Group[C, Q, R]) IsLeader() bool {
	c := g.core.Consensus()
	return c.Running && c.Leader == g.Self()
}

// Voters is the size of the group's committee as this member's replica
// knows it (on every member, not only the leader).
func (g *Group[C, Q, R]) Voters() int { return g.core.Consensus().Voters }

// IsVoter reports whether this member votes in the committee.
func (g *Group[C, Q, R]) IsVoter() bool { return g.core.Consensus().Voter }

// Committed is the log index of the last command this member applied.
func (g *Group[C, Q, R]) Committed() uint64 { return g.core.Applied() }

// Core is the untyped group underneath, for bonds and their events.
// Position is a point in the group's log: a term and an index.
type Position struct {
	Term  uint64
	Index uint64
}

// LogPosition is this member's position: the current term and the index
// of the last command it applied. (The replication engine does not expose
// the index of the last entry received but not yet applied; for a member
// that is caught up the two are the same.)
func (g *Group[C, Q, R]) LogPosition() Position {
	return Position{Term: g.core.Consensus().Term, Index: g.core.Applied()}
}

func (g *Group[C, Q, R]) Core() *cluster.Group { return g.core }

// Close releases the handle without leaving the group: queued commands
// fail with ErrGroupTerminated, an in-flight proposal is abandoned (it may
// still commit), and Close returns once no goroutine works for the
// handle.
func (g *Group[C, Q, R]) Close() {
	g.cancel()
	<-g.drained
	// An Execute caller proposing inline has had its proposal cut short
	// too; wait for it to let go.
	g.proposing.Lock()
	g.proposing.Unlock()
}

// Leave closes the handle, then leaves the group (for every handle on
// it): it returns once the member's group actor has stopped or ctx ends.
func (g *Group[C, Q, R]) Leave(ctx context.Context) error {
	g.Close()
	return terminal(g.core.Leave(ctx))
}

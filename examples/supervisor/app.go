package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/actorkit"
	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Add is the counter's command: add N. ID names the command so that a
// retry cannot count twice: a command that timed out may or may not have
// been committed, so the App sends it again with the same ID, and the
// machine applies each ID once.
type Add struct {
	ID string `json:"id"`
	N  int64  `json:"n"`
}

// Counter is the replicated state: the sum of every command applied, and
// the IDs applied so far. (A long-lived machine would bound the IDs, for
// example with a window of sequence numbers per sender.)
type Counter struct {
	total int64
	seen  map[string]bool
}

// NewCounter returns a counter at zero.
func NewCounter() *Counter { return &Counter{seen: map[string]bool{}} }

// Signature versions the machine; it is part of the group id.
func (*Counter) Signature() id.Digest { return id.Of("examples/supervisor/counter/v1") }

// Apply adds each committed command whose ID is new.
func (c *Counter) Apply(_ statemachine.ApplyContext, cmds []Add) {
	for _, a := range cmds {
		if c.seen[a.ID] {
			continue
		}
		c.seen[a.ID] = true
		c.total += a.N
	}
}

// Query returns the total.
func (c *Counter) Query(struct{}) int64 { return c.total }

// counterSnapshot is the snapshot format: the total and the IDs seen.
type counterSnapshot struct {
	Total int64    `json:"total"`
	Seen  []string `json:"seen"`
}

// Snapshot writes the total and the IDs, sorted.
func (c *Counter) Snapshot(w io.Writer) error {
	snap := counterSnapshot{Total: c.total, Seen: slices.Sorted(maps.Keys(c.seen))}
	if err := json.NewEncoder(w).Encode(snap); err != nil {
		return fmt.Errorf("counter snapshot: %w", err)
	}
	return nil
}

// Restore reads a snapshot written by Snapshot.
func (c *Counter) Restore(r io.Reader) error {
	var snap counterSnapshot
	if err := json.NewDecoder(r).Decode(&snap); err != nil {
		return fmt.Errorf("counter restore: %w", err)
	}
	c.total, c.seen = snap.Total, make(map[string]bool, len(snap.Seen))
	for _, id := range snap.Seen {
		c.seen[id] = true
	}
	return nil
}

// Messages main sends an App, and the App's answers.
type (
	// addAll asks for every value to be added to the counter; the App
	// answers addedAll once all are applied or one failed for good.
	addAll   struct{ values []int64 }
	addedAll struct {
		lastIndex uint64
		err       error
	}
	// readTotal asks for a strong read of the counter; the App answers
	// totalRead.
	readTotal struct{}
	totalRead struct {
		total   int64
		applied uint64
		err     error
	}
)

// retryAdds is the App's reminder to send again the commands that the
// group refused as offline or that failed.
type retryAdds struct{}

// retryDelay is how long a command waits before it goes out again after
// the group refused it as offline or it failed.
const retryDelay = 200 * time.Millisecond

// maxAttempts bounds how often a failing command is sent. Offline
// refusals do not count: nothing was proposed.
const maxAttempts = 3

// pendingAdd is one command of a job and how often it failed.
type pendingAdd struct {
	cmd      Add
	attempts int
}

// addJob is an addAll in progress.
type addJob struct {
	requester *actor.PID
	todo      []pendingAdd // to send: new, or waiting to be retried
	sent      []pendingAdd // sent, replies pending, in sending order
	lastIndex uint64
}

// App is one node's application actor. It supervises the group actor (its
// child), subscribes to its events, and turns main's requests into group
// messages. Everything it waits for arrives as a message; Receive never
// blocks.
type App struct {
	joiner actorkit.Joiner
	group  cluster.GroupConfig
	self   id.PeerID
	logf   func(string, ...any)

	tasks     *actorkit.Tasks // timers of this incarnation
	facade    *actor.PID      // the group actor, a child of this App
	leader    id.PeerID       // as the last LeaderChanged said; zero if none
	online    bool            // the last LeaderChanged said this member takes commands
	committed uint64          // the last Committed index heard
	nextID    uint64          // numbers this App's commands
	job       *addJob
	retrying  bool         // a retryAdds is scheduled
	readers   []*actor.PID // readTotal requesters; the first one's query is in flight
}

// Receive handles main's requests, the group actor's replies and its
// events.
func (a *App) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.tasks = actorkit.NewTasks()
		// The group actor joins the group in a task of its own and holds
		// requests until then; subscribing first means the App hears the
		// current leader as soon as there is one.
		a.facade = ctx.Spawn(actorkit.GroupActorProps(a.joiner, a.group))
		ctx.Request(a.facade, &messages.SubscribeEvents{})
	case *messages.LeaderChanged:
		a.leaderChanged(ctx, m)
	case *messages.Committed:
		a.committed = m.GetIndex()
	case *addAll:
		a.startAdding(ctx, m)
	case *messages.ExecuteReply:
		a.executed(ctx, m)
	case *readTotal:
		if ctx.Sender() == nil {
			return // sent without a requester: nobody to answer
		}
		a.readers = append(a.readers, ctx.Sender())
		if len(a.readers) == 1 {
			a.query(ctx)
		}
	case *messages.QueryReply:
		a.answered(ctx, m)
	case *retryAdds:
		a.retrying = false
		a.sendWaiting(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.tasks.Stop()
	}
}

// leaderChanged records the leader and, once this member takes commands,
// sends the commands that were waiting.
func (a *App) leaderChanged(ctx actor.Context, m *messages.LeaderChanged) {
	a.leader, a.online = id.PeerID{}, m.GetOnline()
	if m.GetLeader() != nil {
		leader, err := id.PeerIDFromProto(m.GetLeader())
		if err != nil {
			a.logf("app on %s: bad LeaderChanged: %v", a.self.Short(), err)
			return
		}
		a.leader = leader
	}
	logLeader(a.logf, a.self, a.leader, m.GetTerm())
	a.sendWaiting(ctx)
}

// startAdding takes on an addAll: its commands go out at once if this
// member takes commands, else with the first LeaderChanged that says so.
func (a *App) startAdding(ctx actor.Context, m *addAll) {
	if ctx.Sender() == nil {
		return // sent without a requester: nobody to answer
	}
	if a.job != nil {
		ctx.Respond(&addedAll{err: errors.New("already adding")})
		return
	}
	if len(m.values) == 0 {
		ctx.Respond(&addedAll{lastIndex: a.committed})
		return
	}
	job := &addJob{requester: ctx.Sender()}
	for _, v := range m.values {
		a.nextID++
		job.todo = append(job.todo, pendingAdd{cmd: Add{ID: fmt.Sprintf("%s/%d", a.self, a.nextID), N: v}})
	}
	a.job = job
	a.sendWaiting(ctx)
}

// sendWaiting sends the job's waiting commands, while this member takes
// commands (it has joined, and a leader is known).
// The group actor proposes them one at a time, in this order, and
// answers in the same order.
func (a *App) sendWaiting(ctx actor.Context) {
	if a.job == nil || !a.online {
		return
	}
	for _, p := range a.job.todo {
		cmd, err := counterCodecs().Command.Encode(p.cmd)
		if err != nil {
			a.finishJob(ctx, err)
			return
		}
		ctx.Request(a.facade, &messages.ExecuteRequest{Command: cmd})
		a.job.sent = append(a.job.sent, p)
	}
	a.job.todo = nil
}

// executed handles the reply to the oldest command sent. A command the
// group refused as offline was not proposed: it goes out again after a
// pause, or with the next LeaderChanged. One that failed otherwise (a
// timeout across a leader change, say) may or may not have been
// committed: it goes out again too, with its ID, a bounded number of
// times.
func (a *App) executed(ctx actor.Context, m *messages.ExecuteReply) {
	job := a.job
	if job == nil || len(job.sent) == 0 {
		return // a reply to a job already finished
	}
	p := job.sent[0]
	job.sent = job.sent[1:]
	switch {
	case m.GetOffline():
		job.todo = append(job.todo, p)
		a.retryLater(ctx)
	case m.GetError() != "":
		if p.attempts++; p.attempts >= maxAttempts {
			a.finishJob(ctx, fmt.Errorf("adding %d, %d attempts: %s", p.cmd.N, p.attempts, m.GetError()))
			return
		}
		a.logf("app on %s: adding %d failed, will retry: %s", a.self.Short(), p.cmd.N, m.GetError())
		job.todo = append(job.todo, p)
		a.retryLater(ctx)
	default:
		job.lastIndex = max(job.lastIndex, m.GetIndex())
	}
	if len(job.sent) == 0 && len(job.todo) == 0 {
		a.finishJob(ctx, nil)
	}
}

// retryLater schedules one retryAdds, through a task the App stops when
// it stops: no timer outlives it. Whenever commands go out, they join the
// end of the group actor's queue, so replies keep arriving in the order
// of sending.
func (a *App) retryLater(ctx actor.Context) {
	if a.retrying {
		return
	}
	a.retrying = true
	a.tasks.Go(ctx, func(stop context.Context) any {
		t := time.NewTimer(retryDelay)
		defer t.Stop()
		select {
		case <-t.C:
			return &retryAdds{}
		case <-stop.Done():
			return nil
		}
	})
}

func (a *App) finishJob(ctx actor.Context, err error) {
	ctx.Send(a.job.requester, &addedAll{lastIndex: a.job.lastIndex, err: err})
	a.job = nil
}

// query sends a strong query for the first waiting reader. One query is
// in flight at a time, so each reply belongs to the first reader.
func (a *App) query(ctx actor.Context) {
	q, err := counterCodecs().Query.Encode(struct{}{})
	if err != nil {
		a.answerReader(ctx, &totalRead{err: err})
		return
	}
	ctx.Request(a.facade, &messages.QueryRequest{Query: q, Strong: true})
}

func (a *App) answered(ctx actor.Context, m *messages.QueryReply) {
	if len(a.readers) == 0 {
		return
	}
	r := &totalRead{applied: m.GetApplied()}
	if m.GetError() != "" {
		r.err = errors.New(m.GetError())
	} else {
		r.total, r.err = counterCodecs().Result.Decode(m.GetResult())
	}
	a.answerReader(ctx, r)
}

// answerReader answers the first reader and starts the next one's query.
func (a *App) answerReader(ctx actor.Context, r *totalRead) {
	ctx.Send(a.readers[0], r)
	a.readers = a.readers[1:]
	if len(a.readers) > 0 {
		a.query(ctx)
	}
}

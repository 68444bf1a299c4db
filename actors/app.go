package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// Joiner joins groups: *[Groups] is one, and so is an adapter around a
// node's Join.
type Joiner interface {
	Join(GroupConfig) (*Group, error)
}

// GroupActorProps returns the props of a group actor: the facade through
// which an application's own actors use a group with messages. Spawn it
// as a child of the application's supervisor, in the node's actor system
// (cluster.Node.Actors): PIDs are local to one actor system, so the actor
// and everyone talking to it must live in that system.
//
// On Started the actor joins the group cfg describes through joiner, in a
// task (Join is idempotent per group id, so this finds the group already
// joined, with its replica and data, if there is one). Until the join
// completes, requests are held and then served in the order received. If
// the join fails, every request is answered with that error.
//
// It serves, from any actor of the same system:
//
//   - [messages.ExecuteRequest]: proposes the command ([Group.Propose]) and
//     answers the requester's PID with [messages.ExecuteReply] once it is
//     applied or failed. Commands are proposed one at a time in the order
//     the actor received them, so one sender's commands are committed in
//     its sending order and their replies arrive in that order. Requests
//     sent without a sender (Send rather than Request) are proposed and
//     not answered. Each command is bounded by its timeout_ms (default:
//     five times the group's ForwardTimeout); one that timed out may or
//     may not have been committed.
//   - [messages.QueryRequest]: reads ([Group.Read]) and answers the
//     requester with [messages.QueryReply]. Queries run concurrently with
//     each other and with commands; a strong query sent after an
//     ExecuteReply was received reflects that command.
//   - [messages.SubscribeEvents] / [messages.UnsubscribeEvents]: adds or
//     removes the sender as an event subscriber. A new subscriber first
//     gets the current [messages.LeaderChanged] and [messages.Committed]
//     (once known), then a LeaderChanged whenever the leader, the term or
//     whether this member takes commands (online) changes, and a
//     Committed whenever the applied index advances
//     (coalesced: at most one per change observed, always the latest
//     index).
//
// Other messages are ignored. Replies and events are sent to the
// requester's PID, not through a future the actor waits on: the actor
// never blocks in Receive, its Propose and Read calls run in owned
// [Tasks].
//
// Restart (a panic, or a supervisor directive): the tasks of the failed
// incarnation are stopped, so requests in flight are answered with an
// error (a command whose outcome was unknown says so: it may or may not
// have been committed) and queued commands with an error; the new
// incarnation joins the same group again and keeps its subscribers, which
// then get the current leader and applied index again. No replicated data
// is lost: it lives in the group's replica, not in the actor.
//
// Stop: the actor stops its tasks (answering as on restart) and does NOT
// leave the group: the group outlives the facade, which can be spawned
// again with the same props and finds the same group. Leaving is
// [Group.Leave] or closing the node. A facade started after the group was
// left joins it again.
func GroupActorProps(joiner Joiner, cfg GroupConfig) *actor.Props {
	kept := &keptSubscribers{m: map[pidKey]map[pidKey]*actor.PID{}}
	return Props(func() actor.Actor {
		return &appGroupActor{joiner: joiner, cfg: cfg, kept: kept}
	})
}

// errFacadeStopped answers requests that a stopping or restarting group
// actor could not finish.
var errFacadeStopped = errors.New("actors: group actor stopped before the request finished")

// pidKey identifies a PID within the process (PIDs of different actor
// systems collide, so the system is part of the key).
type pidKey struct {
	sys     *actor.ActorSystem
	address string
	id      string
}

func keyOf(sys *actor.ActorSystem, pid *actor.PID) pidKey {
	return pidKey{sys: sys, address: pid.GetAddress(), id: pid.GetId()}
}

// keptSubscribers carries a restarting actor's subscribers to its next
// incarnation (same PID). It is shared by the actors spawned from one
// props value, hence the lock.
type keptSubscribers struct {
	mu sync.Mutex
	m  map[pidKey]map[pidKey]*actor.PID
}

func (k *keptSubscribers) put(self pidKey, subs map[pidKey]*actor.PID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[self] = subs
}

func (k *keptSubscribers) take(self pidKey) map[pidKey]*actor.PID {
	k.mu.Lock()
	defer k.mu.Unlock()
	subs := k.m[self]
	delete(k.m, self)
	if subs == nil {
		subs = map[pidKey]*actor.PID{}
	}
	return subs
}

// Messages of the group actor to itself.
type (
	appJoined struct {
		grp *Group
		err error
	}
	appExecuteDone struct{}
	appLeader      struct {
		leader id.PeerID
		term   uint64
		online bool
	}
	appCommitted struct{ index uint64 }
)

// appRequest is a request with the PID to answer.
type appRequest struct {
	msg    any
	sender *actor.PID
}

// appGroupActor is one incarnation of the facade GroupActorProps builds.
type appGroupActor struct {
	joiner Joiner
	cfg    GroupConfig
	kept   *keptSubscribers

	sys     *actor.ActorSystem
	tasks   *Tasks
	grp     *Group
	joinErr error
	joining bool
	held    []appRequest // requests received before the join completed

	execQueue []appRequest // commands waiting for the one in flight
	executing bool

	subs      map[pidKey]*actor.PID
	leader    *appLeader    // last leadership seen, nil before the first
	committed *appCommitted // last applied index seen, nil before the first
}

func (a *appGroupActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.sys = ctx.ActorSystem()
		a.tasks = NewTasks()
		a.subs = a.kept.take(keyOf(a.sys, ctx.Self()))
		a.joining = true
		joiner, cfg := a.joiner, a.cfg
		a.tasks.Go(ctx, func(context.Context) any {
			grp, err := joiner.Join(cfg)
			if err == nil && grp == nil {
				err = errors.New("actors: group actor: joiner returned no group")
			}
			return &appJoined{grp: grp, err: err}
		})
	case *appJoined:
		if a.joining { // a late result of a previous incarnation's join is ignored
			a.joined(ctx, m)
		}
	case *messages.ExecuteRequest, *messages.QueryRequest,
		*messages.SubscribeEvents, *messages.UnsubscribeEvents:
		req := appRequest{msg: m, sender: ctx.Sender()}
		if a.joining {
			a.held = append(a.held, req)
			return
		}
		a.serve(ctx, req)
	case *appExecuteDone:
		a.executing = false
		a.nextExecute(ctx)
	case *appLeader:
		a.leader = m
		a.publish(a.leaderEvent())
	case *appCommitted:
		a.committed = m
		a.publish(&messages.Committed{Index: m.index})
	case *actor.Restarting:
		a.shutdown()
		a.kept.put(keyOf(a.sys, ctx.Self()), a.subs)
	case *actor.Stopping:
		a.shutdown()
	}
}

// joined records the join's outcome, starts the watcher and serves the
// requests held meanwhile, in order.
func (a *appGroupActor) joined(ctx actor.Context, m *appJoined) {
	a.joining = false
	a.grp, a.joinErr = m.grp, m.err
	if a.joinErr == nil {
		a.watch(ctx)
	}
	held := a.held
	a.held = nil
	for _, req := range held {
		a.serve(ctx, req)
	}
}

func (a *appGroupActor) serve(ctx actor.Context, req appRequest) {
	switch m := req.msg.(type) {
	case *messages.ExecuteRequest:
		if a.joinErr != nil {
			a.reply(req.sender, &messages.ExecuteReply{Error: a.joinErr.Error()})
			return
		}
		a.execQueue = append(a.execQueue, req)
		a.nextExecute(ctx)
	case *messages.QueryRequest:
		if a.joinErr != nil {
			a.reply(req.sender, &messages.QueryReply{Error: a.joinErr.Error()})
			return
		}
		a.query(ctx, req.sender, m)
	case *messages.SubscribeEvents:
		if req.sender == nil {
			return
		}
		a.subs[keyOf(a.sys, req.sender)] = req.sender
		if a.leader != nil {
			a.reply(req.sender, a.leaderEvent())
		}
		if a.committed != nil {
			a.reply(req.sender, &messages.Committed{Index: a.committed.index})
		}
	case *messages.UnsubscribeEvents:
		if req.sender != nil {
			delete(a.subs, keyOf(a.sys, req.sender))
		}
	}
}

// nextExecute proposes the oldest queued command unless one is in flight.
// The task answers the requester itself and then tells the actor it is
// done, so that the next command is proposed only after this one.
func (a *appGroupActor) nextExecute(ctx actor.Context) {
	if a.executing || len(a.execQueue) == 0 {
		return
	}
	req := a.execQueue[0]
	a.execQueue = a.execQueue[1:]
	a.executing = true
	m := req.msg.(*messages.ExecuteRequest)
	grp, sys, cmd := a.grp, a.sys, m.GetCommand()
	timeout := requestTimeout(m.GetTimeoutMs(), a.cfg.Consensus.WithDefaults().ForwardTimeout)
	a.tasks.Go(ctx, func(tctx context.Context) any {
		pctx, cancel := context.WithTimeout(tctx, timeout)
		idx, err := grp.Propose(pctx, cmd)
		cancel()
		rep := &messages.ExecuteReply{Index: idx}
		switch {
		case err == nil:
		case tctx.Err() != nil:
			rep.Error = fmt.Sprintf("%v (the command may or may not have been committed)", errFacadeStopped)
		case errors.Is(err, context.DeadlineExceeded):
			rep.Error = fmt.Sprintf("actors: command timed out after %v (it may or may not have been committed)", timeout)
		default:
			rep.Error = err.Error()
			rep.Offline = errors.Is(err, ErrOffline)
		}
		if req.sender != nil {
			sys.Root.Send(req.sender, rep)
		}
		return &appExecuteDone{}
	})
}

func (a *appGroupActor) query(ctx actor.Context, sender *actor.PID, m *messages.QueryRequest) {
	if sender == nil {
		return // nobody to answer
	}
	grp, sys, q, strong := a.grp, a.sys, m.GetQuery(), m.GetStrong()
	timeout := requestTimeout(m.GetTimeoutMs(), a.cfg.Consensus.WithDefaults().QueryTimeout)
	a.tasks.Go(ctx, func(tctx context.Context) any {
		rctx, cancel := context.WithTimeout(tctx, timeout)
		out, applied, err := grp.Read(rctx, q, strong)
		cancel()
		rep := &messages.QueryReply{Result: out, Applied: applied}
		if err != nil {
			rep = &messages.QueryReply{Error: err.Error()}
			if tctx.Err() != nil {
				rep.Error = errFacadeStopped.Error()
			}
		}
		sys.Root.Send(sender, rep)
		return nil
	})
}

// watch follows the group's consensus view and applied index and reports
// changes to the actor, which fans them out to subscribers. Each wake-up
// reports at most one leadership and one applied index, the latest.
func (a *appGroupActor) watch(ctx actor.Context) {
	grp, sys, self := a.grp, a.sys, ctx.Self()
	a.tasks.Go(ctx, func(tctx context.Context) any {
		var (
			last    appLeader
			applied uint64
			first   = true
		)
		for {
			c, cChanged := grp.ConsensusValue().Load()
			idx, aChanged := grp.AppliedValue().Load()
			if now := (appLeader{leader: c.Leader, term: c.Term, online: c.Online()}); first || now != last {
				last = now
				sys.Root.Send(self, &now)
			}
			if first || idx != applied {
				applied = idx
				sys.Root.Send(self, &appCommitted{index: applied})
			}
			first = false
			select {
			case <-cChanged:
			case <-aChanged:
			case <-tctx.Done():
				return nil
			}
		}
	})
}

// requestTimeout is a request's own timeout, or five times the group's
// per-attempt bound.
func requestTimeout(ms uint64, attempt time.Duration) time.Duration {
	if ms == 0 {
		return 5 * attempt
	}
	return time.Duration(ms) * time.Millisecond
}

func (a *appGroupActor) leaderEvent() *messages.LeaderChanged {
	ev := &messages.LeaderChanged{Term: a.leader.term, Online: a.leader.online}
	if !a.leader.leader.IsZero() {
		ev.Leader = a.leader.leader.Proto()
	}
	return ev
}

func (a *appGroupActor) publish(ev any) {
	for _, pid := range a.subs {
		a.sys.Root.Send(pid, ev)
	}
}

func (a *appGroupActor) reply(to *actor.PID, msg any) {
	if to != nil {
		a.sys.Root.Send(to, msg)
	}
}

// shutdown stops the incarnation's tasks (in-flight requests answer with
// an error) and answers every request it will no longer serve.
func (a *appGroupActor) shutdown() {
	if a.tasks != nil {
		a.tasks.Stop()
	}
	for _, req := range append(a.held, a.execQueue...) {
		switch req.msg.(type) {
		case *messages.ExecuteRequest:
			a.reply(req.sender, &messages.ExecuteReply{Error: errFacadeStopped.Error()})
		case *messages.QueryRequest:
			a.reply(req.sender, &messages.QueryReply{Error: errFacadeStopped.Error()})
		case *messages.SubscribeEvents, *messages.UnsubscribeEvents:
			a.serve(nil, req) // kept across a restart with the other subscribers
		}
	}
	a.held, a.execQueue = nil, nil
}

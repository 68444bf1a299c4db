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
	"github.com/mosaikgo/mosaik/statemachine"
)

// Joiner joins groups: *[Groups] is one, and so is an adapter around a
// node's Join.
type Joiner interface {
	Join(GroupConfig) (*Group, error)
}

// GroupActorProps returns the props of the group actor; its contract is
// documented on the public actorkit.GroupActorProps.
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
	appLeader struct {
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

	queue *Queue // commands, proposed in the order received

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
		a.queue = a.grp.NewQueue()
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
		a.execute(req.sender, m)
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

// execute puts a command in the queue; the queue answers the requester
// when it is done, in queue order, so one sender's replies come in its
// sending order.
func (a *appGroupActor) execute(sender *actor.PID, m *messages.ExecuteRequest) {
	timeout := requestTimeout(m.GetTimeoutMs(), a.cfg.Consensus.WithDefaults().ForwardTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	sys := a.sys
	answer := func(idx uint64, err error) {
		cancel()
		if sender != nil {
			sys.Root.Send(sender, executeReply(idx, err, timeout))
		}
	}
	if err := a.queue.Offer(ctx, statemachine.EncodeSingle(m.GetCommand()), answer); err != nil {
		answer(0, err)
	}
}

// executeReply is the answer to a command with this outcome.
func executeReply(idx uint64, err error, timeout time.Duration) *messages.ExecuteReply {
	rep := &messages.ExecuteReply{Index: idx}
	switch {
	case err == nil:
	case errors.Is(err, ErrQueueClosed) && errors.Is(err, ErrOutcomeUnknown):
		rep.Error = fmt.Sprintf("%v (the command may or may not have been committed)", errFacadeStopped)
	case errors.Is(err, ErrQueueClosed):
		rep.Error = errFacadeStopped.Error()
	case errors.Is(err, context.DeadlineExceeded):
		rep.Error = fmt.Sprintf("actors: command timed out after %v (it may or may not have been committed)", timeout)
	default:
		rep.Error = err.Error()
		rep.Offline = errors.Is(err, ErrOffline)
	}
	return rep
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
	if a.queue != nil {
		a.queue.Close() // answers the commands it holds
		a.queue = nil
	}
	if a.tasks != nil {
		a.tasks.Stop()
	}
	for _, req := range a.held {
		switch req.msg.(type) {
		case *messages.ExecuteRequest:
			a.reply(req.sender, &messages.ExecuteReply{Error: errFacadeStopped.Error()})
		case *messages.QueryRequest:
			a.reply(req.sender, &messages.QueryReply{Error: errFacadeStopped.Error()})
		case *messages.SubscribeEvents, *messages.UnsubscribeEvents:
			a.serve(nil, req) // kept across a restart with the other subscribers
		}
	}
	a.held = nil
}

package actors

import (
	"context"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Tasks runs an actor's blocking work off its mailbox goroutine. Each task
// gets a context that Stop cancels, and its result is sent to the actor as
// an ordinary message, so the actor handles it in turn with everything
// else. The zero value is not usable; create one with [NewTasks] when the
// actor starts and call Stop when it stops.
type Tasks struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewTasks returns a task set for one actor incarnation.
func NewTasks() *Tasks {
	ctx, cancel := context.WithCancel(context.Background())
	return &Tasks{ctx: ctx, cancel: cancel}
}

// Go runs fn on its own goroutine and sends its non-nil result to self
// through ctx's actor system. After Stop has begun, results are dropped:
// the actor no longer wants them.
func (t *Tasks) Go(ctx actor.Context, fn func(context.Context) any) {
	sys, self := ctx.ActorSystem(), ctx.Self()
	t.wg.Go(func() {
		msg := fn(t.ctx)
		if msg != nil && t.ctx.Err() == nil {
			sys.Root.Send(self, msg)
		}
	})
}

// Context is cancelled when Stop is called; long-running tasks watch it.
func (t *Tasks) Context() context.Context { return t.ctx }

// Stop cancels every task and waits for all of them to return. Call it
// when the actor receives *actor.Stopping or *actor.Restarting; tasks must
// return promptly once their context is cancelled.
func (t *Tasks) Stop() {
	t.cancel()
	t.wg.Wait()
}

// Every sends msg to the actor every d until Stop. The ticks go through the
// mailbox like any message, so a busy actor sees them late rather than
// concurrently.
func (t *Tasks) Every(ctx actor.Context, d time.Duration, msg any) {
	sys, self := ctx.ActorSystem(), ctx.Self()
	t.wg.Go(func() {
		ticker := time.NewTicker(d)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				sys.Root.Send(self, msg)
			case <-t.ctx.Done():
				return
			}
		}
	})
}

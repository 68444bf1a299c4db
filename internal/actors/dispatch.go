package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// dispatchThroughput is how many messages a mailbox run handles before it
// yields its goroutine: protoactor-go's default.
const dispatchThroughput = 300

// workerLinger is how long an idle dispatch worker waits for the next
// mailbox run before it ends. A conversation between actors hands each
// run to a worker that just finished one, whose stack has already grown;
// a quiet system is back to no workers this long after its last message.
const workerLinger = 5 * time.Millisecond

// dispatcher runs mailboxes on short-lived worker goroutines that are
// reused while messages flow. protoactor-go's default dispatcher starts a
// fresh goroutine for every mailbox activation, and a request/response
// between two actors then spends about half its CPU growing those new
// goroutines' stacks (see bench B10).
//
// Schedule never blocks: it hands the run to an idle worker if one is
// waiting, and starts a new worker otherwise. So an actor that sends from
// inside Receive can never wait on a busy pool, and a run that blocks (it
// must not, but user actors might) costs one goroutine, as before. Workers
// need no owner to stop them: each ends by itself once idle for
// workerLinger, like the goroutines of the default dispatcher end after
// their run.
type dispatcher struct {
	idle   chan func() // unbuffered: a send succeeds only into a waiting worker
	linger time.Duration
}

// sharedDispatcher serves every actor built by [Props]. It holds no
// goroutines of its own; only its workers' lifetimes vary.
var sharedDispatcher = newDispatcher(workerLinger)

func newDispatcher(linger time.Duration) *dispatcher {
	return &dispatcher{idle: make(chan func()), linger: linger}
}

var _ actor.Dispatcher = (*dispatcher)(nil)

// Schedule implements actor.Dispatcher.
func (d *dispatcher) Schedule(run func()) {
	select {
	case d.idle <- run:
	default:
		go d.work(run)
	}
}

// Throughput implements actor.Dispatcher.
func (d *dispatcher) Throughput() int { return dispatchThroughput }

// work runs run, then further runs handed to it, until none comes within
// d.linger.
func (d *dispatcher) work(run func()) {
	linger := time.NewTimer(d.linger)
	defer linger.Stop()
	for {
		run()
		linger.Reset(d.linger)
		select {
		case run = <-d.idle:
		case <-linger.C:
			return
		}
	}
}

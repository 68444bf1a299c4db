package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/rsm"
)

// client is what the workload calls a member through: the member's KV
// group handle (*Group), or, in the suite's self-test, a wrapper that
// injects bugs between the clients and the group, so that the checker
// can be seen to catch them.
type client interface {
	Execute(ctx context.Context, cmd Append) (uint64, error)
	Query(ctx context.Context, q Read, c rsm.Consistency) ([]int64, uint64, error)
}

// workload is the load of a round: Options.Clients clients, each issuing
// a call every Options.Pace (or as soon as the previous one returns, if
// it took longer) through a live member, recording every call in the
// history. Client c prefers node c modulo the group's size and moves to
// the next live node while its own is down. While a fault cuts members
// off (Env.CutOff), readers pinned to each of them read it weakly and
// strongly, so that what a cut-off member answers is exercised and
// checked whichever clients happen to prefer it.
type workload struct {
	env  *Env
	stop chan struct{}
	wg   sync.WaitGroup

	mu struct {
		sync.Mutex
		stopped bool
		readers int // pinned readers started, for their client ids
	}
}

func startWorkload(env *Env) *workload {
	w := &workload{env: env, stop: make(chan struct{})}
	for c := range env.opts.Clients {
		// Each client draws its calls from its own source, derived from
		// the run's seed, so that a seed replays the same calls.
		rng := rand.New(rand.NewPCG(uint64(env.opts.Seed), uint64(env.round)<<32|uint64(c)+1))
		w.wg.Go(func() { w.client(c, rng) })
	}
	return w
}

// Stop ends the workload once every call in flight has returned.
func (w *workload) Stop() {
	w.mu.Lock()
	w.mu.stopped = true
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
}

func (w *workload) client(c int, rng *rand.Rand) {
	tick := time.NewTicker(w.env.opts.Pace)
	defer tick.Stop()
	for seq := int64(1); ; seq++ {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		member, h := w.pick(c)
		if h == nil {
			continue
		}
		in := Call{Input: Input{Key: w.env.key(rng.IntN(w.env.opts.Keys))}}
		switch r := rng.Float64(); {
		case r < w.env.opts.ReadFraction:
		case r < w.env.opts.ReadFraction+w.env.opts.WeakReadFraction:
			in.Weak = true
		default:
			// Unique per write: client in the high digits, sequence low.
			in.Append, in.Value = true, int64(c+1)*1_000_000_000+seq
		}
		w.env.call(c, member, h, in)
	}
}

// readOn starts two readers pinned to member, one reading weakly and
// one strongly, each at the clients' pace on keys in turn, until the
// workload stops. A strong read on a member that cannot reach a quorum
// blocks until OpTimeout: the weak reader goes on meanwhile.
func (w *workload) readOn(member int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.stopped {
		return
	}
	for _, weak := range []bool{true, false} {
		// Client ids after the clients and the final reader's.
		id := w.env.opts.Clients + 1 + w.mu.readers
		w.mu.readers++
		w.wg.Go(func() { w.reader(id, member, weak) })
	}
}

func (w *workload) reader(id, member int, weak bool) {
	tick := time.NewTicker(w.env.opts.Pace)
	defer tick.Stop()
	for k := 0; ; k++ {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		h := w.env.Handle(member)
		if h == nil {
			continue
		}
		w.env.call(id, member, h, Call{Input: Input{Key: w.env.key(k % w.env.opts.Keys)}, Weak: weak})
	}
}

// pick returns the live member client c uses for its next call.
func (w *workload) pick(c int) (int, *Group) {
	live := w.env.Live()
	if len(live) == 0 {
		return -1, nil
	}
	want := c % max(w.env.Cluster.Len(), 1)
	for _, i := range live {
		if i >= want {
			return i, w.env.Handle(i)
		}
	}
	return live[0], w.env.Handle(live[0])
}

// key names the round's k-th key.
func (e *Env) key(k int) string { return fmt.Sprintf("r%d/k%d", e.round, k) }

// call makes one call through member's handle h (or the wrapper the
// self-test puts around it) and records it. Appends use Execute, reads
// a query of the call's consistency; each is bounded by OpTimeout.
func (e *Env) call(clientID, member int, h *Group, in Call) {
	in.Member, in.Genesis = member, h.Core().Consensus().Genesis
	op := e.history.Invoke(clientID, in)
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.OpTimeout)
	defer cancel()
	var (
		c    client = h
		list []int64
		err  error
	)
	if e.wrap != nil {
		c = e.wrap(member, h)
	}
	if in.Append {
		_, err = c.Execute(ctx, Append{Key: in.Key, Value: in.Value})
	} else {
		consistency := rsm.Strong
		if in.Weak {
			consistency = rsm.Weak
		}
		list, _, err = c.Query(ctx, Read{Key: in.Key}, consistency)
	}
	e.history.Return(op, Reply{List: list, Genesis: h.Core().Consensus().Genesis}, err)
	e.returned()
}

// finalRead reads every key strongly through some live member until one
// answers, recording the reads (as client Options.Clients, marked
// Final), and returns the lists with the applied index they reflect.
func (e *Env) finalRead(ctx context.Context) (map[string][]int64, uint64, error) {
	final := map[string][]int64{}
	var applied uint64
	for k := range e.opts.Keys {
		key := e.key(k)
		for attempt := 0; ; attempt++ {
			live := e.Live()
			if len(live) == 0 {
				return nil, 0, fmt.Errorf("chaos: no live member to read %s", key)
			}
			member := live[attempt%len(live)]
			h := e.Handle(member)
			op := e.history.Invoke(e.opts.Clients, Call{Input: Input{Key: key}, Member: member, Genesis: h.Core().Consensus().Genesis, Final: true})
			rctx, cancel := context.WithTimeout(ctx, e.opts.OpTimeout)
			list, idx, err := h.Query(rctx, Read{Key: key}, rsm.Strong)
			cancel()
			e.history.Return(op, Reply{List: list, Genesis: h.Core().Consensus().Genesis}, err)
			if err == nil {
				final[key], applied = list, max(applied, idx)
				break
			}
			if ctx.Err() != nil {
				return nil, 0, fmt.Errorf("chaos: final read of %s: %w", key, err)
			}
		}
	}
	return final, applied, nil
}

// converged checks that every live member, once it has applied index,
// holds the final lists (or, if commands of unknown fate landed since,
// lists that begin with them).
func (e *Env) converged(ctx context.Context, final map[string][]int64, index uint64) error {
	for _, i := range e.Live() {
		h := e.Handle(i)
		if err := h.When().Committed().Reaches(ctx, index); err != nil {
			return fmt.Errorf("chaos: node %d never applied %d (at %d): %w", i, index, h.Committed(), err)
		}
		for key, want := range final {
			got, _, err := h.Query(ctx, Read{Key: key}, rsm.Weak)
			if err != nil {
				return fmt.Errorf("chaos: node %d: read %s: %w", i, key, err)
			}
			if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
				return fmt.Errorf("chaos: node %d holds %s = %s, the group %s", i, key, brief(got), brief(want))
			}
		}
	}
	return nil
}

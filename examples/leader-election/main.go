// Command leader-election runs a task on exactly one node of a group, the
// leader, and moves it when the leader goes away. Three nodes on loopback
// join a group whose state machine is statemachine.NoOp: the group
// replicates nothing and exists only to elect a leader. Each node runs
// the same loop: wait until it leads (When().IsLeader), do the leader's
// work until it stops leading, and start over. The program then closes
// the leader's node and shows the work start on the node elected next.
//
//	go run ./examples/leader-election [-n 3] [-ticks 3]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/examples/internal/settle"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
)

// workInterval is how often the leader does its work.
const workInterval = 200 * time.Millisecond

// election is the handle type of a NoOp group: no commands, no queries.
type election = rsm.Group[struct{}, struct{}, struct{}]

// electionConfig is the same on every node. NoOp's fixed signature and
// codecs are part of the library; only the key names this group.
func electionConfig() rsm.Config[struct{}, struct{}, struct{}] {
	return rsm.Config[struct{}, struct{}, struct{}]{
		Key:       groups.KeyFromSecret("examples/leader-election"),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[struct{}, struct{}, struct{}] { return statemachine.NoOp{} },
		Codecs:    statemachine.NoOpCodecs(),
	}
}

func main() {
	n := flag.Int("n", 3, "number of nodes (at least 3, so that two survive the leader)")
	ticks := flag.Int("ticks", 3, "units of work to see from each leader")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout, *n, *ticks); err != nil {
		fmt.Fprintln(os.Stderr, "leader-election:", err)
		os.Exit(1)
	}
}

// tick is one unit of leader work: who did it, in which term.
type tick struct {
	node id.PeerID
	term uint64
}

// report is what a run observed, for its test.
type report struct {
	first, second id.PeerID // the leader before and after the failover
	ticks         []tick    // every unit of work, in the order seen
}

// run starts n nodes, waits until the first leader has done ticks units
// of work, closes its node, and waits until the next leader has done as
// many.
func run(ctx context.Context, out io.Writer, n, ticks int) (report, error) {
	var rep report
	if n < 3 || ticks < 1 {
		return rep, errors.New("need at least three nodes and one tick")
	}
	logf := log.New(out, "", 0).Printf // safe for the nodes' goroutines
	dir, err := os.MkdirTemp("", "mosaik-leader-election-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)

	c := &demo{logf: logf, work: make(chan tick, 64)}
	defer c.close()
	if err := c.start(ctx, n, dir); err != nil {
		return rep, err
	}
	leader, err := c.settle(ctx)
	if err != nil {
		return rep, err
	}
	rep.first = leader
	logf("%d nodes online; %s leads a committee of %d voters", n, leader.Short(), settle.CommitteeSize(n))
	c.drain()
	if rep.ticks, err = c.awaitWork(ctx, leader, ticks, rep.ticks); err != nil {
		return rep, err
	}

	logf("closing the leader's node %s", leader.Short())
	closed := time.Now()
	if err := c.closeNode(ctx, leader); err != nil {
		return rep, err
	}
	var next id.PeerID
	for next.IsZero() || next == leader {
		select {
		case t := <-c.work:
			rep.ticks = append(rep.ticks, t)
			next = t.node
		case <-ctx.Done():
			return rep, fmt.Errorf("no new leader took over the work: %w", ctx.Err())
		}
	}
	rep.second = next
	logf("%s took over the work %v after the leader's node closed", next.Short(), time.Since(closed).Round(time.Millisecond))
	if rep.ticks, err = c.awaitWork(ctx, next, ticks-1, rep.ticks); err != nil {
		return rep, err
	}
	logf("the work moved from %s to %s", leader.Short(), next.Short())
	return rep, nil
}

// demo holds the nodes of a run and the goroutines that watch them.
type demo struct {
	logf    func(format string, args ...any)
	work    chan tick // leader work, from every node
	nodes   []*cluster.Node
	members []*election
	cancel  []context.CancelFunc // one per node's loops
	wg      sync.WaitGroup
}

// start brings up n nodes, joins the group on each, and starts each
// node's leader loop and observer.
func (d *demo) start(ctx context.Context, n int, dir string) error {
	for i := range n {
		cfg := cluster.Config{
			Network:   "examples/leader-election",
			DataDir:   filepath.Join(dir, fmt.Sprint("node", i)),
			Discovery: discovery.FastConfig(),
		}
		if i > 0 {
			cfg.Bootstrap = []string{d.nodes[0].GossipAddr()}
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return err
		}
		d.nodes = append(d.nodes, node)
		g, err := rsm.Join(ctx, node, electionConfig())
		if err != nil {
			return err
		}
		d.members = append(d.members, g)
		loops, cancel := context.WithCancel(context.Background())
		d.cancel = append(d.cancel, cancel)
		d.wg.Go(func() { d.leaderLoop(loops, g) })
		d.wg.Go(func() { d.observe(loops, g) })
	}
	return nil
}

// settle waits until every member is online in one shard and the leader
// counts a full committee. Members join as non-voting and are promoted
// once caught up; a failover needs the survivors to hold a quorum.
func (d *demo) settle(ctx context.Context) (id.PeerID, error) {
	cores := make([]*cluster.Group, len(d.members))
	for i, g := range d.members {
		cores[i] = g.Core()
	}
	return settle.Await(ctx, cores)
}

// drain forgets the work done before the group settled. Members that
// bootstrapped before they saw each other lead rival shards for a moment,
// each doing the leader's work, until the rival rule merges them into
// one; work that must never overlap, even then, is fenced by the term
// and the shard (g.Core().Consensus().Genesis), not by leadership alone.
func (d *demo) drain() {
	for {
		select {
		case <-d.work:
		default:
			return
		}
	}
}

// awaitWork records ticks until node has done want more units of work.
func (d *demo) awaitWork(ctx context.Context, node id.PeerID, want int, seen []tick) ([]tick, error) {
	for done := 0; done < want; {
		select {
		case t := <-d.work:
			seen = append(seen, t)
			if t.node == node {
				done++
			}
		case <-ctx.Done():
			return seen, fmt.Errorf("waiting for %s's work: %w", node.Short(), ctx.Err())
		}
	}
	return seen, nil
}

// closeNode closes the node of peer and stops its loops.
func (d *demo) closeNode(ctx context.Context, peer id.PeerID) error {
	for i, node := range d.nodes {
		if node.PeerID() == peer {
			err := node.Close(ctx)
			d.cancel[i]()
			return err
		}
	}
	return fmt.Errorf("no node %s", peer.Short())
}

// close closes every node and waits for every loop.
func (d *demo) close() {
	var wg sync.WaitGroup
	for _, node := range d.nodes {
		wg.Go(func() { _ = node.Close(context.Background()) })
	}
	wg.Wait()
	for _, cancel := range d.cancel {
		cancel()
	}
	d.wg.Wait()
}

// leaderLoop is what every node runs: whenever this member leads, do the
// leader's work until it no longer does. It ends with ctx or when the
// group is left (the node closed).
func (d *demo) leaderLoop(ctx context.Context, g *election) {
	for {
		if err := g.When().IsLeader(ctx); err != nil {
			return
		}
		term := g.LogPosition().Term
		d.logf("node %s leads (term %d): starting the leader's work", g.Self().Short(), term)
		work, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.leaderWork(work, g, term)
		}()
		err := untilNotLeader(ctx, g)
		stop()
		<-done
		if err != nil {
			return
		}
		d.logf("node %s no longer leads: work stopped", g.Self().Short())
	}
}

// untilNotLeader returns once this member no longer leads: another
// leader is known, the group has none, or this member's replica stopped.
// It waits on the exact condition rather than on When().LeaderChanged,
// whose starting point would be the leader known at the moment of the
// call, which may already be another.
func untilNotLeader(ctx context.Context, g *election) error {
	self := g.Self()
	_, err := g.Core().WaitConsensus(ctx, func(c cluster.Consensus) bool { return !c.Running || c.Leader != self })
	return err
}

// leaderWork is the task that must run on one node at a time. It checks
// leadership before each unit of work: a leader that is cut off learns it
// lost the group only after an election timeout, so work that must never
// overlap also carries the term, which a newer leader always exceeds.
func (d *demo) leaderWork(ctx context.Context, g *election, term uint64) {
	t := time.NewTicker(workInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !g.IsLeader() {
				return
			}
			d.logf("node %s doing leader work (term %d)", g.Self().Short(), term)
			select {
			case d.work <- tick{node: g.Self(), term: term}:
			default: // nobody is counting any more
			}
		case <-ctx.Done():
			return
		}
	}
}

// observe reports every leader this member learns of, as followers see
// a failover.
func (d *demo) observe(ctx context.Context, g *election) {
	for {
		leader, err := g.When().LeaderChanged(ctx)
		if err != nil {
			return
		}
		if leader != g.Self() {
			d.logf("node %s follows %s", g.Self().Short(), leader.Short())
		}
	}
}

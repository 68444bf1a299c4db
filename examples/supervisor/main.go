// Command supervisor shows an application built from protoactor-go actors
// using a mosaik group with messages alone. On each of three nodes the
// application's own actor (App) supervises a group actor spawned from
// actorkit.GroupActorProps, subscribes to its events, and talks to it with
// the messages of messages/app.proto: ExecuteRequest and QueryRequest,
// answered by ExecuteReply and QueryReply, and the LeaderChanged and
// Committed events. The replicated state is a counter.
//
// App never blocks in Receive: requests go out with ctx.Request, and
// replies and events come back as ordinary messages. Code outside the
// actor system (main) asks App for work with RequestFuture, which only
// code outside actors may wait on.
//
//	go run ./examples/supervisor [-n 3] [-adds 5]
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

	"github.com/asynkron/protoactor-go/actor"

	"github.com/mosaikgo/mosaik/actorkit"
	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/examples/internal/settle"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
)

func main() {
	n := flag.Int("n", 3, "number of nodes")
	adds := flag.Int("adds", 5, "increments each node's application sends")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout, *n, *adds); err != nil {
		fmt.Fprintln(os.Stderr, "supervisor:", err)
		os.Exit(1)
	}
}

// run starts n nodes with an App on each, has every App send adds
// increments (1..adds), then has every App read the total, and returns
// the totals read.
func run(ctx context.Context, out io.Writer, n, adds int) ([]int64, error) {
	if n < 1 || adds < 1 {
		return nil, errors.New("need at least one node and one add")
	}
	logf := log.New(out, "", 0).Printf
	dir, err := os.MkdirTemp("", "mosaik-supervisor-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var nodes []*cluster.Node
	defer func() {
		var wg sync.WaitGroup
		for _, node := range nodes {
			wg.Go(func() { _ = node.Close(context.Background()) })
		}
		wg.Wait()
	}()
	var apps []*actor.PID
	for i := range n {
		cfg := cluster.Config{
			Network:   "examples/supervisor",
			DataDir:   filepath.Join(dir, fmt.Sprint("node", i)),
			Discovery: discovery.FastConfig(),
		}
		if i > 0 {
			cfg.Bootstrap = []string{nodes[0].GossipAddr()}
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, node)
		app, err := spawnApp(node, logf)
		if err != nil {
			return nil, err
		}
		apps = append(apps, app)
	}

	// The Apps hear of the leader by themselves, but a leader alone is not
	// enough for the demo's check: members that bootstrapped before they
	// saw each other may run rival shards for a moment, and writes to the
	// one that loses are discarded. Wait, outside the actors, until the
	// group is one shard with its full committee. Join is idempotent, so
	// this finds the group each App's group actor joined.
	cores := make([]*cluster.Group, len(nodes))
	for i, node := range nodes {
		if cores[i], err = node.Join(ctx, counterGroup()); err != nil {
			return nil, err
		}
	}
	leader, err := settle.Await(ctx, cores)
	if err != nil {
		return nil, err
	}
	logf("one group: %s leads a committee of %d voters", leader.Short(), settle.CommitteeSize(n))

	// Every App sends its increments, all at once; each answers once all
	// of its own are applied.
	values := make([]int64, adds)
	for i := range values {
		values[i] = int64(i + 1)
	}
	replies, err := askAll(ctx, nodes, apps, func() any { return &addAll{values: values} })
	if err != nil {
		return nil, err
	}
	for i, reply := range replies {
		done := reply.(*addedAll)
		if done.err != nil {
			return nil, fmt.Errorf("node %s: %w", nodes[i].PeerID().Short(), done.err)
		}
		logf("app on %s: %d increments applied, the last at index %d", nodes[i].PeerID().Short(), adds, done.lastIndex)
	}

	// Every App reads the total with a strong query: all see every add.
	want := int64(n * adds * (adds + 1) / 2)
	replies, err = askAll(ctx, nodes, apps, func() any { return &readTotal{} })
	if err != nil {
		return nil, err
	}
	var totals []int64
	for i, reply := range replies {
		r := reply.(*totalRead)
		peer := nodes[i].PeerID().Short()
		if r.err != nil {
			return nil, fmt.Errorf("node %s: %w", peer, r.err)
		}
		logf("app on %s reads total %d at index %d", peer, r.total, r.applied)
		if r.total != want {
			return nil, fmt.Errorf("node %s reads %d, want %d", peer, r.total, want)
		}
		totals = append(totals, r.total)
	}
	return totals, nil
}

// spawnApp starts node's App under the node's actor system (PIDs are local
// to one system, so the App, its group actor and everyone talking to
// them live there). The App restarts its children one for one, at most
// ten times a minute.
func spawnApp(node *cluster.Node, logf func(string, ...any)) (*actor.PID, error) {
	return node.Actors().Spawn(appProps(node, logf), "app")
}

// appProps are the props of an App on node, supervising its group actor
// with a one-for-one strategy.
func appProps(node *cluster.Node, logf func(string, ...any)) *actor.Props {
	strategy := actor.NewOneForOneStrategy(10, time.Minute, actor.DefaultDecider)
	return actorkit.Props(func() actor.Actor {
		return &App{
			joiner: nodeJoiner{node},
			group:  counterGroup(),
			self:   node.PeerID(),
			logf:   logf,
		}
	}, actor.WithSupervisor(strategy))
}

// askAll sends a message made by msg to every App at once and waits for
// every answer, bounded by ctx. Only code outside actors may wait like
// this; an actor would handle the answers as messages.
func askAll(ctx context.Context, nodes []*cluster.Node, apps []*actor.PID, msg func() any) ([]any, error) {
	timeout := time.Minute
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	futures := make([]*actor.Future, len(apps))
	for i, app := range apps {
		futures[i] = nodes[i].Actors().Root().RequestFuture(app, msg(), timeout)
	}
	replies := make([]any, len(apps))
	for i, f := range futures {
		reply, err := f.Result()
		if err != nil {
			return nil, fmt.Errorf("asking the app on %s: %w", nodes[i].PeerID().Short(), err)
		}
		replies[i] = reply
	}
	return replies, nil
}

// nodeJoiner lets the group actor join groups through the node.
type nodeJoiner struct{ node *cluster.Node }

// Join joins cfg on the node. The group actor calls it from a task of
// its own, never from Receive, so it may block.
func (j nodeJoiner) Join(cfg cluster.GroupConfig) (*cluster.Group, error) {
	return j.node.Join(context.Background(), cfg)
}

// counterGroup is the group every App uses: a counter of Add commands.
func counterGroup() cluster.GroupConfig {
	return cluster.GroupConfig{
		Key:       groups.KeyFromSecret("examples/supervisor"),
		Consensus: groups.FastConsensus(),
		Machine: func() statemachine.Machine {
			return statemachine.Erase[Add, struct{}, int64](NewCounter(), counterCodecs())
		},
	}
}

func counterCodecs() statemachine.Codecs[Add, struct{}, int64] {
	return statemachine.JSONCodecs[Add, struct{}, int64]()
}

// logLeader prints a leader as the App sees it.
func logLeader(logf func(string, ...any), self, leader id.PeerID, term uint64) {
	if leader.IsZero() {
		logf("app on %s: no leader (term %d)", self.Short(), term)
		return
	}
	logf("app on %s: leader %s (term %d)", self.Short(), leader.Short(), term)
}

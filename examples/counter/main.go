// Command counter runs a replicated counter: three nodes on loopback QUIC
// and memberlist find each other, form a group, elect a leader, and apply
// increments sent to any of them in one agreed order. It shows what a
// user writes: a state machine (Counter), its codecs, and calls on the
// typed group handle.
//
//	go run ./examples/counter [-n 3] [-adds 10]
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Counter is the replicated state: the sum of every command applied.
// Apply is deterministic, as every state machine's must be.
type Counter struct{ total int64 }

// Signature versions the machine; it is part of the group id.
func (*Counter) Signature() id.Digest { return id.Of("examples/counter/v1") }

// Apply adds each committed command to the total.
func (c *Counter) Apply(_ statemachine.ApplyContext, cmds []int64) {
	for _, n := range cmds {
		c.total += n
	}
}

// Query returns the total.
func (c *Counter) Query(struct{}) int64 { return c.total }

// Snapshot writes the total, for members that join late.
func (c *Counter) Snapshot(w io.Writer) error { return binary.Write(w, binary.BigEndian, c.total) }

// Restore reads a total written by Snapshot.
func (c *Counter) Restore(r io.Reader) error { return binary.Read(r, binary.BigEndian, &c.total) }

func counterConfig() rsm.Config[int64, struct{}, int64] {
	return rsm.Config[int64, struct{}, int64]{
		Key:       groups.KeyFromSecret("examples/counter"),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[int64, struct{}, int64] { return &Counter{} },
		Codecs:    statemachine.JSONCodecs[int64, struct{}, int64](),
	}
}

func main() {
	n := flag.Int("n", 3, "number of nodes")
	adds := flag.Int("adds", 10, "increments to send, spread over the nodes")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, *n, *adds); err != nil {
		fmt.Fprintln(os.Stderr, "counter:", err)
		os.Exit(1)
	}
}

// run starts n nodes, forms the group, sends adds increments round-robin
// and checks every node agrees on the total.
func run(ctx context.Context, out io.Writer, n, adds int) (err error) {
	if n < 1 || adds < 0 {
		return errors.New("need at least one node and no negative adds")
	}
	// Each node keeps its Raft log on disk, in a scratch directory removed
	// at the end (a real deployment keeps a DataDir per node for good).
	dir, err := os.MkdirTemp("", "mosaik-counter-")
	if err != nil {
		return err
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
	for i := range n {
		cfg := cluster.Config{
			Network:   "examples/counter",
			DataDir:   filepath.Join(dir, fmt.Sprint("node", i)),
			Discovery: discovery.FastConfig(),
		}
		if i > 0 {
			cfg.Bootstrap = []string{nodes[0].GossipAddr()}
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return err
		}
		nodes = append(nodes, node)
	}
	var members []*rsm.Group[int64, struct{}, int64]
	for _, node := range nodes {
		g, err := rsm.Join(ctx, node, counterConfig())
		if err != nil {
			return err
		}
		members = append(members, g)
	}
	for _, g := range members {
		if err := g.When().Online(ctx); err != nil {
			return fmt.Errorf("waiting for the group: %w", err)
		}
	}
	fmt.Fprintf(out, "%d nodes online, leader %s\n", n, members[0].Leader().Short())
	var last uint64
	for i := range adds {
		idx, err := members[i%n].Execute(ctx, int64(i+1))
		if err != nil {
			return fmt.Errorf("add %d: %w", i+1, err)
		}
		last = idx
	}
	want := int64(adds * (adds + 1) / 2)
	for i, g := range members {
		total, applied, err := g.Query(ctx, struct{}{}, rsm.Strong)
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		if total != want || applied < last {
			return fmt.Errorf("node %d reads %d at index %d, want %d at >= %d", i, total, applied, want, last)
		}
		fmt.Fprintf(out, "node %s: total %d (applied index %d)\n", g.Self().Short(), total, applied)
	}
	return nil
}

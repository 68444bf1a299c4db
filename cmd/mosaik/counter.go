package main

import (
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
)

// defaultGroupSecret is the group key secret of demo and join: a joiner
// started without -group meets the others.
const defaultGroupSecret = "mosaik/demo-counter"

// counter is the demo's replicated state machine: the sum of every
// command applied.
type counter struct{ total int64 }

// Signature versions the machine; it is part of the group id.
func (*counter) Signature() id.Digest { return id.Of("cmd/mosaik/counter/v1") }

// Apply adds each committed command to the total.
func (c *counter) Apply(_ statemachine.ApplyContext, cmds []int64) {
	for _, n := range cmds {
		c.total += n
	}
}

// Query returns the total.
func (c *counter) Query(struct{}) int64 { return c.total }

// Snapshot writes the total, for members that join late.
func (c *counter) Snapshot(w io.Writer) error { return binary.Write(w, binary.BigEndian, c.total) }

// Restore reads a total written by Snapshot.
func (c *counter) Restore(r io.Reader) error { return binary.Read(r, binary.BigEndian, &c.total) }

// counterGroup is the typed handle demo and join hold.
type counterGroup = rsm.Group[int64, struct{}, int64]

// counterConfig describes the counter group whose key comes from secret.
// Fast timings: the demo is about seeing a failover in a second or two.
func counterConfig(secret string) rsm.Config[int64, struct{}, int64] {
	return rsm.Config[int64, struct{}, int64]{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[int64, struct{}, int64] { return &counter{} },
		Codecs:    statemachine.JSONCodecs[int64, struct{}, int64](),
	}
}

// counterNode is a node in the counter group, with its workload's
// counters: each node of the demo, and the one node of join.
type counterNode struct {
	node   *cluster.Node
	group  *counterGroup
	killed atomic.Bool        // the demo closed it
	stop   context.CancelFunc // the demo's: ends the node's workload
	ok     atomic.Uint64      // commands committed
	failed atomic.Uint64      // commands refused or timed out
}

// commandTimeout bounds one command of the workload, so that a command
// lost with a dying leader is counted as refused and the node moves on.
const commandTimeout = 2 * time.Second

// drive submits an increment rate times a second until ctx ends. A
// refused command (no leader during a failover) is counted and the next
// one tried on the next tick.
func (n *counterNode) drive(ctx context.Context, rate float64) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cctx, cancel := context.WithTimeout(ctx, commandTimeout)
		_, err := n.group.Execute(cctx, 1)
		cancel()
		switch {
		case err == nil:
			n.ok.Add(1)
		case ctx.Err() == nil:
			n.failed.Add(1)
		}
	}
}

// observe reads the node's figures; a killed node is not touched.
func (n *counterNode) observe() observation {
	o := observation{peer: n.node.PeerID(), killed: n.killed.Load()}
	if o.killed || n.group == nil {
		return o
	}
	c := n.group.Core().Consensus()
	o.running, o.leader, o.term, o.waiting = c.Running, c.Leader, c.Term, c.Reason
	o.committed = n.group.Committed()
	o.bonds = len(n.group.Core().Bonds().Peers)
	o.catalog = n.node.Catalog().Len()
	return o
}

package counter

import (
	"context"
	"encoding/binary"
	"io"
	"testing"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Counter is the state machine: the sum of every command applied.
type Counter struct{ total int64 }

// Signature names the machine (part of every group id that runs it).
func (*Counter) Signature() id.Digest { return id.Of("test/counter/v1") }

// Apply adds the commands to the total.
func (c *Counter) Apply(_ statemachine.ApplyContext, cmds []int64) {
	for _, n := range cmds {
		c.total += n
	}
}

// Query reads the total.
func (c *Counter) Query(struct{}) int64 { return c.total }

// Snapshot writes the total, 8 bytes big-endian.
func (c *Counter) Snapshot(w io.Writer) error { return binary.Write(w, binary.BigEndian, c.total) }

// Restore reads what Snapshot wrote.
func (c *Counter) Restore(r io.Reader) error { return binary.Read(r, binary.BigEndian, &c.total) }

// Codecs encode the counter's commands, queries and results as JSON.
var Codecs = statemachine.Codecs[int64, struct{}, int64]{
	Command: statemachine.JSON[int64](), Query: statemachine.JSON[struct{}](), Result: statemachine.JSON[int64](),
}

// Machine makes a fresh counter for a replica, as GroupConfig.Machine
// takes it.
func Machine() statemachine.Machine {
	return statemachine.Erase[int64, struct{}, int64](&Counter{}, Codecs)
}

// Typed is the counter group keyed by secret as rsm.Join takes it, with
// the fast consensus profile.
func Typed(secret string) rsm.Config[int64, struct{}, int64] {
	return rsm.Config[int64, struct{}, int64]{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[int64, struct{}, int64] { return &Counter{} },
		Codecs:    Codecs,
	}
}

// Group is the config of a counter group with the fast consensus profile,
// keyed by secret.
func Group(secret string) cluster.GroupConfig {
	return cluster.GroupConfig{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   Machine,
	}
}

// Add proposes n on g and returns its log index once applied there.
func Add(ctx context.Context, g *cluster.Group, n int64) (uint64, error) {
	cmd, err := Codecs.Command.Encode(n)
	if err != nil {
		return 0, err
	}
	return g.Propose(ctx, cmd)
}

// Total reads g's total (strong: linearizable; else g's own copy) and the
// applied index it reflects.
func Total(ctx context.Context, g *cluster.Group, strong bool) (int64, uint64, error) {
	q, err := Codecs.Query.Encode(struct{}{})
	if err != nil {
		return 0, 0, err
	}
	out, applied, err := g.Read(ctx, q, strong)
	if err != nil {
		return 0, 0, err
	}
	v, err := Codecs.Result.Decode(out)
	return v, applied, err
}

// MustAdd is Add for tests: it fails t if the proposal fails.
func MustAdd(t testing.TB, ctx context.Context, g *cluster.Group, n int64) uint64 {
	t.Helper()
	idx, err := Add(ctx, g, n)
	if err != nil {
		t.Fatalf("Propose(%d): %v", n, err)
	}
	return idx
}

// MustTotal is Total for tests: it fails t if the read fails.
func MustTotal(t testing.TB, ctx context.Context, g *cluster.Group, strong bool) (int64, uint64) {
	t.Helper()
	v, applied, err := Total(ctx, g, strong)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return v, applied
}

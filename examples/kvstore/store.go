package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Op is what a command does.
type Op string

// The operations a command can carry.
const (
	OpPut    Op = "put"
	OpDelete Op = "delete"
)

// Command changes the store: put Key=Value, or delete Key.
type Command struct {
	Op    Op     `json:"op"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Query asks for one key's value.
type Query struct {
	Key string `json:"key"`
}

// Result answers a Query.
type Result struct {
	Value string `json:"value"`
	Found bool   `json:"found"`
}

// KV is the replicated state: a map from keys to values. A map is fine
// as state, since Apply never depends on its iteration order, and the
// snapshot encodes it with sorted keys.
type KV struct {
	data map[string]string
}

// NewKV returns an empty store.
func NewKV() *KV { return &KV{data: map[string]string{}} }

// Signature versions the machine: the command set and the snapshot
// format. It is part of the group id.
func (*KV) Signature() id.Digest { return id.Of("examples/kvstore/v1") }

// Apply applies committed commands in log order. An unknown operation is
// ignored on every member alike (it was committed; the state must not
// diverge over it).
func (kv *KV) Apply(_ statemachine.ApplyContext, cmds []Command) {
	for _, c := range cmds {
		switch c.Op {
		case OpPut:
			kv.data[c.Key] = c.Value
		case OpDelete:
			delete(kv.data, c.Key)
		}
	}
}

// Query reads one key.
func (kv *KV) Query(q Query) Result {
	v, ok := kv.data[q.Key]
	return Result{Value: v, Found: ok}
}

// Snapshot writes the whole map as JSON (keys sorted).
func (kv *KV) Snapshot(w io.Writer) error {
	if err := json.NewEncoder(w).Encode(kv.data); err != nil {
		return fmt.Errorf("kv snapshot: %w", err)
	}
	return nil
}

// Restore replaces the map with one Snapshot wrote.
func (kv *KV) Restore(r io.Reader) error {
	data := map[string]string{}
	if err := json.NewDecoder(r).Decode(&data); err != nil {
		return fmt.Errorf("kv restore: %w", err)
	}
	if data == nil { // a snapshot of "null"
		data = map[string]string{}
	}
	kv.data = data
	return nil
}

// kvConfig is the group config every member of a store uses.
func kvConfig(key groups.Key) rsm.Config[Command, Query, Result] {
	return rsm.Config[Command, Query, Result]{
		Key:       key,
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[Command, Query, Result] { return NewKV() },
		Codecs:    statemachine.JSONCodecs[Command, Query, Result](),
	}
}

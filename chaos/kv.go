package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
)

// Append is the KV machine's one command: add Value at the end of Key's
// list, or, with Delete, remove Key and its list (soak runs drop each
// round's keys so that the state stays bounded).
type Append struct {
	Key    string `json:"k"`
	Value  int64  `json:"v"`
	Delete bool   `json:"d,omitempty"`
}

// Read asks the KV machine for Key's whole list.
type Read struct {
	Key string `json:"k"`
}

// KV is the replicated machine the scenarios write to: a map from keys to
// append-only lists. Each list is a register that keeps its whole
// history, so one read shows every write to the key in applied order; with
// values unique per write, a checker sees lost, duplicated and reordered
// writes directly.
type KV struct {
	lists map[string][]int64
}

// NewKV returns an empty KV machine.
func NewKV() *KV { return &KV{lists: map[string][]int64{}} }

// Signature names the machine (part of the group id).
func (*KV) Signature() id.Digest { return id.Of("mosaik/chaos/kv/v1") }

// Apply appends each command's value to its key's list, or deletes the
// key.
func (kv *KV) Apply(_ statemachine.ApplyContext, cmds []Append) {
	for _, c := range cmds {
		if c.Delete {
			delete(kv.lists, c.Key)
			continue
		}
		kv.lists[c.Key] = append(kv.lists[c.Key], c.Value)
	}
}

// Query returns a copy of the key's list (empty, not nil, for a key never
// written, so that encoded results compare equal).
func (kv *KV) Query(q Read) []int64 {
	return append([]int64{}, kv.lists[q.Key]...)
}

// Snapshot writes the lists as JSON, keys sorted.
func (kv *KV) Snapshot(w io.Writer) error {
	type entry struct {
		Key    string  `json:"k"`
		Values []int64 `json:"v"`
	}
	out := make([]entry, 0, len(kv.lists))
	for _, k := range slices.Sorted(maps.Keys(kv.lists)) {
		out = append(out, entry{Key: k, Values: kv.lists[k]})
	}
	if err := json.NewEncoder(w).Encode(out); err != nil {
		return fmt.Errorf("chaos: kv snapshot: %w", err)
	}
	return nil
}

// Restore replaces the lists with a snapshot's.
func (kv *KV) Restore(r io.Reader) error {
	var in []struct {
		Key    string  `json:"k"`
		Values []int64 `json:"v"`
	}
	if err := json.NewDecoder(r).Decode(&in); err != nil {
		return fmt.Errorf("chaos: kv restore: %w", err)
	}
	kv.lists = make(map[string][]int64, len(in))
	for _, e := range in {
		kv.lists[e.Key] = e.Values
	}
	return nil
}

// Group is a typed handle on a KV group.
type Group = rsm.Group[Append, Read, []int64]

// KVConfig is the KV group's config: fast consensus timings (in-memory
// network or loopback), a snapshot every snapshotEvery commands so that
// catch-up from snapshots is exercised, and the given quorum mode.
func KVConfig(secret string, strict bool, snapshotEvery uint64) rsm.Config[Append, Read, []int64] {
	return rsm.Config[Append, Read, []int64]{
		Key:       groups.KeyFromSecret(secret),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[Append, Read, []int64] { return NewKV() },
		Codecs: statemachine.Codecs[Append, Read, []int64]{
			Command: statemachine.JSON[Append](),
			Query:   statemachine.JSON[Read](),
			Result:  statemachine.JSON[[]int64](),
		},
		StrictQuorum:    strict,
		SnapshotEntries: snapshotEvery,
	}
}

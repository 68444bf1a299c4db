package chaos

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mosaikgo/mosaik/statemachine"
)

func TestKVAppendsReadsAndDeletes(t *testing.T) {
	kv := NewKV()
	ctx := statemachine.NewApplyContext([32]byte{}, []uint64{1, 2, 3, 4})
	kv.Apply(ctx, []Append{{Key: "a", Value: 1}, {Key: "b", Value: 2}, {Key: "a", Value: 3}, {Key: "b", Delete: true}})
	if got := kv.Query(Read{Key: "a"}); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("a = %v", got)
	}
	if got := kv.Query(Read{Key: "b"}); got == nil || len(got) != 0 {
		t.Fatalf("deleted b = %#v, want an empty list", got)
	}
	// The result is a copy: changing it leaves the state alone.
	got := kv.Query(Read{Key: "a"})
	got[0] = 99
	if again := kv.Query(Read{Key: "a"}); again[0] != 1 {
		t.Fatal("Query returned the state itself")
	}
}

func TestKVSnapshotRoundTrip(t *testing.T) {
	kv := NewKV()
	kv.Apply(statemachine.NewApplyContext([32]byte{}, []uint64{1, 2}), []Append{{Key: "x", Value: 5}, {Key: "y", Value: 6}})
	var buf bytes.Buffer
	if err := kv.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := kv.Snapshot(&again); err != nil || !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Fatalf("snapshots differ (%v): not deterministic", err)
	}
	restored := NewKV()
	if err := restored.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"x", "y"} {
		if !slices.Equal(restored.Query(Read{Key: k}), kv.Query(Read{Key: k})) {
			t.Fatalf("%s differs after restore", k)
		}
	}
	if err := restored.Restore(bytes.NewReader([]byte("not json"))); err == nil {
		t.Fatal("Restore of garbage succeeded")
	}
}

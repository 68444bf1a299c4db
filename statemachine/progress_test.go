package statemachine

import (
	"bytes"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"
)

// TestProgressCountsOwnCommands: the adapter reports the last applied
// index and the commands the state holds of its own; an install entry
// resets the count (its commands belong to the state it came from), a
// rejected command is not counted, and a snapshot carries both figures
// to the replica restored from it.
func TestProgressCountsOwnCommands(t *testing.T) {
	var got []Progress
	track := func(p Progress) { got = append(got, p) }
	rec := newRecorder()
	a := DragonboatTracked(func() Machine { return rec }, testGroup, track)(testShard, 1)
	var state bytes.Buffer
	if err := newRecorder().Snapshot(&state); err != nil {
		t.Fatal(err)
	}
	batch := [][]byte{add(t, 1), []byte("not json")}
	steps := []struct {
		entries []sm.Entry
		want    Progress
	}{
		{[]sm.Entry{{Index: 1, Cmd: add(t, 1)}, {Index: 2, Cmd: add(t, 2)}}, Progress{Index: 2, Commands: 2}},
		{[]sm.Entry{{Index: 4, Cmd: EncodeBatch(batch)}}, Progress{Index: 4, Commands: 3}},
		// A re-formed shard's install continues the log after index 40:
		// it is 41, whatever its own place in the new log, and the
		// entries after it follow on.
		{[]sm.Entry{{Index: 5, Cmd: EncodeInstall(state.Bytes(), 40)}}, Progress{Index: 41, Commands: 0}},
		{[]sm.Entry{{Index: 7, Cmd: add(t, 3)}}, Progress{Index: 43, Commands: 1}},
	}
	for i, s := range steps {
		if _, err := a.Update(s.entries); err != nil {
			t.Fatal(err)
		}
		if last := got[len(got)-1]; last != s.want {
			t.Fatalf("step %d: progress %+v, want %+v", i, last, s.want)
		}
	}

	var snap bytes.Buffer
	if err := saveSnapshotTo(a, &snap); err != nil {
		t.Fatal(err)
	}
	got = nil
	b := DragonboatTracked(func() Machine { return newRecorder() }, testGroup, track)(testShard, 2)
	if err := b.RecoverFromSnapshot(bytes.NewReader(snap.Bytes()), nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (Progress{Index: 43, Commands: 1}) {
		t.Fatalf("progress after restore %+v, want index 43 and one command", got)
	}
	q, _ := JSON[string]().Encode("total")
	if v, err := b.Lookup(q); err != nil || string(v.([]byte)) != "3" {
		t.Fatalf("restored total = %s, %v; want 3", v, err)
	}
	// The restored replica keeps continuing the re-formed log.
	out, err := b.Update([]sm.Entry{{Index: 8, Cmd: add(t, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if idx, ok := ResultIndex(out[0].Result); !ok || idx != 44 {
		t.Fatalf("result index after restore %d, %v; want 44", idx, ok)
	}
}

// TestSnapshotWithoutHeaderRestores: a snapshot written before the
// header existed is the machine's alone and still restores.
func TestSnapshotWithoutHeaderRestores(t *testing.T) {
	var progress []Progress
	a := DragonboatTracked(func() Machine { return newRecorder() }, testGroup, func(p Progress) { progress = append(progress, p) })(testShard, 1)
	legacy := newRecorder()
	legacy.Machine.Apply(NewApplyContext(testGroup, []uint64{1}), [][]byte{add(t, 42)})
	var body bytes.Buffer
	if err := legacy.Snapshot(&body); err != nil {
		t.Fatal(err)
	}
	if err := a.RecoverFromSnapshot(bytes.NewReader(body.Bytes()), nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	q, _ := JSON[string]().Encode("total")
	if v, err := a.Lookup(q); err != nil || string(v.([]byte)) != "42" {
		t.Fatalf("restored total = %s, %v; want 42", v, err)
	}
	if len(progress) != 1 || progress[0] != (Progress{}) {
		t.Fatalf("progress %+v, want one zero report", progress)
	}
}

func saveSnapshotTo(a sm.IConcurrentStateMachine, w *bytes.Buffer) error {
	ctx, err := a.PrepareSnapshot()
	if err != nil {
		return err
	}
	return a.SaveSnapshot(ctx, w, nil, make(chan struct{}))
}

// TestSnapshotV1HeaderRestores: a snapshot whose header predates the
// index delta restores with the log's own indexes.
func TestSnapshotV1HeaderRestores(t *testing.T) {
	var progress []Progress
	a := DragonboatTracked(func() Machine { return newRecorder() }, testGroup, func(p Progress) { progress = append(progress, p) })(testShard, 1)
	legacy := newRecorder()
	legacy.Machine.Apply(NewApplyContext(testGroup, []uint64{1}), [][]byte{add(t, 5)})
	var snap bytes.Buffer
	snap.WriteString(snapshotMagicV1)
	snap.Write([]byte{12, 3}) // applied 12, own 3
	if err := legacy.Snapshot(&snap); err != nil {
		t.Fatal(err)
	}
	if err := a.RecoverFromSnapshot(bytes.NewReader(snap.Bytes()), nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if len(progress) != 1 || progress[0] != (Progress{Index: 12, Commands: 3}) {
		t.Fatalf("progress %+v, want index 12 and 3 commands", progress)
	}
	out, err := a.Update([]sm.Entry{{Index: 13, Cmd: add(t, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if idx, _ := ResultIndex(out[0].Result); idx != 13 {
		t.Fatalf("next index %d, want 13", idx)
	}
}

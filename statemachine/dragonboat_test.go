package statemachine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/raftio"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"

	"github.com/mosaikgo/mosaik/id"
)

const testShard = 1

var testGroup = id.Of("test/dragonboat/group")

// recorder is the counter machine at the byte level, with hooks: it
// records the log indexes of every batch, panics in Apply at a "boom"
// command (after applying the commands before it) and in Query at a
// "boom" query, and counts restores.
type recorder struct {
	Machine
	mu       sync.Mutex
	indexes  []uint64
	restores *atomic.Int64
}

func newRecorder() *recorder {
	return &recorder{Machine: Erase[addCmd, string, int64](&counter{}, counterCodecs()), restores: new(atomic.Int64)}
}

func (r *recorder) Apply(ctx ApplyContext, cmds [][]byte) []error {
	r.mu.Lock()
	for i := range cmds {
		r.indexes = append(r.indexes, ctx.Index(i))
	}
	r.mu.Unlock()
	for i, c := range cmds {
		if string(c) == "boom" {
			r.Machine.Apply(NewApplyContext(ctx.Group(), []uint64{ctx.Index(0)}), cmds[:i])
			panic(fmt.Sprintf("boom at index %d", ctx.Index(i)))
		}
	}
	return r.Machine.Apply(ctx, cmds)
}

func (r *recorder) Query(q []byte) ([]byte, error) {
	if string(q) == "boom" {
		panic("query boom")
	}
	return r.Machine.Query(q)
}

func (r *recorder) Restore(rd io.Reader) error {
	r.restores.Add(1)
	return r.Machine.Restore(rd)
}

func (r *recorder) seen() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.indexes)
}

// nopTransport is the transport of a single-replica shard: it never has
// anyone to talk to.
type nopTransport struct{}

func (nopTransport) Create(config.NodeHostConfig, raftio.MessageHandler, raftio.ChunkHandler) raftio.ITransport {
	return nopTransport{}
}
func (nopTransport) Validate(string) bool { return true }
func (nopTransport) Name() string         { return "nop" }
func (nopTransport) Start() error         { return nil }
func (nopTransport) Close() error         { return nil }
func (nopTransport) GetConnection(context.Context, string) (raftio.IConnection, error) {
	return nil, errors.New("nop transport")
}
func (nopTransport) GetSnapshotConnection(context.Context, string) (raftio.ISnapshotConnection, error) {
	return nil, errors.New("nop transport")
}

var quietOnce sync.Once

func quietDragonboat() {
	quietOnce.Do(func() {
		// pebble reports through the standard logger that the in-memory
		// filesystem cannot tell its disk usage.
		log.SetOutput(io.Discard)
		for _, name := range []string{"pebblekv", "dragonboat", "raft", "rsm", "transport", "logdb", "raftpb", "config", "settings", "registry", "grpc", "tan", "vfs"} {
			logger.GetLogger(name).SetLevel(logger.CRITICAL)
		}
	})
}

// startHost starts a NodeHost on fs with one replica of testShard running
// machines from m. It is closed by the returned function or at the end
// of the test, whichever comes first.
func startHost(t *testing.T, fs vfs.FS, m func() Machine) (*dragonboat.NodeHost, func()) {
	t.Helper()
	quietDragonboat()
	nh, err := dragonboat.NewNodeHost(config.NodeHostConfig{
		NodeHostDir:    "/nodehost",
		RTTMillisecond: 5,
		RaftAddress:    "single:1",
		Expert: config.ExpertConfig{
			TransportFactory: nopTransport{},
			FS:               fs,
			LogDB:            config.GetTinyMemLogDBConfig(),
			Engine:           config.EngineConfig{ExecShards: 1, CommitShards: 1, ApplyShards: 1, SnapshotShards: 1, CloseShards: 1},
		},
	})
	if err != nil {
		t.Fatalf("NewNodeHost: %v", err)
	}
	closeHost := sync.OnceFunc(nh.Close)
	t.Cleanup(closeHost)
	cfg := config.Config{ShardID: testShard, ReplicaID: 1, ElectionRTT: 10, HeartbeatRTT: 1}
	if err := nh.StartConcurrentReplica(map[uint64]dragonboat.Target{1: "single:1"}, false, Dragonboat(m, testGroup), cfg); err != nil {
		t.Fatalf("StartConcurrentReplica: %v", err)
	}
	return nh, closeHost
}

// deadline bounds every wait of a test.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// retry runs op until it returns something other than an error that
// dragonboat gives before it accepts a request (no leader yet, replica not
// initialised), pausing a little between tries.
func retry(ctx context.Context, t *testing.T, op func(context.Context) error) error {
	t.Helper()
	for {
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := op(octx)
		cancel()
		if !errors.Is(err, dragonboat.ErrShardNotReady) && !errors.Is(err, dragonboat.ErrShardNotInitialized) && !errors.Is(err, dragonboat.ErrSystemBusy) {
			return err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("still %v at the deadline", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func propose(ctx context.Context, t *testing.T, nh *dragonboat.NodeHost, cmd []byte) sm.Result {
	t.Helper()
	var r sm.Result
	err := retry(ctx, t, func(ctx context.Context) (err error) {
		r, err = nh.SyncPropose(ctx, nh.GetNoOPSession(testShard), cmd)
		return err
	})
	if err != nil {
		t.Fatalf("SyncPropose(%q): %v", cmd, err)
	}
	return r
}

func read(ctx context.Context, t *testing.T, nh *dragonboat.NodeHost) (int64, error) {
	t.Helper()
	q, _ := JSON[string]().Encode("total")
	var out any
	err := retry(ctx, t, func(ctx context.Context) (err error) {
		out, err = nh.SyncRead(ctx, testShard, q)
		return err
	})
	if err != nil {
		return 0, err
	}
	return JSON[int64]().Decode(out.([]byte))
}

func add(t *testing.T, n int64) []byte { return encodeAll(t, addCmd{n})[0] }

func TestDragonboatAppliesCommandsWithTheirIndexes(t *testing.T) {
	ctx := deadline(t)
	rec := newRecorder()
	nh, _ := startHost(t, vfs.NewMem(), func() Machine { return rec })
	for _, n := range []int64{1, 2, 3} {
		r := propose(ctx, t, nh, add(t, n))
		if idx, ok := ResultIndex(r); r.Value != ResultApplied || !ok || idx == 0 || ResultError(r) != nil {
			t.Fatalf("result of add %d = %+v", n, r)
		}
	}
	r := propose(ctx, t, nh, []byte("{garbage"))
	if r.Value != ResultRejected || !errors.Is(ResultError(r), ErrCommandRejected) ||
		!strings.Contains(string(r.Data), ErrCodec.Error()) {
		t.Fatalf("result of garbage = %+v (%v)", r, ResultError(r))
	}
	// An empty command reaches the machine too, and the JSON codec rejects it.
	if r := propose(ctx, t, nh, nil); r.Value != ResultRejected {
		t.Fatalf("result of an empty command = %+v", r)
	}
	if r := propose(ctx, t, nh, add(t, 4)); r.Value != ResultApplied {
		t.Fatalf("result of add 4 = %+v", r)
	}
	total, err := read(ctx, t, nh)
	if err != nil || total != 10 {
		t.Fatalf("total = %d, %v; want 10", total, err)
	}
	seen := rec.seen()
	if len(seen) != 6 || seen[0] == 0 || !increasing(seen) {
		t.Fatalf("indexes seen by Apply = %v, want 6 increasing log indexes", seen)
	}
	// The counter recorded the index of its last command through the
	// ApplyContext: the snapshot holds it.
	var buf bytes.Buffer
	if err := rec.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	var c counter
	if err := c.Restore(&buf); err != nil || c.lastIndex != int64(seen[5]) {
		t.Fatalf("counter's last index = %d, %v; want %d", c.lastIndex, err, seen[5])
	}
}

// One batch, handed to Update directly: the undecodable and the empty
// command are rejected, alone; the others apply with their own indexes.
func TestDragonboatBatchRejectsOnlyTheUndecodable(t *testing.T) {
	rec := newRecorder()
	a := Dragonboat(func() Machine { return rec }, testGroup)(testShard, 1)
	in := []sm.Entry{{Index: 7, Cmd: add(t, 1)}, {Index: 8, Cmd: []byte("garbage")}, {Index: 9, Cmd: add(t, 2)}, {Index: 10}}
	out, err := a.Update(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{ResultApplied, ResultRejected, ResultApplied, ResultRejected}
	for i, e := range out {
		idx, carriesIndex := ResultIndex(e.Result)
		if e.Index != in[i].Index || e.Result.Value != want[i] || (want[i] == ResultApplied) != (carriesIndex && idx == e.Index) {
			t.Fatalf("entry %d = %+v, want code %d", i, e, want[i])
		}
	}
	if !strings.Contains(string(out[1].Result.Data), "index 8") {
		t.Fatalf("rejection %q does not name index 8", out[1].Result.Data)
	}
	if got := rec.seen(); !slices.Equal(got, []uint64{7, 8, 9, 10}) {
		t.Fatalf("indexes = %v", got)
	}
	q, _ := JSON[string]().Encode("total")
	v, err := a.Lookup(q)
	if err != nil || string(v.([]byte)) != "3" {
		t.Fatalf("Lookup = %s, %v", v, err)
	}
	if _, err := a.Lookup("total"); !errors.Is(err, ErrQueryType) {
		t.Fatalf("Lookup of a string: %v", err)
	}
	if _, err := a.Lookup([]byte("boom")); !errors.Is(err, ErrQueryPanicked) {
		t.Fatalf("Lookup that panics: %v", err)
	}
	if out, err := a.Update(nil); err != nil || out != nil {
		t.Fatalf("empty Update = %v, %v", out, err)
	}
	// A query that panicked does not fail the machine.
	if v, err := a.Lookup(q); err != nil || string(v.([]byte)) != "3" {
		t.Fatalf("Lookup after a query panic = %s, %v", v, err)
	}
}

// A snapshot taken through dragonboat brings a restarted NodeHost back:
// it restores from the snapshot and replays the later entries.
func TestDragonboatSnapshotAndRestart(t *testing.T) {
	ctx := deadline(t)
	fs := vfs.NewMem()
	var restores atomic.Int64
	machines := func() Machine { r := newRecorder(); r.restores = &restores; return r }
	nh, closeHost := startHost(t, fs, machines)
	for _, n := range []int64{1, 2, 3} {
		propose(ctx, t, nh, add(t, n))
	}
	var index uint64
	if err := retry(ctx, t, func(ctx context.Context) (err error) {
		index, err = nh.SyncRequestSnapshot(ctx, testShard, dragonboat.DefaultSnapshotOption)
		return err
	}); err != nil || index == 0 {
		t.Fatalf("SyncRequestSnapshot = %d, %v", index, err)
	}
	propose(ctx, t, nh, add(t, 10))
	closeHost()
	if restores.Load() != 0 {
		t.Fatal("restored before the restart")
	}

	nh, _ = startHost(t, fs, machines)
	total, err := read(ctx, t, nh)
	if err != nil || total != 16 {
		t.Fatalf("total after restart = %d, %v; want 16", total, err)
	}
	if restores.Load() != 1 {
		t.Fatalf("%d restores, want 1", restores.Load())
	}
}

func TestDragonboatSnapshotCallsDirectly(t *testing.T) {
	newAdapter := func() (sm.IConcurrentStateMachine, *recorder) {
		rec := newRecorder()
		return Dragonboat(func() Machine { return rec }, testGroup)(testShard, 1), rec
	}
	a, _ := newAdapter()
	if _, err := a.Update([]sm.Entry{{Index: 1, Cmd: add(t, 5)}, {Index: 2, Cmd: add(t, 6)}}); err != nil {
		t.Fatal(err)
	}
	ssctx, err := a.PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	// Updates after PrepareSnapshot are not in the snapshot.
	if _, err := a.Update([]sm.Entry{{Index: 3, Cmd: add(t, 100)}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.SaveSnapshot(ssctx, &buf, nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	close(stopped)
	if err := a.SaveSnapshot(ssctx, io.Discard, nil, stopped); !errors.Is(err, sm.ErrSnapshotStopped) {
		t.Fatalf("SaveSnapshot when stopped: %v", err)
	}

	b, rec := newAdapter()
	if err := b.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	q, _ := JSON[string]().Encode("total")
	if v, err := b.Lookup(q); err != nil || string(v.([]byte)) != "11" {
		t.Fatalf("restored total = %s, %v; want 11", v, err)
	}
	if rec.restores.Load() != 1 {
		t.Fatal("Restore not called")
	}

	// Recovery that dragonboat stops ends with ErrSnapshotStopped.
	c, _ := newAdapter()
	if err := c.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, stopped); !errors.Is(err, sm.ErrSnapshotStopped) {
		t.Fatalf("RecoverFromSnapshot when stopped: %v", err)
	}

	// A snapshot that does not restore fails the machine instead of the
	// process.
	d, _ := newAdapter()
	if err := d.RecoverFromSnapshot(bytes.NewReader([]byte{1, 2}), nil, make(chan struct{})); err != nil {
		t.Fatalf("RecoverFromSnapshot of garbage returned %v, want nil and a failed machine", err)
	}
	var f *MachineFailure
	if _, err := d.Lookup(q); !errors.As(err, &f) || f.Op != "Restore" || !errors.Is(err, ErrMachineFailed) {
		t.Fatalf("Lookup after a bad snapshot: %v", err)
	}
	if err := saveSnapshot(d); !errors.Is(err, sm.ErrSnapshotAborted) {
		t.Fatalf("snapshot of a failed machine: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

// A panic in Apply fails the batch and every later one with a sticky,
// typed error; nothing is reported applied, and the process lives on.
func TestDragonboatPanicInApplyFailsTheMachine(t *testing.T) {
	rec := newRecorder()
	a := Dragonboat(func() Machine { return rec }, testGroup)(testShard, 1)
	out, err := a.Update([]sm.Entry{{Index: 4, Cmd: add(t, 1)}, {Index: 5, Cmd: []byte("boom")}, {Index: 6, Cmd: add(t, 2)}})
	if err != nil {
		t.Fatalf("Update returned %v: dragonboat would panic the process", err)
	}
	for _, e := range out {
		if e.Result.Value != ResultFailed || !errors.Is(ResultError(e.Result), ErrMachineFailed) {
			t.Fatalf("entry %d result = %+v", e.Index, e.Result)
		}
	}
	q, _ := JSON[string]().Encode("total")
	_, err = a.Lookup(q)
	var f *MachineFailure
	if !errors.As(err, &f) || f.Op != "Apply" || f.FirstIndex != 4 || f.LastIndex != 6 || f.Panic != "boom at index 5" ||
		f.Group != testGroup || len(f.Stack) == 0 {
		t.Fatalf("Lookup after the panic: %#v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "panic in Apply of entries 4..6: boom at index 5") || !strings.HasPrefix(msg, "statemachine: machine failed") {
		t.Fatalf("failure reads %q", msg)
	}
	out, err = a.Update([]sm.Entry{{Index: 7, Cmd: add(t, 1)}})
	if err != nil || out[0].Result.Value != ResultFailed || string(out[0].Result.Data) != f.Error() {
		t.Fatalf("Update after the failure = %+v, %v", out, err)
	}
	if got := rec.seen(); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Fatalf("Apply called again after failing: %v", got)
	}
	if err := saveSnapshot(a); !errors.Is(err, sm.ErrSnapshotAborted) || !errors.Is(err, ErrMachineFailed) {
		t.Fatalf("snapshot after the failure: %v", err)
	}
	if err := a.RecoverFromSnapshot(bytes.NewReader(nil), nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(q); !errors.Is(err, ErrMachineFailed) {
		t.Fatalf("a snapshot revived the failed machine: %v", err)
	}
}

// The same through a NodeHost: the proposal that panics and every later
// one fail with the error, reads fail with it, snapshots are refused,
// and the NodeHost closes cleanly.
func TestDragonboatPanicInApplyThroughNodeHost(t *testing.T) {
	ctx := deadline(t)
	nh, _ := startHost(t, vfs.NewMem(), func() Machine { return newRecorder() })
	if r := propose(ctx, t, nh, add(t, 5)); r.Value != ResultApplied {
		t.Fatalf("add 5: %+v", r)
	}
	r := propose(ctx, t, nh, []byte("boom"))
	if err := ResultError(r); !errors.Is(err, ErrMachineFailed) || !strings.Contains(err.Error(), "panic in Apply") {
		t.Fatalf("result of boom = %+v (%v)", r, err)
	}
	r = propose(ctx, t, nh, add(t, 1))
	if err := ResultError(r); !errors.Is(err, ErrMachineFailed) || !strings.Contains(err.Error(), "boom at index") {
		t.Fatalf("result after boom = %+v (%v)", r, err)
	}
	if _, err := read(ctx, t, nh); !errors.Is(err, ErrMachineFailed) {
		t.Fatalf("read after boom: %v", err)
	}
	var f *MachineFailure
	if _, err := read(ctx, t, nh); !errors.As(err, &f) || f.Op != "Apply" {
		t.Fatalf("read after boom is not a *MachineFailure: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := nh.SyncRequestSnapshot(sctx, testShard, dragonboat.DefaultSnapshotOption); !errors.Is(err, dragonboat.ErrAborted) {
		t.Fatalf("snapshot of a failed machine: %v, want dragonboat.ErrAborted", err)
	}
}

func increasing(v []uint64) bool {
	for i := 1; i < len(v); i++ {
		if v[i] <= v[i-1] {
			return false
		}
	}
	return true
}

// saveSnapshot runs PrepareSnapshot and SaveSnapshot as dragonboat does:
// PrepareSnapshot must not fail (dragonboat would panic), SaveSnapshot may.
func saveSnapshot(a sm.IConcurrentStateMachine) error {
	ctx, err := a.PrepareSnapshot()
	if err != nil {
		panic(fmt.Sprintf("PrepareSnapshot returned %v: dragonboat would panic the process", err))
	}
	return a.SaveSnapshot(ctx, io.Discard, nil, make(chan struct{}))
}

// failingSnapshot is a machine whose Snapshot fails once, without panicking.
type failingSnapshot struct {
	*recorder
	failed bool
}

func (f *failingSnapshot) Snapshot(w io.Writer) error {
	if !f.failed {
		f.failed = true
		return errors.New("disk full")
	}
	return f.recorder.Snapshot(w)
}

// A Snapshot that returns an error skips that snapshot; the machine lives on.
func TestDragonboatSnapshotErrorAbortsOnlyThatSnapshot(t *testing.T) {
	a := Dragonboat(func() Machine { return &failingSnapshot{recorder: newRecorder()} }, testGroup)(testShard, 1)
	if err := saveSnapshot(a); !errors.Is(err, sm.ErrSnapshotAborted) || !strings.Contains(err.Error(), "disk full") || errors.Is(err, ErrMachineFailed) {
		t.Fatalf("first snapshot: %v", err)
	}
	if err := saveSnapshot(a); err != nil {
		t.Fatalf("second snapshot: %v", err)
	}
	if out, _ := a.Update([]sm.Entry{{Index: 1, Cmd: add(t, 1)}}); out[0].Result.Value != ResultApplied {
		t.Fatalf("Update after a failed snapshot: %+v", out[0].Result)
	}
}

func TestBatchEnvelopeRoundTrip(t *testing.T) {
	for _, cmds := range [][][]byte{
		{},
		{nil},
		{[]byte("1")},
		{[]byte(`{"N":1}`), {}, []byte(BatchMagic + "inner"), bytes.Repeat([]byte{7}, 300)},
	} {
		got, err := DecodeEntry(EncodeBatch(cmds))
		if err != nil || len(got) != len(cmds) {
			t.Fatalf("DecodeEntry(EncodeBatch(%q)) = %q, %v", cmds, got, err)
		}
		for i := range cmds {
			if !bytes.Equal(got[i], cmds[i]) {
				t.Fatalf("command %d = %q, want %q", i, got[i], cmds[i])
			}
		}
	}
	// Plain commands are their own entry, and decode as themselves.
	for _, cmd := range [][]byte{nil, []byte(`{"N":1}`), {0xff}, []byte("\xffm")} {
		// EncodeSingle wraps anything starting with 0xFF (it could be
		// read as an envelope); the wrapped form decodes to the command.
		e := EncodeSingle(cmd)
		if len(cmd) > 0 && cmd[0] == 0xff {
			if back, err := DecodeEntry(e); err != nil || len(back) != 1 || !bytes.Equal(back[0], cmd) {
				t.Fatalf("DecodeEntry(EncodeSingle(%q)) = %q, %v", cmd, back, err)
			}
		} else if !bytes.Equal(e, cmd) {
			t.Fatalf("EncodeSingle(%q) = %q", cmd, e)
		}
		if got, err := DecodeEntry(cmd); err != nil || len(got) != 1 || !bytes.Equal(got[0], cmd) {
			t.Fatalf("DecodeEntry(%q) = %q, %v", cmd, got, err)
		}
	}
	// A command that looks like an envelope is wrapped, not misread.
	tricky := []byte(BatchMagic + "\x05x")
	if got, err := DecodeEntry(EncodeSingle(tricky)); err != nil || len(got) != 1 || !bytes.Equal(got[0], tricky) {
		t.Fatalf("DecodeEntry(EncodeSingle(%q)) = %q, %v", tricky, got, err)
	}
	for _, bad := range []string{BatchMagic, BatchMagic + "\x02\x01a", BatchMagic + "\x01\x05ab", BatchMagic + "\x01\x01ab", BatchMagic + "\xff"} {
		if _, err := DecodeEntry([]byte(bad)); !errors.Is(err, ErrBadBatch) {
			t.Fatalf("DecodeEntry(%q) = %v, want ErrBadBatch", bad, err)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(BatchMagic + "\x02\x01a\x00"))
	f.Add([]byte(`{"N":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cmds, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if bytes.HasPrefix(b, []byte(BatchMagic)) {
			// Varints need not be minimal, so compare commands, not bytes.
			again, err := DecodeEntry(EncodeBatch(cmds))
			if err != nil || !slices.EqualFunc(again, cmds, bytes.Equal) {
				t.Fatalf("%q: re-encoded commands %q, %v; want %q", b, again, err, cmds)
			}
		} else if len(cmds) != 1 || !bytes.Equal(cmds[0], b) {
			t.Fatalf("plain %q decodes as %q", b, cmds)
		}
	})
}

// A batch entry reaches Apply as its commands, in order, in the same call
// as its neighbours, each with the entry's index; one result per entry.
func TestDragonboatAppliesBatchEnvelopes(t *testing.T) {
	rec := newRecorder()
	a := Dragonboat(func() Machine { return rec }, testGroup)(testShard, 1)
	in := []sm.Entry{
		{Index: 3, Cmd: add(t, 1)},
		{Index: 4, Cmd: EncodeBatch(encodeAll(t, addCmd{10}, addCmd{20}, addCmd{30}))},
		{Index: 5, Cmd: []byte(BatchMagic + "\x09")},
		{Index: 6, Cmd: EncodeBatch([][]byte{add(t, 100), []byte("garbage")})},
		{Index: 7, Cmd: EncodeBatch(nil)},
	}
	out, err := a.Update(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{ResultApplied, ResultApplied, ResultRejected, ResultRejected, ResultApplied}
	for i, e := range out {
		if e.Result.Value != want[i] {
			t.Fatalf("entry %d = %+v (%v), want code %d", i, e, ResultError(e.Result), want[i])
		}
	}
	if idx, ok := ResultIndex(out[1].Result); !ok || idx != 4 {
		t.Fatalf("batch result index = %d, %v", idx, ok)
	}
	if err := ResultError(out[2].Result); !errors.Is(err, ErrCommandRejected) || !strings.Contains(err.Error(), ErrBadBatch.Error()) {
		t.Fatalf("malformed envelope: %v", err)
	}
	if got := rec.seen(); !slices.Equal(got, []uint64{3, 4, 4, 4, 6, 6}) {
		t.Fatalf("indexes = %v, want 3 4 4 4 6 6", got)
	}
	q, _ := JSON[string]().Encode("total")
	if v, err := a.Lookup(q); err != nil || string(v.([]byte)) != "161" {
		t.Fatalf("Lookup = %s, %v; want 161", v, err)
	}
	if r, err := a.Lookup(&IndexedQuery{Query: q}); err != nil || r.(*IndexedResult).Applied != 7 {
		t.Fatalf("applied = %+v, %v; want 7", r, err)
	}
}

// Through a NodeHost: a proposed batch commits as one entry.
func TestDragonboatBatchThroughNodeHost(t *testing.T) {
	ctx := deadline(t)
	rec := newRecorder()
	nh, _ := startHost(t, vfs.NewMem(), func() Machine { return rec })
	r := propose(ctx, t, nh, EncodeBatch(encodeAll(t, addCmd{1}, addCmd{2}, addCmd{3})))
	idx, ok := ResultIndex(r)
	if !ok || ResultError(r) != nil {
		t.Fatalf("batch result = %+v", r)
	}
	if total, err := read(ctx, t, nh); err != nil || total != 6 {
		t.Fatalf("total = %d, %v; want 6", total, err)
	}
	if got := rec.seen(); !slices.Equal(got, []uint64{idx, idx, idx}) {
		t.Fatalf("indexes = %v, want three times %d", got, idx)
	}
}

// preparing is a recorder that captures its snapshot in PrepareSnapshot
// and writes it later, as persistent-state machines do.
type preparing struct {
	*recorder
	prepared int
}

func (p *preparing) PrepareSnapshot() func(io.Writer) error {
	p.prepared++
	var buf bytes.Buffer
	if err := p.Snapshot(&buf); err != nil {
		panic(err)
	}
	return func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	}
}

func TestDragonboatSnapshotPreparer(t *testing.T) {
	p := &preparing{recorder: newRecorder()}
	a := Dragonboat(func() Machine { return p }, testGroup)(testShard, 1)
	if _, err := a.Update([]sm.Entry{{Index: 1, Cmd: add(t, 5)}, {Index: 2, Cmd: add(t, 6)}}); err != nil {
		t.Fatal(err)
	}
	ssctx, err := a.PrepareSnapshot()
	if err != nil || p.prepared != 1 {
		t.Fatalf("PrepareSnapshot = %v, prepared %d times", err, p.prepared)
	}
	// Updates between prepare and save are not in the snapshot.
	if _, err := a.Update([]sm.Entry{{Index: 3, Cmd: add(t, 100)}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.SaveSnapshot(ssctx, &buf, nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	b := Dragonboat(func() Machine { return newRecorder() }, testGroup)(testShard, 1)
	if err := b.RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, make(chan struct{})); err != nil {
		t.Fatal(err)
	}
	q, _ := JSON[string]().Encode("total")
	if v, err := b.Lookup(q); err != nil || string(v.([]byte)) != "11" {
		t.Fatalf("restored total = %s, %v; want 11", v, err)
	}
	var idx *IndexedResult
	if v, err := b.Lookup(&IndexedQuery{Query: q}); err != nil {
		t.Fatal(err)
	} else if idx = v.(*IndexedResult); idx.Applied != 2 {
		t.Fatalf("restored applied index %d, want 2 (the header)", idx.Applied)
	}
}

package statemachine

// The dragonboat adapter hosts a [Machine] in a dragonboat v4 shard.
// docs/architecture.md ("The adapter") explains its choices: the
// interface, threading, failure, the entries and batch envelopes.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/mosaikgo/mosaik/id"
)

var (
	// ErrMachineFailed is matched by the sticky [*MachineFailure] of a
	// machine that panicked: every later update, query and snapshot of the
	// replica is refused with it.
	ErrMachineFailed = errors.New("statemachine: machine failed")
	// ErrCommandRejected is what [ResultError] reports for a command that
	// did not decode: it was skipped on every member.
	ErrCommandRejected = errors.New("statemachine: command rejected")
	// ErrQueryType is returned by Lookup for a query that is not a []byte.
	ErrQueryType = errors.New("statemachine: query is not []byte")
	// ErrQueryPanicked is returned by Lookup when Query panicked. Query
	// must not change the state, so the machine does not fail for it.
	ErrQueryPanicked = errors.New("statemachine: query panicked")
	// ErrUnknownResult is what [ResultError] reports for a result code this
	// adapter never writes.
	ErrUnknownResult = errors.New("statemachine: unknown result code")
)

// The encoding of the sm.Result the adapter gives each entry, which is what
// dragonboat's SyncPropose returns to the proposer:
//
//   - Value [ResultApplied], Data the entry's log index (8 bytes, big
//     endian; see [ResultIndex]): the command was applied;
//   - Value [ResultRejected], Data the UTF-8 text of the decode error: the
//     command did not decode and was skipped, by every member alike;
//   - Value [ResultFailed], Data the UTF-8 text of the [*MachineFailure]:
//     the machine has failed (in this entry's batch or before it), and
//     the command may or may not have reached the state.
//
// [ResultError] turns a result back into an error.
const (
	ResultApplied  uint64 = 0
	ResultRejected uint64 = 1
	ResultFailed   uint64 = 2
)

// ResultError is nil for an applied command's result, an error matching
// [ErrCommandRejected] for a skipped one and one matching [ErrMachineFailed]
// when the machine has failed; each carries the text the adapter recorded.
func ResultError(r sm.Result) error {
	switch r.Value {
	case ResultApplied:
		return nil
	case ResultRejected:
		return fmt.Errorf("%w: %s", ErrCommandRejected, r.Data)
	case ResultFailed:
		return &remoteFailure{text: string(r.Data)}
	default:
		return fmt.Errorf("%w %d: %s", ErrUnknownResult, r.Value, r.Data)
	}
}

// remoteFailure is a failure known only by its text, from a result.
type remoteFailure struct{ text string }

func (f *remoteFailure) Error() string        { return f.text }
func (f *remoteFailure) Is(target error) bool { return target == ErrMachineFailed }

// MachineFailure records why a replica's machine failed. It matches
// [ErrMachineFailed] and unwraps to the panic value when that is an error,
// or to the error Restore returned.
type MachineFailure struct {
	Group id.GroupID
	// Op is the Machine method that failed: "Apply", "Snapshot" or "Restore".
	Op string
	// FirstIndex and LastIndex bound the batch Apply was given; zero
	// for other methods.
	FirstIndex, LastIndex uint64
	// Panic is the recovered value, nil when the method returned Err.
	Panic any
	Err   error
	// Stack is where the panic happened; not part of Error.
	Stack []byte
}

func (f *MachineFailure) Error() string {
	where := ""
	if f.Op == "Apply" {
		where = fmt.Sprintf(" of entries %d..%d", f.FirstIndex, f.LastIndex)
	}
	if f.Err != nil {
		return fmt.Sprintf("%v: group %s: %s%s: %v", ErrMachineFailed, f.Group.Short(), f.Op, where, f.Err)
	}
	return fmt.Sprintf("%v: group %s: panic in %s%s: %v", ErrMachineFailed, f.Group.Short(), f.Op, where, f.Panic)
}

func (f *MachineFailure) Is(target error) bool { return target == ErrMachineFailed }

func (f *MachineFailure) Unwrap() error {
	if f.Err != nil {
		return f.Err
	}
	if err, ok := f.Panic.(error); ok {
		return err
	}
	return nil
}

// Dragonboat returns the factory dragonboat's NodeHost.StartConcurrentReplica
// takes (on first start and on restart alike) to host a fresh machine from
// m for the given group. Each replica gets its own machine; m must return a
// machine in its empty state. See the comment at the top of this file for
// threading, result encoding and failure.
func Dragonboat(m func() Machine, group id.GroupID) sm.CreateConcurrentStateMachineFunc {
	return DragonboatTracked(m, group, nil)
}

// DragonboatTracked is Dragonboat that also reports the replica's
// [Progress], after every batch and every snapshot restored, to applied
// (when not nil): the group layer's progress reports, commit waits and
// rival-merge reports. applied runs on dragonboat's apply goroutine and
// must not block.
func DragonboatTracked(m func() Machine, group id.GroupID, applied func(Progress)) sm.CreateConcurrentStateMachineFunc {
	return func(uint64, uint64) sm.IConcurrentStateMachine {
		return &adapter{m: m(), group: group, progress: applied}
	}
}

// Progress is how far a replica's machine has come.
type Progress struct {
	// Index is the log index of the last command applied.
	Index uint64
	// Commands is how many commands the state holds of its own: applied
	// since the state began empty, or since an install entry replaced it
	// (the commands behind an installed state are not counted). It is
	// what a member loses when its shard loses to a rival.
	Commands uint64
}

// IndexedQuery asks Lookup for the result together with the applied index
// it reflects; Lookup then returns an [*IndexedResult].
type IndexedQuery struct{ Query []byte }

// IndexedResult is a query's result and the log index of the last command
// applied when the query ran (Query never overlaps Apply).
type IndexedResult struct {
	Result  []byte
	Applied uint64
}

// BatchMagic starts every batch envelope; see Batch envelopes above.
const BatchMagic = "\xffmb\x01"

// ErrBadBatch is what [ResultError] reports (inside [ErrCommandRejected])
// for an entry that carries [BatchMagic] but does not parse.
var ErrBadBatch = errors.New("statemachine: malformed batch envelope")

// EncodeSingle returns the entry for one command: the command itself,
// unless it happens to start with [BatchMagic], in which case it is
// wrapped as a batch of one so that the adapter cannot misread it.
func EncodeSingle(cmd []byte) []byte {
	// Any command starting with 0xFF might be read as an envelope (batch
	// or install); a batch of one carries it safely.
	if len(cmd) > 0 && cmd[0] == 0xFF {
		return EncodeBatch([][]byte{cmd})
	}
	return cmd
}

// EncodeBatch returns the entry that carries cmds as one batch: they are
// committed as one log entry and applied together, in order.
func EncodeBatch(cmds [][]byte) []byte {
	n := len(BatchMagic) + binary.MaxVarintLen64
	for _, c := range cmds {
		n += binary.MaxVarintLen64 + len(c)
	}
	b := make([]byte, 0, n)
	b = append(b, BatchMagic...)
	b = binary.AppendUvarint(b, uint64(len(cmds)))
	for _, c := range cmds {
		b = binary.AppendUvarint(b, uint64(len(c)))
		b = append(b, c...)
	}
	return b
}

// DecodeEntry returns the commands an entry's Cmd carries: the Cmd itself
// for a plain command, the batch's commands (sub-slices of cmd) for an
// envelope, or an error matching [ErrBadBatch].
func DecodeEntry(cmd []byte) ([][]byte, error) {
	return appendEntryCommands(nil, cmd)
}

// appendEntryCommands appends the commands entry cmd carries to dst, as
// DecodeEntry returns them; on error dst is returned unchanged.
func appendEntryCommands(dst [][]byte, cmd []byte) ([][]byte, error) {
	rest, ok := bytes.CutPrefix(cmd, []byte(BatchMagic))
	if !ok {
		return append(dst, cmd), nil
	}
	count, n := binary.Uvarint(rest)
	// Each command takes at least one byte (its length), which bounds
	// the allocation a hostile count could ask for.
	if n <= 0 || count > uint64(len(rest)-n) {
		return dst, fmt.Errorf("%w: bad count", ErrBadBatch)
	}
	rest = rest[n:]
	out := slices.Grow(dst, int(count))
	for i := range count {
		size, n := binary.Uvarint(rest)
		if n <= 0 || size > uint64(len(rest)-n) {
			return dst, fmt.Errorf("%w: command %d: bad length", ErrBadBatch, i)
		}
		rest = rest[n:]
		out = append(out, rest[:size:size])
		rest = rest[size:]
	}
	if len(rest) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes", ErrBadBatch, len(rest))
	}
	return out, nil
}

// ResultIndex returns the log index an applied command's result carries.
func ResultIndex(r sm.Result) (uint64, bool) {
	if r.Value != ResultApplied || len(r.Data) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(r.Data), true
}

type adapter struct {
	group id.GroupID
	// mu: written by Update, RecoverFromSnapshot and Close; read by Lookup
	// and PrepareSnapshot. See Threading above.
	mu sync.RWMutex
	m  Machine
	// failure, once set, stays.
	failure atomic.Pointer[MachineFailure]
	// applied is the index of the last command applied, own the count
	// of Progress.Commands; both under mu, both kept in snapshots.
	applied, own uint64
	// delta turns the log's own indexes into the group's: index = raw +
	// delta, modulo 2^64. It is 0 until an install entry continues the
	// log of the shard it re-forms (see [EncodeInstall]); under mu, kept
	// in snapshots.
	delta    uint64
	progress func(Progress) // told after each batch and restore, if set
}

// report tells the progress callback, if any, where the machine is.
func (a *adapter) report() {
	if a.progress != nil {
		a.progress(Progress{Index: a.applied, Commands: a.own})
	}
}

var (
	_ sm.IConcurrentStateMachine = (*adapter)(nil)
	_ sm.IExtended               = (*adapter)(nil)
)

func (a *adapter) Update(entries []sm.Entry) ([]sm.Entry, error) {
	if len(entries) == 0 {
		return entries, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if f := a.failure.Load(); f != nil {
		return failAll(entries, f), nil
	}
	// An install entry replaces the whole state, so the commands before it
	// must be applied first and those after it to the new state: split
	// the batch at every install.
	start := 0
	for i, e := range entries {
		in, ok, err := decodeInstall(e.Cmd)
		if !ok {
			continue
		}
		if _, err := a.applySegment(entries[start:i]); err != nil {
			return entries, err
		}
		if f := a.failure.Load(); f != nil {
			return failAll(entries, f), nil
		}
		if in.continues {
			a.delta = in.base + 1 - e.Index
		}
		index := e.Index + a.delta
		var f *MachineFailure
		if err == nil {
			f, err = a.restore(bytes.NewReader(in.state))
		}
		if f != nil || err != nil {
			if f == nil {
				f = &MachineFailure{Group: a.group, Op: "Restore", FirstIndex: index, LastIndex: index, Err: err}
			}
			a.failure.Store(f)
			return failAll(entries, f), nil
		}
		entries[i].Result = sm.Result{Value: ResultApplied, Data: binary.BigEndian.AppendUint64(nil, index)}
		a.applied, a.own = index, 0
		a.report()
		start = i + 1
	}
	if start < len(entries) {
		if _, err := a.applySegment(entries[start:]); err != nil {
			return entries, err
		}
	}
	return entries, nil
}

// InstallMagic starts an install entry: a uvarint base index, then a
// whole snapshot of a machine's state, which replaces the state of every
// replica that applies it. A member that re-forms a group after losing
// its quorum proposes one as the first command of its new shard, so that
// members joining that shard later replay the state, not just the
// commands that follow. Like [BatchMagic] it starts with 0xFF, which no
// JSON text or protobuf message does.
//
// The new shard continues the old one's log: the install entry gets index
// base+1, whatever its place in the new shard's own log, and the entries
// after it follow on. So indexes never go back for the group's users, and
// the re-formed shard outranks the one it came from by exactly that entry
// when the rival rule compares them.
const InstallMagic = "\xffmi\x02"

// installMagicV1 started install entries without a base, written before
// the log continued across a re-form; they keep the index they have.
const installMagicV1 = "\xffmi\x01"

// EncodeInstall wraps a state snapshot (as [Machine.Snapshot] writes it)
// as an install entry that continues the log after index base.
func EncodeInstall(state []byte, base uint64) []byte {
	b := make([]byte, 0, len(InstallMagic)+binary.MaxVarintLen64+len(state))
	b = append(b, InstallMagic...)
	b = binary.AppendUvarint(b, base)
	return append(b, state...)
}

// installed is what an install entry carries.
type installed struct {
	state     []byte
	base      uint64
	continues bool // the entry has a base (not an installMagicV1 entry)
}

// decodeInstall reads an install entry: ok is false for any other entry;
// err is set for one whose base does not parse.
func decodeInstall(cmd []byte) (in installed, ok bool, err error) {
	if rest, ok := bytes.CutPrefix(cmd, []byte(installMagicV1)); ok {
		return installed{state: rest}, true, nil
	}
	rest, ok := bytes.CutPrefix(cmd, []byte(InstallMagic))
	if !ok {
		return installed{}, false, nil
	}
	base, n := binary.Uvarint(rest)
	if n <= 0 {
		return installed{}, true, errors.New("statemachine: install entry: bad base index")
	}
	return installed{state: rest[n:], base: base, continues: true}, true, nil
}

// StateQuery asks Lookup for a snapshot of the machine's whole state,
// with the applied index it reflects; Lookup returns an [*IndexedResult].
type StateQuery struct{}

func (a *adapter) applySegment(entries []sm.Entry) ([]sm.Entry, error) {
	if len(entries) == 0 {
		return entries, nil
	}
	// Flatten the entries' commands (a batch contributes several, all at
	// its entry's index) into one Apply call; owner maps each command
	// back to its entry. rejected is allocated at the first refusal.
	var (
		indexes  = make([]uint64, 0, len(entries))
		cmds     = make([][]byte, 0, len(entries))
		owner    = make([]int, 0, len(entries))
		rejected []error
	)
	reject := func(i int, err error) {
		if rejected == nil {
			rejected = make([]error, len(entries))
		}
		if rejected[i] == nil {
			rejected[i] = err
		}
	}
	for i, e := range entries {
		before := len(cmds)
		var err error
		if cmds, err = appendEntryCommands(cmds, e.Cmd); err != nil {
			reject(i, err)
			continue
		}
		for range len(cmds) - before {
			indexes, owner = append(indexes, e.Index+a.delta), append(owner, i)
		}
	}
	first, last := entries[0].Index+a.delta, entries[len(entries)-1].Index+a.delta
	var errs []error
	if len(cmds) > 0 {
		var f *MachineFailure
		errs, f = a.apply(NewApplyContext(a.group, indexes), cmds)
		if f == nil && errs != nil && len(errs) != len(cmds) {
			f = &MachineFailure{Group: a.group, Op: "Apply", FirstIndex: first, LastIndex: last,
				Err: fmt.Errorf("returned %d errors for %d commands", len(errs), len(cmds))}
		}
		if f != nil {
			f.FirstIndex, f.LastIndex = first, last
			a.failure.Store(f)
			return failAll(entries, f), nil
		}
	}
	a.own += uint64(len(cmds))
	for j, err := range errs {
		if err != nil {
			a.own-- // skipped, not applied
			reject(owner[j], err)
		}
	}
	// One buffer holds every applied entry's result (its index), rather
	// than an allocation per entry.
	results := make([]byte, 8*len(entries))
	for i := range entries {
		if rejected != nil && rejected[i] != nil {
			entries[i].Result = sm.Result{Value: ResultRejected, Data: []byte(rejected[i].Error())}
			continue
		}
		data := results[8*i : 8*i+8 : 8*i+8]
		binary.BigEndian.PutUint64(data, entries[i].Index+a.delta)
		entries[i].Result = sm.Result{Value: ResultApplied, Data: data}
	}
	a.applied = last
	a.report()
	return entries, nil
}

func (a *adapter) apply(ctx ApplyContext, cmds [][]byte) (errs []error, f *MachineFailure) {
	defer func() {
		if v := recover(); v != nil {
			f = &MachineFailure{Group: a.group, Op: "Apply", FirstIndex: ctx.Index(0), LastIndex: ctx.LastIndex(), Panic: v, Stack: debug.Stack()}
		}
	}()
	return a.m.Apply(ctx, cmds), nil
}

func failAll(entries []sm.Entry, f *MachineFailure) []sm.Entry {
	text := []byte(f.Error())
	for i := range entries {
		entries[i].Result = sm.Result{Value: ResultFailed, Data: text}
	}
	return entries
}

// Lookup answers a []byte query with Query's []byte result.
func (a *adapter) Lookup(q any) (any, error) {
	switch q := q.(type) {
	case []byte:
		return a.NALookup(q)
	case *IndexedQuery:
		return a.indexedLookup(q.Query)
	case *StateQuery:
		a.mu.RLock()
		defer a.mu.RUnlock()
		if f := a.failure.Load(); f != nil {
			return nil, f
		}
		var buf bytes.Buffer
		if f, err := a.snapshot(&buf); f != nil || err != nil {
			if f != nil {
				return nil, f
			}
			return nil, err
		}
		return &IndexedResult{Result: buf.Bytes(), Applied: a.applied}, nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrQueryType, q)
	}
}

// indexedLookup runs Query and reads the applied index under one lock.
func (a *adapter) indexedLookup(q []byte) (res *IndexedResult, err error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if f := a.failure.Load(); f != nil {
		return nil, f
	}
	defer func() {
		if v := recover(); v != nil {
			res, err = nil, fmt.Errorf("%w: group %s: %v", ErrQueryPanicked, a.group.Short(), v)
		}
	}()
	out, err := a.m.Query(q)
	if err != nil {
		return nil, err
	}
	return &IndexedResult{Result: out, Applied: a.applied}, nil
}

// NALookup is Lookup without the interface{} boxing (NodeHost.NAReadLocalNode).
func (a *adapter) NALookup(q []byte) (out []byte, err error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if f := a.failure.Load(); f != nil {
		return nil, f
	}
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, fmt.Errorf("%w: group %s: %v", ErrQueryPanicked, a.group.Short(), v)
		}
	}()
	return a.m.Query(q)
}

// PrepareSnapshot takes the whole snapshot, in memory: see Threading. A
// [SnapshotPreparer] machine only captures its state here, and
// SaveSnapshot writes it.
//
// It never returns an error: dragonboat panics the process on any error
// from PrepareSnapshot, sm.ErrSnapshotAborted included (node.doSave then
// removes a snapshot directory that was never made). A snapshot that
// cannot be taken is instead handed on as an [aborted] context, which
// SaveSnapshot returns, where dragonboat does abort cleanly.
func (a *adapter) PrepareSnapshot() (any, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if f := a.failure.Load(); f != nil {
		return aborted{f}, nil
	}
	var buf bytes.Buffer
	writeSnapshotHeader(&buf, snapshotHeader{applied: a.applied, own: a.own, delta: a.delta})
	if p, ok := a.m.(SnapshotPreparer); ok {
		return a.prepare(p, buf.Bytes())
	}
	if f, err := a.snapshot(&buf); f != nil {
		a.failure.Store(f)
		return aborted{f}, nil
	} else if err != nil {
		// A snapshot that fails without panicking leaves the state
		// alone: skip this snapshot, dragonboat will ask again.
		return aborted{fmt.Errorf("statemachine: group %s: Snapshot: %w", a.group.Short(), err)}, nil
	}
	return buf.Bytes(), nil
}

// prepared is the context of a snapshot a [SnapshotPreparer] captured:
// the adapter's header, then what save writes.
type prepared struct {
	head []byte
	save func(io.Writer) error
}

// prepare captures a snapshot through the machine's own PrepareSnapshot.
func (a *adapter) prepare(p SnapshotPreparer, head []byte) (ctx any, _ error) {
	defer func() {
		if v := recover(); v != nil {
			f := &MachineFailure{Group: a.group, Op: "Snapshot", Panic: v, Stack: debug.Stack()}
			a.failure.Store(f)
			ctx = aborted{f}
		}
	}()
	return prepared{head: head, save: p.PrepareSnapshot()}, nil
}

// savePrepared writes a prepared snapshot; any failure aborts the
// snapshot (dragonboat survives that), a panic fails the machine.
func (a *adapter) savePrepared(p prepared, w io.Writer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			f := &MachineFailure{Group: a.group, Op: "Snapshot", Panic: v, Stack: debug.Stack()}
			a.failure.Store(f)
			err = aborted{f}
		}
	}()
	if _, err := w.Write(p.head); err != nil {
		return aborted{err}
	}
	if err := p.save(w); err != nil {
		return aborted{fmt.Errorf("statemachine: group %s: Snapshot: %w", a.group.Short(), err)}
	}
	return nil
}

func (a *adapter) snapshot(w io.Writer) (f *MachineFailure, err error) {
	defer func() {
		if v := recover(); v != nil {
			f = &MachineFailure{Group: a.group, Op: "Snapshot", Panic: v, Stack: debug.Stack()}
		}
	}()
	return nil, a.m.Snapshot(w)
}

// SaveSnapshot writes out what PrepareSnapshot took.
func (a *adapter) SaveSnapshot(ctx any, w io.Writer, _ sm.ISnapshotFileCollection, stop <-chan struct{}) error {
	select {
	case <-stop:
		return sm.ErrSnapshotStopped
	default:
	}
	var b []byte
	switch c := ctx.(type) {
	case []byte:
		b = c
	case aborted:
		return c
	case prepared:
		return a.savePrepared(c, w)
	default:
		return aborted{fmt.Errorf("statemachine: snapshot context is %T, not []byte", ctx)}
	}
	_, err := w.Write(b)
	return err
}

// RecoverFromSnapshot restores the machine. A failed machine ignores it and
// stays failed; a Restore that panics or fails makes the machine fail
// (rather than returning the error, which would panic the process).
func (a *adapter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, stop <-chan struct{}) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failure.Load() != nil {
		return nil
	}
	head, body, err := readSnapshotHeader(stopReader{r: r, stop: stop})
	var f *MachineFailure
	if err == nil {
		f, err = a.restore(body)
	}
	if f == nil && err != nil {
		f = &MachineFailure{Group: a.group, Op: "Restore", Err: err}
	}
	if f != nil {
		// Half restored: the state is undefined whether or not dragonboat
		// is stopping the replica.
		a.failure.Store(f)
	} else {
		a.applied, a.own, a.delta = head.applied, head.own, head.delta
		a.report()
	}
	select {
	case <-stop:
		return sm.ErrSnapshotStopped
	default:
		return nil
	}
}

// snapshotMagic starts the header the adapter puts before the machine's
// own snapshot: the applied index, the own-command count (see [Progress])
// and the index delta (see adapter.delta), as uvarints, so that a replica
// restored from a snapshot knows them without waiting for the next
// command. Headers of snapshotMagicV1 lack the delta (0); a snapshot with
// no header (written before headers existed) is the machine's alone. The
// 0xFF first byte keeps it apart from JSON and protobuf snapshots, as
// with [BatchMagic].
const (
	snapshotMagic   = "\xffms\x02"
	snapshotMagicV1 = "\xffms\x01"
)

// snapshotHeader is what the adapter keeps of its own in a snapshot.
type snapshotHeader struct{ applied, own, delta uint64 }

func writeSnapshotHeader(w *bytes.Buffer, h snapshotHeader) {
	w.WriteString(snapshotMagic)
	b := binary.AppendUvarint(nil, h.applied)
	b = binary.AppendUvarint(b, h.own)
	w.Write(binary.AppendUvarint(b, h.delta))
}

// readSnapshotHeader reads the header, if there is one, and returns the
// rest of r for the machine.
func readSnapshotHeader(r io.Reader) (h snapshotHeader, body io.Reader, err error) {
	head := make([]byte, len(snapshotMagic))
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return h, nil, err
	}
	version := string(head[:n])
	if version != snapshotMagic && version != snapshotMagicV1 {
		return h, io.MultiReader(bytes.NewReader(head[:n]), r), nil
	}
	br := bufio.NewReader(r)
	if h.applied, err = binary.ReadUvarint(br); err == nil {
		h.own, err = binary.ReadUvarint(br)
	}
	if err == nil && version == snapshotMagic {
		h.delta, err = binary.ReadUvarint(br)
	}
	if err != nil {
		return snapshotHeader{}, nil, fmt.Errorf("statemachine: snapshot header: %w", err)
	}
	return h, br, nil
}

func (a *adapter) restore(r io.Reader) (f *MachineFailure, err error) {
	defer func() {
		if v := recover(); v != nil {
			f = &MachineFailure{Group: a.group, Op: "Restore", Panic: v, Stack: debug.Stack()}
		}
	}()
	return nil, a.m.Restore(r)
}

// Close closes the machine if it is an io.Closer.
func (a *adapter) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.m.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// aborted makes dragonboat skip a snapshot instead of panicking: it
// matches sm.ErrSnapshotAborted (dragonboat uses cockroachdb errors.Is,
// which follows one Unwrap chain and honours Is methods).
type aborted struct{ cause error }

func (e aborted) Error() string        { return fmt.Sprintf("%v: %v", sm.ErrSnapshotAborted, e.cause) }
func (e aborted) Unwrap() error        { return e.cause }
func (e aborted) Is(target error) bool { return target == sm.ErrSnapshotAborted }

// stopReader fails reads once stop is closed, so that Restore of a large
// snapshot ends soon after dragonboat stops the replica.
type stopReader struct {
	r    io.Reader
	stop <-chan struct{}
}

func (s stopReader) Read(p []byte) (int, error) {
	select {
	case <-s.stop:
		return 0, sm.ErrSnapshotStopped
	default:
		return s.r.Read(p)
	}
}

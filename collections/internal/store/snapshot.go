package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ErrBadState matches every snapshot that does not decode.
var ErrBadState = errors.New("collections: bad snapshot")

// snapshotMagic starts a collection snapshot; the version is its last
// byte.
const snapshotMagic = "mcs\x01"

// maxItem bounds one key or value read from a snapshot, so that a
// corrupt length cannot ask for a huge allocation.
const maxItem = 64 << 20

// snapshotChunk is the size of the chunks a snapshot's keys and values
// are read into.
const snapshotChunk = 64 << 10

// WriteSnapshot writes s and the version it reflects: the magic, the
// kind, the version, the entry count, then per entry its key and value,
// each as a uvarint length and bytes, in order. The priority index of a
// queue is rebuilt on restore.
func WriteSnapshot(w io.Writer, s State, version uint64) error {
	// The hot loop of every snapshot: walk the tree in order with an
	// explicit stack and append to one buffer, flushed when full.
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, snapshotMagic...)
	buf = append(buf, byte(s.Kind))
	buf = binary.AppendUvarint(buf, version)
	buf = binary.AppendUvarint(buf, uint64(s.Items.Len()))
	var stack [maxHeight]*Node
	depth := 0
	for n := s.Items; n != nil || depth > 0; {
		for ; n != nil; n = n.left {
			stack[depth] = n
			depth++
		}
		depth--
		n = stack[depth]
		if len(buf)+2*binary.MaxVarintLen64+len(n.Key)+len(n.Val) > cap(buf) && len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		buf = binary.AppendUvarint(buf, uint64(len(n.Key)))
		buf = append(buf, n.Key...)
		buf = binary.AppendUvarint(buf, uint64(len(n.Val)))
		buf = append(buf, n.Val...)
		n = n.right
	}
	_, err := w.Write(buf)
	return err
}

// maxHeight bounds the height of an AVL tree: one of height h holds at
// least Fib(h+2)-1 nodes, more than 2^62 for h = 90.
const maxHeight = 90

// ReadSnapshot reads what WriteSnapshot wrote into a state of kind
// (with capacity, for a queue): the whole state is built before it is
// returned, so a caller installs it at once or not at all.
func ReadSnapshot(r io.Reader, kind Kind, capacity int) (State, uint64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	bad := func(what string, err error) (State, uint64, error) {
		if err != nil {
			return State{}, 0, fmt.Errorf("%w: %s: %w", ErrBadState, what, err)
		}
		return State{}, 0, fmt.Errorf("%w: %s", ErrBadState, what)
	}
	head := make([]byte, len(snapshotMagic)+1)
	if _, err := io.ReadFull(br, head); err != nil {
		return bad("header", err)
	}
	if string(head[:len(snapshotMagic)]) != snapshotMagic {
		return bad("not a collection snapshot", nil)
	}
	if Kind(head[len(snapshotMagic)]) != kind {
		return bad(fmt.Sprintf("snapshot of a %s, not a %s", Kind(head[len(snapshotMagic)]), kind), nil)
	}
	version, err := binary.ReadUvarint(br)
	if err != nil {
		return bad("version", err)
	}
	count, err := binary.ReadUvarint(br)
	if err != nil {
		return bad("count", err)
	}
	// Keys and values are carved out of shared chunks rather than
	// allocated one by one: a large snapshot installs with a few
	// allocations instead of two per entry. (A chunk stays alive while
	// any entry in it does.)
	var chunk []byte
	readBytes := func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		if n > maxItem {
			return nil, fmt.Errorf("item of %d bytes", n)
		}
		if int(n) > len(chunk) {
			chunk = make([]byte, max(int(n), snapshotChunk))
		}
		b := chunk[:n:n]
		chunk = chunk[n:]
		_, err = io.ReadFull(br, b)
		return b, err
	}
	// Grow as entries arrive rather than trusting count up front.
	items := make([]KV, 0, min(count, 1<<16))
	for i := range count {
		var kv KV
		if kv.Key, err = readBytes(); err == nil {
			kv.Val, err = readBytes()
		}
		if err != nil {
			return bad(fmt.Sprintf("entry %d", i), err)
		}
		items = append(items, kv)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return bad("trailing bytes", err)
	}
	s := State{Kind: kind, Capacity: capacity}
	if kind != KindVec {
		for i := 1; i < len(items); i++ {
			if bytes.Compare(items[i-1].Key, items[i].Key) >= 0 {
				return bad(fmt.Sprintf("entry %d out of order", i), nil)
			}
		}
	}
	switch kind {
	case KindCell, KindOnce:
		if len(items) > 1 || (len(items) == 1 && len(items[0].Key) != 0) {
			return bad("a cell holds one entry with an empty key", nil)
		}
	case KindVec:
		for i := range items {
			items[i].Key = nil
		}
	case KindPriorityQueue:
		index := make([]KV, len(items))
		for i, kv := range items {
			prio, _, err := DecodePriorityValue(kv.Val)
			if err != nil {
				return bad(fmt.Sprintf("entry %d", i), err)
			}
			index[i] = KV{Key: PriorityKey(prio, kv.Key)}
		}
		slices.SortFunc(index, func(a, b KV) int { return bytes.Compare(a.Key, b.Key) })
		s.ByPriority = Build(index)
	}
	s.Items = Build(items)
	return s, version, nil
}

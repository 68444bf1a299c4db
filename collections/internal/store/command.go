package store

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrBadCommand matches every command that does not decode, or does not
// fit the collection it was sent to. Such a command is rejected by every
// replica alike; it still takes a log index.
var ErrBadCommand = errors.New("collections: bad command")

// Op names what a command does. Which ops a collection takes depends on
// its kind: see [State.Apply].
type Op byte

// The ops. Args lists each op's arguments; "?" marks one that may be nil
// (absent), "..." a list.
const (
	_ Op = iota
	// OpInsert: key, value (Map, Cell); key (Set).
	OpInsert
	// OpCompareExchange: key, old?, new? (Map, Cell; Once has no key).
	OpCompareExchange
	// OpExtend: key, value, ... (Map); key... (Set); value... (Vec).
	OpExtend
	// OpRemove: key (Map, Set, PriorityQueue).
	OpRemove
	// OpRemoveMany: key... (Map, Set, PriorityQueue).
	OpRemoveMany
	// OpClear: none (every kind).
	OpClear
	// OpPushBack, OpPushFront: value (Vec).
	OpPushBack
	OpPushFront
	// OpInsertAt: index, value (Vec).
	OpInsertAt
	// OpPopBack, OpPopFront: none (Vec).
	OpPopBack
	OpPopFront
	// OpRemoveAt: index (Vec).
	OpRemoveAt
	// OpSwap: index, index (Vec).
	OpSwap
	// OpTruncate: length (Vec).
	OpTruncate
	// OpWriteOnce: value (Once): stored only while the cell is empty.
	OpWriteOnce
	// OpUpsert: key, priority, value, ... (PriorityQueue).
	OpUpsert
	// OpUpdatePriority: key, priority (PriorityQueue).
	OpUpdatePriority
	// OpUpdateValue: key, value (PriorityQueue).
	OpUpdateValue
	// OpRemoveRange: lowest?, highest? priority, both inclusive, nil
	// unbounded (PriorityQueue).
	OpRemoveRange
	opEnd
)

// Command is one replicated change: an op and its byte-string arguments.
// A nil argument is absent, which differs from an empty one.
type Command struct {
	Op   Op
	Args [][]byte
}

// maxArgs bounds the arguments a decoded command may claim, so that a
// hostile count cannot ask for a large allocation (each takes at least
// one byte anyway).
const maxArgs = 1 << 24

// Encode returns the command's bytes: the op, a uvarint count, then per
// argument a uvarint of its length plus one (0 for nil) and its bytes.
func (c Command) Encode() []byte {
	n := 1 + binary.MaxVarintLen64
	for _, a := range c.Args {
		n += binary.MaxVarintLen64 + len(a)
	}
	b := make([]byte, 0, n)
	b = append(b, byte(c.Op))
	b = binary.AppendUvarint(b, uint64(len(c.Args)))
	for _, a := range c.Args {
		if a == nil {
			b = append(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(a))+1)
		b = append(b, a...)
	}
	return b
}

// DecodeCommand reads a command Encode wrote. The arguments alias b.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) == 0 {
		return Command{}, fmt.Errorf("%w: empty", ErrBadCommand)
	}
	c := Command{Op: Op(b[0])}
	if c.Op == 0 || c.Op >= opEnd {
		return Command{}, fmt.Errorf("%w: unknown op %d", ErrBadCommand, b[0])
	}
	rest := b[1:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(len(rest)-n) || count > maxArgs {
		return Command{}, fmt.Errorf("%w: bad argument count", ErrBadCommand)
	}
	rest = rest[n:]
	c.Args = make([][]byte, count)
	for i := range c.Args {
		size, n := binary.Uvarint(rest)
		if n <= 0 || size > uint64(len(rest)-n)+1 {
			return Command{}, fmt.Errorf("%w: argument %d: bad length", ErrBadCommand, i)
		}
		rest = rest[n:]
		if size == 0 {
			continue
		}
		size--
		c.Args[i] = rest[:size:size]
		rest = rest[size:]
	}
	if len(rest) != 0 {
		return Command{}, fmt.Errorf("%w: %d trailing bytes", ErrBadCommand, len(rest))
	}
	return c, nil
}

// Uint encodes an index or length as a command argument.
func Uint(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// ParseUint reads an argument Uint wrote.
func ParseUint(b []byte) (uint64, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 || n != len(b) {
		return 0, fmt.Errorf("%w: bad integer", ErrBadCommand)
	}
	return v, nil
}

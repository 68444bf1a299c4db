package store

import (
	"bytes"
	"fmt"
)

// Kind is the kind of a collection.
type Kind byte

// The kinds of collection.
const (
	_ Kind = iota
	KindMap
	KindVec
	KindSet
	KindCell
	KindOnce
	KindPriorityQueue
	kindEnd
)

func (k Kind) String() string {
	switch k {
	case KindMap:
		return "map"
	case KindVec:
		return "vec"
	case KindSet:
		return "set"
	case KindCell:
		return "cell"
	case KindOnce:
		return "once"
	case KindPriorityQueue:
		return "depq"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// State is the whole state of one collection. It is a value: Apply
// returns a new State and leaves the old one intact, sharing its nodes.
//
// Items holds the entries: ordered by key for Map, Set and
// PriorityQueue (with, for the queue, the value [EncodePriorityValue]
// made), positional for Vec, and at most one entry under the empty key
// for Cell and Once. ByPriority indexes a PriorityQueue's entries by
// [PriorityKey](priority, key), with nil values.
type State struct {
	Kind Kind
	// Capacity bounds a PriorityQueue (0: unbounded); part of the
	// collection's definition, not of its replicated state.
	Capacity   int
	Items      *Node
	ByPriority *Node
}

// Len is the number of entries.
func (s State) Len() int { return s.Items.Len() }

// Apply applies one command and returns the next state, leaving s and
// every state before it intact. A command that
// does not fit the kind, or whose arguments are malformed, returns s
// unchanged and an error matching ErrBadCommand. Commands that change
// nothing (remove of an absent key, pop of an empty vector, a compare-
// exchange that does not match, an index out of range) are not errors.
func (s State) Apply(c Command) (State, error) { return s.ApplyEdit(nil, c) }

// ApplyEdit is Apply within the transient edit e (see [Edit]): nodes e
// made for earlier commands of the same batch are changed in place, so
// states returned within the edit, s among them when e made it, must no
// longer be read once a later command of the edit applied. The first
// state of the batch and every state before it stay intact.
func (s State) ApplyEdit(e *Edit, c Command) (State, error) {
	switch s.Kind {
	case KindMap, KindSet, KindCell, KindOnce:
		return s.applyKeyed(e, c)
	case KindVec:
		return s.applyVec(e, c)
	case KindPriorityQueue:
		return s.applyQueue(e, c)
	}
	return s, fmt.Errorf("%w: unknown kind %d", ErrBadCommand, s.Kind)
}

func badArgs(c Command, want string) error {
	return fmt.Errorf("%w: op %d takes %s, got %d argument(s)", ErrBadCommand, c.Op, want, len(c.Args))
}

// cellKey is the one key of a Cell or Once.
var cellKey = []byte{}

func (s State) applyKeyed(e *Edit, c Command) (State, error) {
	set := s.Kind == KindSet
	cell := s.Kind == KindCell || s.Kind == KindOnce
	args := c.Args
	switch {
	case c.Op == OpClear && len(args) == 0:
		s.Items = nil
		return s, nil
	case c.Op == OpWriteOnce && s.Kind == KindOnce && len(args) == 1 && args[0] != nil:
		if s.Items == nil {
			s.Items, _ = Put(e, nil, cellKey, args[0])
		}
		return s, nil
	case s.Kind == KindOnce:
		return s, fmt.Errorf("%w: a Once takes only a first write", ErrBadCommand)
	}
	switch c.Op {
	case OpInsert:
		switch {
		case set && len(args) == 1 && args[0] != nil:
			s.Items, _ = Put(e, s.Items, args[0], nil)
		case !set && len(args) == 2 && args[0] != nil && args[1] != nil && (!cell || len(args[0]) == 0):
			s.Items, _ = Put(e, s.Items, args[0], args[1])
		default:
			return s, badArgs(c, "a key (and a value)")
		}
	case OpCompareExchange:
		if set || len(args) != 3 || args[0] == nil || (cell && len(args[0]) != 0) {
			return s, badArgs(c, "key, old?, new?")
		}
		key, old, repl := args[0], args[1], args[2]
		cur, ok := Get(s.Items, key)
		if ok != (old != nil) || (ok && !bytes.Equal(cur, old)) {
			return s, nil // mismatch: unchanged
		}
		if repl == nil {
			s.Items, _ = Delete(e, s.Items, key)
		} else {
			s.Items, _ = Put(e, s.Items, key, repl)
		}
	case OpExtend:
		if cell {
			return s, badArgs(c, "nothing: not a cell op")
		}
		if set {
			for _, k := range args {
				if k == nil {
					return s, badArgs(c, "keys")
				}
			}
			for _, k := range args {
				s.Items, _ = Put(e, s.Items, k, nil)
			}
			return s, nil
		}
		if len(args)%2 != 0 {
			return s, badArgs(c, "key, value pairs")
		}
		for _, a := range args {
			if a == nil {
				return s, badArgs(c, "key, value pairs")
			}
		}
		for i := 0; i < len(args); i += 2 {
			s.Items, _ = Put(e, s.Items, args[i], args[i+1])
		}
	case OpRemove, OpRemoveMany:
		if cell || (c.Op == OpRemove && len(args) != 1) {
			return s, badArgs(c, "keys")
		}
		for _, k := range args {
			if k == nil {
				return s, badArgs(c, "keys")
			}
		}
		for _, k := range args {
			s.Items, _ = Delete(e, s.Items, k)
		}
	default:
		return s, fmt.Errorf("%w: op %d is not a %s op", ErrBadCommand, c.Op, s.Kind)
	}
	return s, nil
}

func (s State) applyVec(e *Edit, c Command) (State, error) {
	args := c.Args
	want := func(n int) error {
		if len(args) != n {
			return badArgs(c, fmt.Sprintf("%d argument(s)", n))
		}
		for _, a := range args {
			if a == nil {
				return badArgs(c, "no absent argument")
			}
		}
		return nil
	}
	// index reads argument i as a position; ok is false when it is
	// beyond limit (such ops are defined no-ops).
	index := func(i, limit int) (int, bool, error) {
		v, err := ParseUint(args[i])
		if err != nil {
			return 0, false, err
		}
		if v > uint64(limit) {
			return 0, false, nil
		}
		return int(v), true, nil
	}
	n := s.Items.Len()
	switch c.Op {
	case OpClear:
		if err := want(0); err != nil {
			return s, err
		}
		s.Items = nil
	case OpPushBack, OpPushFront:
		if err := want(1); err != nil {
			return s, err
		}
		at := n
		if c.Op == OpPushFront {
			at = 0
		}
		s.Items = InsertAt(e, s.Items, at, args[0])
	case OpInsertAt:
		if err := want(2); err != nil {
			return s, err
		}
		i, ok, err := index(0, n)
		if err != nil || !ok {
			return s, err
		}
		s.Items = InsertAt(e, s.Items, i, args[1])
	case OpExtend:
		for _, a := range args {
			if a == nil {
				return s, badArgs(c, "values")
			}
		}
		for _, a := range args {
			s.Items = InsertAt(e, s.Items, s.Items.Len(), a)
		}
	case OpPopBack, OpPopFront:
		if err := want(0); err != nil {
			return s, err
		}
		if n == 0 {
			return s, nil
		}
		at := n - 1
		if c.Op == OpPopFront {
			at = 0
		}
		s.Items = DeleteAt(e, s.Items, at)
	case OpRemoveAt:
		if err := want(1); err != nil {
			return s, err
		}
		i, ok, err := index(0, n-1)
		if err != nil || !ok || n == 0 {
			return s, err
		}
		s.Items = DeleteAt(e, s.Items, i)
	case OpSwap:
		if err := want(2); err != nil {
			return s, err
		}
		i, ok1, err := index(0, n-1)
		if err != nil {
			return s, err
		}
		j, ok2, err := index(1, n-1)
		if err != nil || !ok1 || !ok2 || n == 0 || i == j {
			return s, err
		}
		vi, vj := At(s.Items, i).Val, At(s.Items, j).Val
		s.Items = SetAt(e, SetAt(e, s.Items, i, vj), j, vi)
	case OpTruncate:
		if err := want(1); err != nil {
			return s, err
		}
		k, ok, err := index(0, n)
		if err != nil || !ok {
			return s, err
		}
		s.Items = Prefix(e, s.Items, k)
	default:
		return s, fmt.Errorf("%w: op %d is not a vec op", ErrBadCommand, c.Op)
	}
	return s, nil
}

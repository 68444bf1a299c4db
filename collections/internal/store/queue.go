package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// A PriorityQueue keeps two trees: Items maps each key to its priority
// and value (EncodePriorityValue), ByPriority orders the entries by
// (priority, key). Priorities are compared bytewise: the collections
// encode them with an order-preserving codec.

// EncodePriorityValue packs an entry's priority and value.
func EncodePriorityValue(prio, val []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(prio)+len(val))
	b = binary.AppendUvarint(b, uint64(len(prio)))
	b = append(b, prio...)
	return append(b, val...)
}

// DecodePriorityValue splits what EncodePriorityValue packed.
func DecodePriorityValue(b []byte) (prio, val []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("%w: bad priority", ErrBadState)
	}
	b = b[k:]
	return b[:n:n], b[n:], nil
}

// PriorityKey is the key of an entry in the priority index: the
// priority with every 0x00 escaped as 0x00 0xFF, the terminator 0x00
// 0x00, then the key. Bytewise order of these is the order of (priority,
// key) pairs, a shorter priority that prefixes a longer one first.
func PriorityKey(prio, key []byte) []byte {
	b := make([]byte, 0, len(prio)+len(key)+4)
	for _, c := range prio {
		b = append(b, c)
		if c == 0 {
			b = append(b, 0xFF)
		}
	}
	b = append(b, 0, 0)
	return append(b, key...)
}

// priorityBound is the smallest index key above every entry of priority
// prio: the inclusive upper bound of a range.
func priorityBound(prio []byte) []byte {
	k := PriorityKey(prio, nil)
	k[len(k)-1] = 1
	return k
}

// KeyOfPriorityKey returns the entry key inside an index key.
func KeyOfPriorityKey(pk []byte) []byte {
	for i := 0; i+1 < len(pk); i++ {
		if pk[i] != 0 {
			continue
		}
		if pk[i+1] == 0 {
			return pk[i+2:]
		}
		i++ // escaped zero
	}
	return nil
}

// queueUpsert sets key's priority and value; a new entry may push the
// queue over capacity, and then the lowest entry goes (possibly the new
// one). Replacing an existing key never evicts.
func (s State) queueUpsert(e *Edit, key, prio, val []byte) State {
	if old, ok := Get(s.Items, key); ok {
		oldPrio, _, _ := DecodePriorityValue(old)
		s.ByPriority, _ = Delete(e, s.ByPriority, PriorityKey(oldPrio, key))
	}
	var added bool
	s.Items, added = Put(e, s.Items, key, EncodePriorityValue(prio, val))
	s.ByPriority, _ = Put(e, s.ByPriority, PriorityKey(prio, key), nil)
	if added && s.Capacity > 0 && s.Items.Len() > s.Capacity {
		lowest := At(s.ByPriority, 0)
		s = s.queueRemove(e, KeyOfPriorityKey(lowest.Key))
	}
	return s
}

func (s State) queueRemove(e *Edit, key []byte) State {
	old, ok := Get(s.Items, key)
	if !ok {
		return s
	}
	prio, _, _ := DecodePriorityValue(old)
	s.Items, _ = Delete(e, s.Items, key)
	s.ByPriority, _ = Delete(e, s.ByPriority, PriorityKey(prio, key))
	return s
}

func (s State) applyQueue(e *Edit, c Command) (State, error) {
	args := c.Args
	for _, a := range args {
		if a == nil && c.Op != OpCompareExchange && c.Op != OpRemoveRange {
			return s, badArgs(c, "no absent argument")
		}
	}
	switch c.Op {
	case OpClear:
		if len(args) != 0 {
			return s, badArgs(c, "nothing")
		}
		s.Items, s.ByPriority = nil, nil
	case OpUpsert:
		if len(args) == 0 || len(args)%3 != 0 {
			return s, badArgs(c, "key, priority, value triples")
		}
		for i := 0; i < len(args); i += 3 {
			s = s.queueUpsert(e, args[i], args[i+1], args[i+2])
		}
	case OpUpdatePriority:
		if len(args) != 2 {
			return s, badArgs(c, "key, priority")
		}
		if old, ok := Get(s.Items, args[0]); ok {
			_, val, _ := DecodePriorityValue(old)
			s = s.queueUpsert(e, args[0], args[1], val)
		}
	case OpUpdateValue:
		if len(args) != 2 {
			return s, badArgs(c, "key, value")
		}
		if old, ok := Get(s.Items, args[0]); ok {
			prio, _, _ := DecodePriorityValue(old)
			s.Items, _ = Put(e, s.Items, args[0], EncodePriorityValue(prio, args[1]))
		}
	case OpCompareExchange:
		// key, old?, new?: compares and replaces values only. An absent
		// key has no priority, so only a matching present value changes.
		if len(args) != 3 || args[0] == nil {
			return s, badArgs(c, "key, old?, new?")
		}
		cur, ok := Get(s.Items, args[0])
		if !ok || args[1] == nil {
			return s, nil
		}
		prio, val, _ := DecodePriorityValue(cur)
		if !bytes.Equal(val, args[1]) {
			return s, nil
		}
		if args[2] == nil {
			return s.queueRemove(e, args[0]), nil
		}
		s.Items, _ = Put(e, s.Items, args[0], EncodePriorityValue(prio, args[2]))
	case OpRemove, OpRemoveMany:
		if c.Op == OpRemove && len(args) != 1 {
			return s, badArgs(c, "a key")
		}
		for _, k := range args {
			s = s.queueRemove(e, k)
		}
	case OpRemoveRange:
		if len(args) != 2 {
			return s, badArgs(c, "lowest?, highest?")
		}
		from := 0
		if args[0] != nil {
			from = Rank(s.ByPriority, PriorityKey(args[0], nil))
		}
		var hi []byte
		if args[1] != nil {
			hi = priorityBound(args[1])
		}
		var doomed [][]byte
		Ascend(s.ByPriority, from, func(n *Node) bool {
			if hi != nil && bytes.Compare(n.Key, hi) >= 0 {
				return false
			}
			doomed = append(doomed, KeyOfPriorityKey(n.Key))
			return true
		})
		for _, k := range doomed {
			s = s.queueRemove(e, k)
		}
	default:
		return s, fmt.Errorf("%w: op %d is not a priority queue op", ErrBadCommand, c.Op)
	}
	return s, nil
}

package store

import "bytes"

// Node is a node of a persistent AVL tree augmented with subtree sizes.
// Nodes are never changed once built: every update copies the path from
// the root to the change and shares the rest, so any root is a snapshot.
//
// The same node type serves two kinds of tree: ordered trees, where Key
// orders the nodes bytewise (maps, sets, indexes), and positional trees,
// where a node's place is its index and Key is unused (vectors).
type Node struct {
	Key, Val    []byte
	left, right *Node
	owner       *Edit // the edit that made the node, nil when none
	height      int8
	size        int
}

// Edit is a transient edit: a run of updates (one Apply batch) that may
// change the nodes it made itself in place instead of copying them
// again. Nodes made before the edit, so every node reachable from a root
// published or captured before it, are never changed. A nil *Edit is a
// fully persistent update: every changed node is a copy.
//
// An edit must be used by one goroutine, and only while no root made
// during it has been handed to anyone else: make a new Edit for every
// batch, after the previous batch's root was published.
type Edit struct{ _ byte } // not zero-sized, so that every Edit is distinct

// node returns a node holding the given fields: n itself, changed in
// place, when e made it, else a new node of e's.
func (e *Edit) node(n *Node, key, val []byte, l, r *Node) *Node {
	h, size := max(height(l), height(r))+1, l.Len()+r.Len()+1
	if e != nil && n != nil && n.owner == e {
		n.Key, n.Val, n.left, n.right, n.height, n.size = key, val, l, r, h, size
		return n
	}
	return &Node{Key: key, Val: val, left: l, right: r, owner: e, height: h, size: size}
}

// Len is the number of nodes in the tree rooted at n.
func (n *Node) Len() int {
	if n == nil {
		return 0
	}
	return n.size
}

func height(n *Node) int8 {
	if n == nil {
		return 0
	}
	return n.height
}

// balance builds the node (key, val, l, r), in place of n when e made
// n, rotating once or twice when the heights of l and r differ by two
// (the most an insert or delete below a balanced node leaves). Rotated
// nodes are rebuilt through e too. Arguments are evaluated before each
// node is changed, so the reads below see the old fields.
func balance(e *Edit, n *Node, key, val []byte, l, r *Node) *Node {
	hl, hr := height(l), height(r)
	switch {
	case hl > hr+1:
		if height(l.left) >= height(l.right) {
			inner := e.node(n, key, val, l.right, r)
			return e.node(l, l.Key, l.Val, l.left, inner)
		}
		lr := l.right
		left := e.node(l, l.Key, l.Val, l.left, lr.left)
		right := e.node(n, key, val, lr.right, r)
		return e.node(lr, lr.Key, lr.Val, left, right)
	case hr > hl+1:
		if height(r.right) >= height(r.left) {
			inner := e.node(n, key, val, l, r.left)
			return e.node(r, r.Key, r.Val, inner, r.right)
		}
		rl := r.left
		left := e.node(n, key, val, l, rl.left)
		right := e.node(r, r.Key, r.Val, rl.right, r.right)
		return e.node(rl, rl.Key, rl.Val, left, right)
	}
	return e.node(n, key, val, l, r)
}

// join builds a tree of l's nodes, then r's, when every key of l sorts
// before every key of r (or, in a positional tree, l comes first).
func join(e *Edit, l, r *Node) *Node {
	if l == nil {
		return r
	}
	if r == nil {
		return l
	}
	first, rest := popFirst(e, r)
	return joinWith(e, first, first.Key, first.Val, l, rest)
}

// joinWith builds l, (key, val), r for trees of any heights; the middle
// node is x, in place, when e made x (x is then no longer in any tree).
func joinWith(e *Edit, x *Node, key, val []byte, l, r *Node) *Node {
	hl, hr := height(l), height(r)
	switch {
	case hl > hr+1:
		return balance(e, l, l.Key, l.Val, l.left, joinWith(e, x, key, val, l.right, r))
	case hr > hl+1:
		return balance(e, r, r.Key, r.Val, joinWith(e, x, key, val, l, r.left), r.right)
	}
	return e.node(x, key, val, l, r)
}

// popFirst returns the first node and the tree without it; n is not nil.
func popFirst(e *Edit, n *Node) (first, rest *Node) {
	if n.left == nil {
		return n, n.right
	}
	first, l := popFirst(e, n.left)
	return first, balance(e, n, n.Key, n.Val, l, n.right)
}

// Get returns the value stored under key in an ordered tree.
func Get(n *Node, key []byte) ([]byte, bool) {
	for n != nil {
		switch c := bytes.Compare(key, n.Key); {
		case c < 0:
			n = n.left
		case c > 0:
			n = n.right
		default:
			return n.Val, true
		}
	}
	return nil, false
}

// Put stores val under key in an ordered tree and returns the new root;
// added is false when key was there already (its value is replaced).
func Put(e *Edit, n *Node, key, val []byte) (root *Node, added bool) {
	if n == nil {
		return e.node(nil, key, val, nil, nil), true
	}
	switch c := bytes.Compare(key, n.Key); {
	case c < 0:
		l, added := Put(e, n.left, key, val)
		return balance(e, n, n.Key, n.Val, l, n.right), added
	case c > 0:
		r, added := Put(e, n.right, key, val)
		return balance(e, n, n.Key, n.Val, n.left, r), added
	default:
		return e.node(n, key, val, n.left, n.right), false
	}
}

// Delete removes key from an ordered tree and returns the new root (n
// itself when key is absent) and whether it was there.
func Delete(e *Edit, n *Node, key []byte) (root *Node, found bool) {
	if n == nil {
		return nil, false
	}
	switch c := bytes.Compare(key, n.Key); {
	case c < 0:
		l, found := Delete(e, n.left, key)
		if !found {
			return n, false
		}
		return balance(e, n, n.Key, n.Val, l, n.right), true
	case c > 0:
		r, found := Delete(e, n.right, key)
		if !found {
			return n, false
		}
		return balance(e, n, n.Key, n.Val, n.left, r), true
	default:
		return join(e, n.left, n.right), true
	}
}

// Rank is the number of keys of an ordered tree that sort before key.
func Rank(n *Node, key []byte) int {
	rank := 0
	for n != nil {
		if bytes.Compare(key, n.Key) <= 0 {
			n = n.left
		} else {
			rank += n.left.Len() + 1
			n = n.right
		}
	}
	return rank
}

// At returns the i-th node (0-based, in order) or nil when i is out of
// range. It serves both kinds of tree.
func At(n *Node, i int) *Node {
	if i < 0 || i >= n.Len() {
		return nil
	}
	for n != nil {
		l := n.left.Len()
		switch {
		case i < l:
			n = n.left
		case i > l:
			i -= l + 1
			n = n.right
		default:
			return n
		}
	}
	return nil
}

// InsertAt inserts val at position i (0 <= i <= Len) of a positional tree.
func InsertAt(e *Edit, n *Node, i int, val []byte) *Node {
	if n == nil {
		return e.node(nil, nil, val, nil, nil)
	}
	if l := n.left.Len(); i <= l {
		return balance(e, n, n.Key, n.Val, InsertAt(e, n.left, i, val), n.right)
	} else {
		return balance(e, n, n.Key, n.Val, n.left, InsertAt(e, n.right, i-l-1, val))
	}
}

// DeleteAt removes position i (0 <= i < Len) of a tree.
func DeleteAt(e *Edit, n *Node, i int) *Node {
	l := n.left.Len()
	switch {
	case i < l:
		return balance(e, n, n.Key, n.Val, DeleteAt(e, n.left, i), n.right)
	case i > l:
		return balance(e, n, n.Key, n.Val, n.left, DeleteAt(e, n.right, i-l-1))
	default:
		return join(e, n.left, n.right)
	}
}

// SetAt replaces the value at position i (0 <= i < Len) of a tree.
func SetAt(e *Edit, n *Node, i int, val []byte) *Node {
	l := n.left.Len()
	switch {
	case i < l:
		return e.node(n, n.Key, n.Val, SetAt(e, n.left, i, val), n.right)
	case i > l:
		return e.node(n, n.Key, n.Val, n.left, SetAt(e, n.right, i-l-1, val))
	default:
		return e.node(n, n.Key, val, n.left, n.right)
	}
}

// Prefix returns the tree of the first k nodes (0 <= k <= Len).
func Prefix(e *Edit, n *Node, k int) *Node {
	if n == nil || k <= 0 {
		return nil
	}
	if k >= n.size {
		return n
	}
	l := n.left.Len()
	switch {
	case k <= l:
		return Prefix(e, n.left, k)
	default:
		return joinWith(e, nil, n.Key, n.Val, n.left, Prefix(e, n.right, k-l-1))
	}
}

// Ascend calls fn on the nodes from position from on, in order, until fn
// returns false.
func Ascend(n *Node, from int, fn func(*Node) bool) bool {
	if n == nil {
		return true
	}
	l := n.left.Len()
	if from < l && !Ascend(n.left, from, fn) {
		return false
	}
	if from <= l && !fn(n) {
		return false
	}
	return Ascend(n.right, max(0, from-l-1), fn)
}

// Descend calls fn on the nodes in reverse order until fn returns false.
func Descend(n *Node, fn func(*Node) bool) bool {
	if n == nil {
		return true
	}
	return Descend(n.right, fn) && fn(n) && Descend(n.left, fn)
}

// Build returns a balanced tree of the given nodes' keys and values, in
// the order given, in O(len(items)).
func Build(items []KV) *Node {
	if len(items) == 0 {
		return nil
	}
	mid := len(items) / 2
	var persistent *Edit
	return persistent.node(nil, items[mid].Key, items[mid].Val, Build(items[:mid]), Build(items[mid+1:]))
}

// KV is one key and value.
type KV struct{ Key, Val []byte }

package chaos

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"
)

// Input is an operation as the linearizability model sees it: an append
// of Value to Key, or a read of Key.
type Input struct {
	Append bool
	Key    string
	Value  int64
}

// Output is what a read returned (nil for appends, whose only output is
// that they happened).
type Output struct {
	List []int64
}

// node is one cell of an immutable list: the model's state must never be
// changed in place (porcupine keeps old states), and sharing the tail
// makes an append O(1).
type node struct {
	prev *node
	v    int64
	n    int    // length of the list ending here
	h    uint64 // hash of the list ending here
}

func push(l *node, v int64) *node {
	var h uint64
	n := 0
	if l != nil {
		h, n = l.h, l.n
	}
	return &node{prev: l, v: v, n: n + 1, h: mix(h*31 + uint64(v) + 0x9e3779b97f4a7c15)}
}

// mix is splitmix64's finalizer: a cheap, well-spread hash step.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func length(l *node) int {
	if l == nil {
		return 0
	}
	return l.n
}

func fromSlice(vs []int64) *node {
	var l *node
	for _, v := range vs {
		l = push(l, v)
	}
	return l
}

// endsWith reports whether vs ends with the values of l.
func endsWith(vs []int64, l *node) bool {
	if len(vs) < length(l) {
		return false
	}
	for i := len(vs) - 1; l != nil; i, l = i-1, l.prev {
		if vs[i] != l.v {
			return false
		}
	}
	return true
}

func sameList(a, b *node) bool {
	for a != b {
		if a == nil || b == nil || a.n != b.n || a.h != b.h || a.v != b.v {
			return false
		}
		a, b = a.prev, b.prev
	}
	return true
}

func toSlice(l *node) []int64 {
	out := make([]int64, length(l))
	for i := len(out) - 1; l != nil; i, l = i-1, l.prev {
		out[i] = l.v
	}
	return out
}

// register is the model's state for one key: the list of values appended.
// An open register continues a prefix the model does not know (the state
// a re-formed genesis inherited): a read may show any values before the
// known ones, and the first read fixes them.
type register struct {
	open bool
	list *node
}

// stepRegister is the sequential specification of one key.
func stepRegister(s register, in Input, out Output) (bool, register) {
	if in.Append {
		return true, register{open: s.open, list: push(s.list, in.Value)}
	}
	if !s.open {
		return length(s.list) == len(out.List) && endsWith(out.List, s.list), s
	}
	if !endsWith(out.List, s.list) {
		return false, s
	}
	return true, register{list: fromSlice(out.List)}
}

// Model returns the porcupine model of the KV machine, partitioned by key.
// With open set, every key starts from an unknown prefix (a genesis that
// did not start empty); otherwise from the empty list.
func Model(open bool) porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() any { return register{open: open} },
		Step: func(state, input, output any) (bool, any) {
			out, _ := output.(Output)
			return stepRegister(state.(register), input.(Input), out)
		},
		Equal: func(a, b any) bool {
			x, y := a.(register), b.(register)
			return x.open == y.open && sameList(x.list, y.list)
		},
		Hash: func(state any) uint64 {
			s := state.(register)
			if s.list == nil {
				return 0
			}
			return s.list.h
		},
		DescribeOperation: describeOperation,
		DescribeState: func(state any) string {
			s := state.(register)
			text := brief(toSlice(s.list))
			if s.open {
				return "[…] + " + text
			}
			return text
		},
		DescribeOperationMetadata: func(info any) string {
			if info == nil {
				return ""
			}
			return fmt.Sprint(info)
		},
	}
}

func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	var keys []string
	for _, op := range history {
		k := op.Input.(Input).Key
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], op)
	}
	slices.Sort(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

func describeOperation(input, output any) string {
	in := input.(Input)
	if in.Append {
		return fmt.Sprintf("append(%s, %d)", in.Key, in.Value)
	}
	out, _ := output.(Output)
	return fmt.Sprintf("read(%s) -> %s", in.Key, brief(out.List))
}

// brief shows a list's length and its last few values.
func brief(vs []int64) string {
	const tail = 4
	parts := make([]string, 0, tail)
	for _, v := range vs[max(0, len(vs)-tail):] {
		parts = append(parts, fmt.Sprint(v))
	}
	prefix := ""
	if len(vs) > tail {
		prefix = "…, "
	}
	return fmt.Sprintf("%d:[%s%s]", len(vs), prefix, strings.Join(parts, ", "))
}

package chaos

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func TestStepRegister(t *testing.T) {
	closed := register{list: fromSlice([]int64{1, 2})}
	open := register{open: true, list: fromSlice([]int64{7})}
	tests := []struct {
		name string
		s    register
		in   Input
		out  Output
		ok   bool
		want []int64
		open bool
	}{
		{"append", closed, Input{Append: true, Value: 3}, Output{}, true, []int64{1, 2, 3}, false},
		{"read the list", closed, Input{}, Output{List: []int64{1, 2}}, true, []int64{1, 2}, false},
		{"read a shorter list", closed, Input{}, Output{List: []int64{1}}, false, nil, false},
		{"read a reordered list", closed, Input{}, Output{List: []int64{2, 1}}, false, nil, false},
		{"read an extra value", closed, Input{}, Output{List: []int64{1, 2, 3}}, false, nil, false},
		{"empty register reads empty", register{}, Input{}, Output{List: []int64{}}, true, nil, false},
		{"open: append keeps it open", open, Input{Append: true, Value: 8}, Output{}, true, []int64{7, 8}, true},
		{"open: a read fixes the prefix", open, Input{}, Output{List: []int64{4, 5, 7}}, true, []int64{4, 5, 7}, false},
		{"open: read without our value", open, Input{}, Output{List: []int64{4, 5}}, false, nil, false},
		{"open: read with our value not last", open, Input{}, Output{List: []int64{7, 4}}, false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, next := stepRegister(tt.s, tt.in, tt.out)
			if ok != tt.ok {
				t.Fatalf("step ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got := toSlice(next.list); len(got) != len(tt.want) || (len(got) > 0 && !sameList(next.list, fromSlice(tt.want))) {
				t.Fatalf("state %v, want %v", got, tt.want)
			}
			if next.open != tt.open {
				t.Fatalf("open = %v, want %v", next.open, tt.open)
			}
		})
	}
}

// TestStepRegisterDoesNotChangeItsInput: porcupine keeps old states, so
// a step must build a new one.
func TestStepRegisterDoesNotChangeItsInput(t *testing.T) {
	s := register{list: fromSlice([]int64{1})}
	stepRegister(s, Input{Append: true, Value: 2}, Output{})
	stepRegister(s, Input{Append: true, Value: 3}, Output{})
	if got := toSlice(s.list); len(got) != 1 || got[0] != 1 {
		t.Fatalf("state changed to %v", got)
	}
}

func op(client int, in Input, out []int64, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Output: Output{List: out}, Call: call, Return: ret}
}

// TestModelFindsViolations runs the checker on small histories: the
// model must accept linearizable ones and reject the classic anomalies.
func TestModelFindsViolations(t *testing.T) {
	a1 := Input{Append: true, Key: "k", Value: 1}
	a2 := Input{Append: true, Key: "k", Value: 2}
	read := Input{Key: "k"}
	tests := []struct {
		name string
		open bool
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"sequential", false, []porcupine.Operation{op(0, a1, nil, 0, 10), op(1, read, []int64{1}, 20, 30)}, porcupine.Ok},
		{"concurrent appends in either order", false, []porcupine.Operation{
			op(0, a1, nil, 0, 10), op(1, a2, nil, 0, 10), op(2, read, []int64{2, 1}, 20, 30),
		}, porcupine.Ok},
		{"stale read after an acknowledged write", false, []porcupine.Operation{
			op(0, a1, nil, 0, 10), op(1, read, []int64{}, 20, 30),
		}, porcupine.Illegal},
		{"lost write", false, []porcupine.Operation{
			op(0, a1, nil, 0, 10), op(0, a2, nil, 11, 20), op(1, read, []int64{2}, 30, 40),
		}, porcupine.Illegal},
		{"reads disagree on order", false, []porcupine.Operation{
			op(0, a1, nil, 0, 10), op(1, a2, nil, 0, 10),
			op(2, read, []int64{1, 2}, 20, 30), op(3, read, []int64{2, 1}, 40, 50),
		}, porcupine.Illegal},
		{"a read goes back in time", false, []porcupine.Operation{
			op(0, a1, nil, 0, 100), op(1, read, []int64{1}, 10, 20), op(2, read, []int64{}, 30, 40),
		}, porcupine.Illegal},
		{"an unacknowledged append may show up late", false, []porcupine.Operation{
			op(0, a1, nil, 0, 1000), op(1, read, []int64{}, 10, 20), op(2, read, []int64{1}, 30, 40),
		}, porcupine.Ok},
		{"an unacknowledged append may never show up", false, []porcupine.Operation{
			op(0, a1, nil, 0, 1000), op(1, read, []int64{}, 10, 20),
		}, porcupine.Ok},
		{"open genesis: inherited values before ours", true, []porcupine.Operation{
			op(0, a1, nil, 0, 10), op(1, read, []int64{9, 8, 1}, 20, 30), op(2, read, []int64{9, 8, 1}, 40, 50),
		}, porcupine.Ok},
		{"open genesis: the prefix must not change", true, []porcupine.Operation{
			op(1, read, []int64{9}, 20, 30), op(2, read, []int64{8}, 40, 50),
		}, porcupine.Illegal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(Model(tt.open), tt.ops); got != (tt.want == porcupine.Ok) {
				t.Fatalf("linearizable = %v, want %v", got, tt.want == porcupine.Ok)
			}
		})
	}
}

func TestPartitionByKey(t *testing.T) {
	ops := []porcupine.Operation{
		{Input: Input{Key: "b"}}, {Input: Input{Key: "a"}}, {Input: Input{Key: "b"}},
	}
	parts := partitionByKey(ops)
	if len(parts) != 2 || len(parts[0]) != 1 || len(parts[1]) != 2 || parts[0][0].Input.(Input).Key != "a" {
		t.Fatalf("partitions %v", parts)
	}
}

func TestBrief(t *testing.T) {
	for _, tt := range []struct {
		in   []int64
		want string
	}{
		{nil, "0:[]"},
		{[]int64{1, 2}, "2:[1, 2]"},
		{[]int64{1, 2, 3, 4, 5}, "5:[…, 2, 3, 4, 5]"},
	} {
		if got := brief(tt.in); got != tt.want {
			t.Errorf("brief(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

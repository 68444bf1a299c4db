package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/groups"
)

func readOf(g groups.Genesis, weak bool, list []int64, start, end time.Duration) call {
	return call{Call: Call{Input: Input{Key: "k"}, Genesis: g, Weak: weak}, Returned: g, Outcome: Done, Output: Output{List: list}, Start: start, End: end}
}

func writeOf(v int64, out Outcome, start, end time.Duration) call {
	return call{Call: Call{Input: Input{Append: true, Key: "k", Value: v}}, Outcome: out, Start: start, End: end}
}

func TestCheckStates(t *testing.T) {
	g1, g2 := genesis(1), genesis(2)
	writes := []call{writeOf(1, Done, 0, 10), writeOf(2, Done, 20, 30), writeOf(3, Indefinite, 40, 0), writeOf(4, Dropped, 50, 51)}
	tests := []struct {
		name  string
		reads []call
		weak  int
		want  string // a violation containing this, or "" for none
	}{
		{"stale weak reads are states of the log", []call{
			readOf(g1, true, []int64{}, 100, 101), readOf(g1, true, []int64{1}, 100, 101),
			readOf(g1, false, []int64{1, 2, 3}, 100, 110), readOf(g1, true, []int64{1, 2}, 120, 121),
		}, 3, ""},
		{"each genesis is its own log", []call{
			readOf(g1, true, []int64{1, 2}, 100, 101), readOf(g2, true, []int64{2, 1}, 100, 101),
		}, 2, ""},
		{"a read whose genesis changed is left out", []call{
			readOf(g1, true, []int64{1, 2}, 100, 101),
			{Call: Call{Input: Input{Key: "k"}, Genesis: g1, Weak: true}, Returned: g2, Outcome: Done, Output: Output{List: []int64{2, 1}}, Start: 100, End: 101},
		}, 1, ""},
		{"reordered", []call{
			readOf(g1, false, []int64{1, 2}, 100, 110), readOf(g1, true, []int64{2, 1}, 120, 121),
		}, 1, "show no single log"},
		{"a value lost between reads", []call{
			readOf(g1, true, []int64{1, 2}, 100, 101), readOf(g1, false, []int64{2}, 120, 130),
		}, 1, "show no single log"},
		{"a value nobody wrote", []call{readOf(g1, true, []int64{1, 9}, 100, 101)}, 1, "shows 9, which no possibly applied append wrote"},
		{"a refused write's value", []call{readOf(g1, true, []int64{1, 2, 4}, 100, 101)}, 1, "shows 4, which no possibly applied append wrote"},
		{"a value from the future", []call{readOf(g1, true, []int64{1, 2}, 12, 15)}, 1, "shows 2, whose append began at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			weak, violations := checkStates(append(append([]call{}, writes...), tt.reads...))
			if weak != tt.weak {
				t.Errorf("checked %d weak reads, want %d", weak, tt.weak)
			}
			switch {
			case tt.want == "" && len(violations) > 0:
				t.Errorf("violations %q", violations)
			case tt.want != "" && (len(violations) != 1 || !strings.Contains(violations[0], tt.want)):
				t.Errorf("violations %q, want one with %q", violations, tt.want)
			}
		})
	}
}

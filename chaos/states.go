package chaos

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/groups"
)

// checkStates checks what reads showed against the log they read, weak
// reads above all, which the linearizability check leaves out. A weak
// read may be stale, but it shows a state the member's copy held, and a
// member's copy is always a prefix of its genesis's log (a member
// applies only committed entries, in log order). So, per genesis and
// key, the lists the reads returned (weak and strong, the final reads
// included) must be prefixes of one another; and a weak read may hold no
// value that no possibly applied append wrote, nor one whose append
// began only after the read returned. A read whose member changed
// genesis during the call is left out: which log it read is unclear.
//
// It returns how many weak reads it checked, and one line per violation
// (for the ordering, at most one per genesis and key).
func checkStates(cs []call) (weak int, violations []string) {
	// When each append that might have taken effect began.
	began := map[Input]time.Duration{}
	for _, c := range cs {
		if c.Append && c.Outcome != Dropped {
			if t, ok := began[c.Input]; !ok || c.Start < t {
				began[c.Input] = c.Start
			}
		}
	}
	type log struct {
		genesis groups.Genesis
		key     string
	}
	reads := map[log][]call{}
	for _, c := range cs {
		if c.Append || c.Outcome != Done || c.Genesis.IsZero() || c.Returned != c.Genesis {
			continue
		}
		l := log{c.Genesis, c.Key}
		reads[l] = append(reads[l], c)
		if !c.Weak {
			continue // the linearizability check covers its values
		}
		weak++
		for _, v := range c.Output.List {
			t, ok := began[Input{Append: true, Key: c.Key, Value: v}]
			switch {
			case !ok:
				violations = append(violations, fmt.Sprintf("%s shows %d, which no possibly applied append wrote", describeRead(c), v))
			case t > c.End:
				violations = append(violations, fmt.Sprintf("%s shows %d, whose append began at %.3fs, after the read returned", describeRead(c), v, t.Seconds()))
			}
		}
	}
	logs := slices.SortedFunc(maps.Keys(reads), func(a, b log) int {
		return cmp.Or(a.genesis.Compare(b.genesis), cmp.Compare(a.key, b.key))
	})
	for _, l := range logs {
		rs := reads[l]
		slices.SortStableFunc(rs, func(a, b call) int { return cmp.Compare(len(a.Output.List), len(b.Output.List)) })
		for i := 1; i < len(rs); i++ {
			shorter, longer := rs[i-1].Output.List, rs[i].Output.List
			if !slices.Equal(shorter, longer[:len(shorter)]) {
				violations = append(violations, fmt.Sprintf("reads of %s in genesis %s show no single log: %s shows %s, %s shows %s",
					l.key, l.genesis.Short(), describeRead(rs[i-1]), brief(shorter), describeRead(rs[i]), brief(longer)))
				break
			}
		}
	}
	return weak, violations
}

// describeRead names a read for a violation: its kind, member and time.
func describeRead(c call) string {
	kind := "strong read"
	switch {
	case c.Final:
		kind = "final read"
	case c.Weak:
		kind = "weak read"
	}
	return fmt.Sprintf("%s of %s through member %d at %.3fs", kind, c.Key, c.Member, c.Start.Seconds())
}

package groups

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// lowHigh returns two peer ids with lo < hi.
func lowHigh() (lo, hi id.PeerID) {
	lo, hi = id.SecretKeyFromSeed("x").PeerID(), id.SecretKeyFromSeed("y").PeerID()
	if hi.Less(lo) {
		lo, hi = hi, lo
	}
	return lo, hi
}

func TestDials(t *testing.T) {
	lo, hi := lowHigh()
	tests := []struct {
		name       string
		self, peer id.PeerID
		want       bool
	}{
		{"lower dials", lo, hi, true},
		{"higher accepts", hi, lo, false},
		{"never itself", lo, lo, false},
	}
	for _, tc := range tests {
		if got := Dials(tc.self, tc.peer); got != tc.want {
			t.Errorf("%s: Dials = %v, want %v", tc.name, got, tc.want)
		}
	}
	if Dials(lo, hi) == Dials(hi, lo) {
		t.Error("both or neither side dials")
	}
	if Preferred(lo, hi) != Outgoing || Preferred(hi, lo) != Incoming {
		t.Error("Preferred disagrees with Dials")
	}
}

// TestKeepArrivingBothSidesAgree plays every order in which the two sides
// may see two bonds complete and checks that each side keeps exactly one,
// and the same one.
func TestKeepArrivingBothSidesAgree(t *testing.T) {
	lo, hi := lowHigh()
	// A bond is named by who dialed it and, for redials, a serial.
	type bond struct {
		dialer id.PeerID
		serial int
	}
	dir := func(self id.PeerID, b bond) Direction {
		if b.dialer == self {
			return Outgoing
		}
		return Incoming
	}
	survivor := func(self, peer id.PeerID, first, second bond) bond {
		if KeepArriving(self, peer, dir(self, first), dir(self, second)) {
			return second
		}
		return first
	}
	byLo, byHi := bond{lo, 1}, bond{hi, 1}
	tests := []struct {
		name          string
		loSees        [2]bond // completion order at lo
		hiSees        [2]bond // completion order at hi
		want          bond
		wantDirection [2]Direction // survivor's direction at lo, at hi
	}{
		{"cross dial, same order", [2]bond{byLo, byHi}, [2]bond{byLo, byHi}, byLo, [2]Direction{Outgoing, Incoming}},
		{"cross dial, lo saw its own first", [2]bond{byLo, byHi}, [2]bond{byHi, byLo}, byLo, [2]Direction{Outgoing, Incoming}},
		{"cross dial, lo saw hi's first", [2]bond{byHi, byLo}, [2]bond{byLo, byHi}, byLo, [2]Direction{Outgoing, Incoming}},
		{"cross dial, both saw hi's first", [2]bond{byHi, byLo}, [2]bond{byHi, byLo}, byLo, [2]Direction{Outgoing, Incoming}},
		{"lo redialed", [2]bond{byLo, {lo, 2}}, [2]bond{byLo, {lo, 2}}, bond{lo, 2}, [2]Direction{Outgoing, Incoming}},
		{"hi redialed", [2]bond{byHi, {hi, 2}}, [2]bond{byHi, {hi, 2}}, bond{hi, 2}, [2]Direction{Incoming, Outgoing}},
	}
	for _, tc := range tests {
		atLo := survivor(lo, hi, tc.loSees[0], tc.loSees[1])
		atHi := survivor(hi, lo, tc.hiSees[0], tc.hiSees[1])
		if atLo != atHi {
			t.Errorf("%s: lo keeps %v, hi keeps %v", tc.name, atLo, atHi)
		}
		if atLo != tc.want {
			t.Errorf("%s: survivor %v, want %v", tc.name, atLo, tc.want)
		}
		if dir(lo, atLo) != tc.wantDirection[0] || dir(hi, atHi) != tc.wantDirection[1] {
			t.Errorf("%s: survivor directions %v/%v", tc.name, dir(lo, atLo), dir(hi, atHi))
		}
	}
}

func TestKeepArrivingTable(t *testing.T) {
	lo, hi := lowHigh()
	tests := []struct {
		self, peer         id.PeerID
		existing, arriving Direction
		want               bool
	}{
		{lo, hi, Outgoing, Incoming, false},
		{lo, hi, Incoming, Outgoing, true},
		{hi, lo, Outgoing, Incoming, true},
		{hi, lo, Incoming, Outgoing, false},
		{lo, hi, Outgoing, Outgoing, true},
		{lo, hi, Incoming, Incoming, true},
		{hi, lo, Outgoing, Outgoing, true},
		{hi, lo, Incoming, Incoming, true},
	}
	for _, tc := range tests {
		selfName := "lo"
		if tc.self == hi {
			selfName = "hi"
		}
		if got := KeepArriving(tc.self, tc.peer, tc.existing, tc.arriving); got != tc.want {
			t.Errorf("at %s, existing %v, arriving %v: keep arriving = %v, want %v", selfName, tc.existing, tc.arriving, got, tc.want)
		}
	}
}

func TestDirectionString(t *testing.T) {
	for d, want := range map[Direction]string{Outgoing: "outgoing", Incoming: "incoming", 0: "unknown", 9: "unknown"} {
		if d.String() != want {
			t.Errorf("Direction(%d) = %q, want %q", d, d.String(), want)
		}
	}
}

// TestHeartbeat runs scripts: "H" is a frame heard, "T" a tick. The
// expected output lists per tick "p" (ping, alive) or "d" (dead).
func TestHeartbeat(t *testing.T) {
	tests := []struct {
		name      string
		maxMissed int
		script    string
		want      string
	}{
		{"silent peer dies after maxMissed ticks", 3, "TTTT", "ppdd"},
		{"a frame per period keeps it alive", 3, "HTHTHTHTHT", "ppppp"},
		{"hearing resets the count", 3, "TTHTTTT", "pppppd"},
		{"a frame heard just before dying saves it", 3, "TTHTT", "pppp"},
		{"many frames count once", 2, "HHHHTTT", "ppd"},
		{"one heartbeat of slack", 2, "TT", "pd"},
		{"maxMissed 1 dies on the first silent tick", 1, "HTT", "pd"},
		{"maxMissed below 1 means 1", 0, "T", "d"},
		{"negative means 1", -5, "HTT", "pd"},
		{"dead is final", 2, "TTHTHT", "pddd"},
		{"frames before any tick count for the first period", 10, "HT", "p"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHeartbeat(tc.maxMissed)
			var got strings.Builder
			for _, step := range tc.script {
				switch step {
				case 'H':
					h.Heard()
				case 'T':
					ping, dead := h.Tick()
					switch {
					case ping && !dead:
						got.WriteByte('p')
					case dead && !ping:
						got.WriteByte('d')
					default:
						t.Fatalf("Tick() = ping %v, dead %v", ping, dead)
					}
					if dead != h.Dead() {
						t.Fatalf("Dead() = %v after Tick said %v", h.Dead(), dead)
					}
				}
			}
			if got.String() != tc.want {
				t.Fatalf("script %s: got %s, want %s", tc.script, got.String(), tc.want)
			}
		})
	}
}

func TestHeartbeatSilent(t *testing.T) {
	h := NewHeartbeat(5)
	h.Tick()
	h.Tick()
	if h.Silent() != 2 {
		t.Fatalf("Silent() = %d after two silent ticks", h.Silent())
	}
	h.Heard()
	if h.Silent() != 0 {
		t.Fatalf("Silent() = %d right after a frame", h.Silent())
	}
	h.Tick()
	if h.Silent() != 0 {
		t.Fatalf("Silent() = %d after a period with a frame", h.Silent())
	}
}

func TestNextHeartbeat(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name             string
		interval, jitter time.Duration
		r                float64
		want             time.Duration
	}{
		{"no jitter drawn", 500 * ms, 150 * ms, 0, 500 * ms},
		{"half", 500 * ms, 150 * ms, 0.5, 425 * ms},
		{"almost all", 500 * ms, 150 * ms, 0.999999, 350*ms + 150},
		{"all", 500 * ms, 150 * ms, 1, 350 * ms},
		{"r below 0 is 0", 500 * ms, 150 * ms, -3, 500 * ms},
		{"r above 1 is 1", 500 * ms, 150 * ms, 7, 350 * ms},
		{"NaN is 0", 500 * ms, 150 * ms, math.NaN(), 500 * ms},
		{"zero jitter", 100 * ms, 0, 0.7, 100 * ms},
		{"jitter as long as the interval still ticks", 100 * ms, 100 * ms, 1, time.Millisecond},
		{"zero interval still ticks", 0, 0, 0, time.Millisecond},
	}
	for _, tc := range tests {
		if got := NextHeartbeat(tc.interval, tc.jitter, tc.r); got != tc.want {
			t.Errorf("%s: NextHeartbeat = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Every draw of a valid config falls in (interval-jitter, interval].
	c := DefaultConsensus()
	for i := range 1000 {
		r := float64(i) / 1000
		d := NextHeartbeat(c.HeartbeatInterval, c.HeartbeatJitter, r)
		if d > c.HeartbeatInterval || d <= c.HeartbeatInterval-c.HeartbeatJitter {
			t.Fatalf("r=%v: %v outside (%v, %v]", r, d, c.HeartbeatInterval-c.HeartbeatJitter, c.HeartbeatInterval)
		}
	}
}

func TestDialBackoff(t *testing.T) {
	base := time.Second
	for _, tc := range []struct {
		failures     int
		bondedBefore bool
		want         time.Duration
	}{
		{0, false, 0}, {-1, false, 0}, {0, true, 0},
		// Never bonded: doubling, at most 8 x base.
		{1, false, time.Second}, {2, false, 2 * time.Second}, {3, false, 4 * time.Second},
		{4, false, 8 * time.Second}, {5, false, 8 * time.Second}, {1000, false, 8 * time.Second},
		// Bonded before: a member cut off for a while, retried every base.
		{1, true, time.Second}, {5, true, time.Second}, {1000, true, time.Second},
	} {
		if got := DialBackoff(tc.failures, base, tc.bondedBefore); got != tc.want {
			t.Errorf("DialBackoff(%d, 1s, %v) = %v, want %v", tc.failures, tc.bondedBefore, got, tc.want)
		}
	}
	for _, bonded := range []bool{false, true} {
		if got := DialBackoff(3, 2*MaxDialBackoff, bonded); got != MaxDialBackoff {
			t.Errorf("a base above the cap (bonded before: %v): %v", bonded, got)
		}
	}
}

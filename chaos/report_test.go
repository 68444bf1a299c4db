package chaos

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample(at, latency time.Duration, out Outcome) Sample {
	return Sample{At: at, Latency: latency, Append: true, Outcome: out}
}

func TestQuantile(t *testing.T) {
	var ss []Sample
	for i := 1; i <= 100; i++ {
		ss = append(ss, sample(0, time.Duration(i)*time.Millisecond, Done))
	}
	ss = append(ss, sample(0, time.Hour, Indefinite))
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0.001, time.Millisecond}} {
		if got := Quantile(ss, tt.q, Completed); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := Quantile(nil, 0.5, Completed); got != 0 {
		t.Errorf("Quantile of nothing = %v", got)
	}
}

func TestSeedList(t *testing.T) {
	for _, tt := range []struct {
		in   []int64
		want string
	}{{[]int64{1}, "1"}, {[]int64{3, 1, 2}, "1-3"}, {[]int64{1, 2, 4, 6, 7}, "1-2, 4, 6-7"}, {[]int64{5, 5}, "5"}} {
		if got := seedList(tt.in); got != tt.want {
			t.Errorf("seedList(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKeptPart(t *testing.T) {
	kept := keptBegin + "\nby hand\n" + keptEnd
	for _, tt := range []struct{ name, old, want string }{
		{"none", "# Report\n", ""},
		{"kept", "# Report\n\n" + kept + "\ntrailing\n", kept},
		{"unterminated", "# Report\n" + keptBegin + "\nby hand\n", ""},
	} {
		if got := KeptPart(tt.old); got != tt.want {
			t.Errorf("%s: KeptPart = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestGrowth(t *testing.T) {
	flat := []Checkpoint{{Goroutines: 900, Heap: 300 << 20}, {Goroutines: 400, Heap: 40 << 20}, {Goroutines: 410, Heap: 42 << 20}, {Goroutines: 405, Heap: 41 << 20}, {Goroutines: 402, Heap: 43 << 20}}
	if v := growth(flat); len(v) != 0 {
		t.Fatalf("flat footprint judged %v", v)
	}
	leaking := []Checkpoint{{}, {Goroutines: 400, Heap: 40 << 20}, {Goroutines: 500, Heap: 60 << 20}, {Goroutines: 600, Heap: 90 << 20}}
	if v := growth(leaking); len(v) != 2 {
		t.Fatalf("growing footprint judged %v, want goroutines and heap", v)
	}
}

// TestReportAndPlot renders a report with a scenario table and a soak,
// and a plot, from fixed results.
func TestReportAndPlot(t *testing.T) {
	rounds := []Result{
		{Scenario: "leader-kill", Seed: 1, Strict: true, Done: 10, Dropped: 2, Indefinite: 1, Acked: 7,
			Samples: []Sample{sample(time.Second, 3*time.Millisecond, Done), sample(2*time.Second, 2*time.Second, Indefinite)}},
		{Scenario: "lossy-links", Seed: 1, Strict: true, Done: 5, Acked: 4, Violations: []string{"lost write: boom"},
			Samples: []Sample{sample(5*time.Second, 8*time.Millisecond, Done)}},
	}
	soak := &SoakReport{
		Options:     SoakOptions{Options: Options{Seed: 1, Strict: true, Clients: 8, Keys: 8, ReadFraction: 0.3}, Members: 5, Rate: 100, Quiet: time.Second, Faults: []string{"leader-kill", "lossy-links"}},
		Duration:    10 * time.Second,
		Rounds:      rounds,
		Checkpoints: []Checkpoint{{At: 3 * time.Second, Goroutines: 500, Heap: 30 << 20}, {At: 6 * time.Second, Goroutines: 510, Heap: 31 << 20}},
	}
	r := Report{
		Command:   "go run ./chaos/cmd/soak -duration 10s",
		Generated: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Platform:  "test",
		Scenarios: []Result{
			{Scenario: "leader-kill", Seed: 1, Strict: true, Done: 9, Dropped: 2, Indefinite: 1, Checked: 8, WeakChecked: 1, Acked: 3,
				Progress: Progress{Before: 30, During: 12, After: 20, Strong: 9, Weak: 6}, Want: Progress{Before: 5, During: 5, After: 5, Strong: 5, Weak: 5}},
			{Scenario: "leader-kill", Seed: 2, Strict: true, Done: 1, Checked: 1, Acked: 4,
				Progress: Progress{Before: 31, During: 5, After: 40, Strong: 7, Weak: 8}, Want: Progress{Before: 5, During: 5, After: 5, Strong: 5, Weak: 5},
				Waited: Waits{During: 1500 * time.Millisecond}},
			{Scenario: "rival-geneses", Seed: 1, Discarded: 2, Progress: Progress{CutOff: 4}, Want: Progress{CutOff: 3}},
		},
		Soak: soak,
		Plot: "reliability/latency.png",
		Kept: keptBegin + "\n## By hand\n\nfigures\n" + keptEnd,
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"GENERATED", "`go run ./chaos/cmd/soak -duration 10s`", "**Violations found: 1.**",
		"| leader-kill | StrictQuorum | 1-2 | 10 | 2 | 1 | 9 | 1 | 7 | 0 | 0 | 0 |",
		"| rival-geneses | availability-first | 1 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 2 | 0 |",
		"| leader-kill | StrictQuorum | 30 / 5 | 5 / 5 | 0 / — | 20 / 5 | 7 / 5 | 6 / 5 | 0 / — | 0 / — | during 1.5 s |",
		"| rival-geneses | availability-first | 0 / — | 0 / — | 4 / 3 | 0 / — | 0 / — | 0 / — | 0 / — | 0 / — | none |",
		"| calls done | 15 |", "| calls dropped (never applied) | 2 |", "| calls of unknown outcome (timed out) | 1 |",
		"| writes acknowledged | 11 |", "| writes lost | 0 |",
		"## By hand\n\nfigures\n" + keptEnd,
		"![latency over time across the faults](reliability/latency.png)",
		"lossy-links (StrictQuorum, seed 1): lost write: boom",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if got := KeptPart(md); got != r.Kept {
		t.Errorf("the hand-written part reads back as %q, want %q", got, r.Kept)
	}
	path := filepath.Join(t.TempDir(), "plot", "latency.png")
	marks := []Mark{{At: 500 * time.Millisecond, What: "fault: leader-kill"}, {At: 4 * time.Second, What: "recovered"}}
	if err := PlotLatency(path, Latencies(rounds), marks, "test"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("plot is not a PNG (%v)", err)
	}
}

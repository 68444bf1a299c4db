package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/bench"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

func TestParseGoal(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		atMost bool
		bound  float64
	}{
		{"<= 2.5", true, true, 2.5},
		{">= 0.9", true, false, 0.9},
		{"<=1.1", true, true, 1.1},
		{" ≤ 0.25 ", true, true, 0.25},
		{"≥ 1", true, false, 1},
		{"n/a", false, false, 0},
		{"", false, false, 0},
		{"<= fast", false, false, 0},
		{"<= NaN", false, false, 0},
		{"< 2", false, false, 0},
		{"p50 <= 1.0", false, false, 0},
	}
	for _, tt := range tests {
		g, ok := parseGoal(tt.in)
		if ok != tt.ok || g.atMost != tt.atMost || g.bound != tt.bound {
			t.Errorf("parseGoal(%q) = %+v, %v; want atMost %v bound %v, %v", tt.in, g, ok, tt.atMost, tt.bound, tt.ok)
		}
	}
}

func TestMetCell(t *testing.T) {
	tests := []struct {
		goal  string
		ratio float64
		want  string
	}{
		{"<= 1.1", 0.95, "yes"},
		{"<= 1.1", 1.1, "yes"},
		{"<= 1.1", 1.2, "**no**"},
		{">= 0.9", 0.95, "yes"},
		{">= 0.9", 0.5, "**no**"},
		{"n/a", 3, "–"},
	}
	for _, tt := range tests {
		r := bench.Result{Spec: bench.Spec{Goal: tt.goal}, Ratio: tt.ratio}
		if got := metCell(r); got != tt.want {
			t.Errorf("goal %q, ratio %v: %q, want %q", tt.goal, tt.ratio, got, tt.want)
		}
	}
}

func TestIDOrder(t *testing.T) {
	ids := []string{"B12", "X1", "B2f", "B10", "B2", "B1", "B8", "Bz"}
	runs := []bench.Run{{Machine: machine(0)}}
	for _, id := range ids {
		runs[0].Results = append(runs[0].Results, result(id, "x", ""))
	}
	var got []string
	for _, f := range families(runs) {
		got = append(got, f.id)
	}
	want := []string{"B1", "B2", "B2f", "B8", "B10", "B12", "Bz", "X1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestFigures(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{figure(10767.4), "10767"},
		{figure(955.2), "955"},
		{figure(12.345), "12.3"},
		{figure(0.4567), "0.457"},
		{ratioText(19.307), "19.31"},
		{ratioText(0.955), "0.95"},
		{ratioText(0.0421), "0.042"},
		{cell("a|b\nc"), `a\|b c`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}

// machine is a test machine whose run ended day days after a fixed date.
func machine(day int) bench.Machine {
	return bench.Machine{
		CPU: "Test CPU", Cores: 2, GOMAXPROCS: 2, Go: "go1.26.8", Platform: "linux/amd64",
		Date: time.Date(2026, 1, 1+day, 12, 0, 0, 0, time.UTC),
	}
}

// result is a result with two rounds of ratios 1 and 3.
func result(id, name, variant string) bench.Result {
	return bench.Summarize(bench.Spec{ID: id, Name: name, Variant: variant, Baseline: "base of " + id, Unit: "ms", Goal: "<= 2.5", Fsync: "n/a"},
		[]bench.Pair{{Ours: 10, Base: 10}, {Ours: 30, Base: 10}})
}

func TestMerge(t *testing.T) {
	old := []bench.Run{
		{Machine: machine(0), Results: []bench.Result{result("B4", "c", "lan"), result("B4", "c", "fast")}},
		{Machine: machine(1), Results: []bench.Result{result("B10", "h", "actor")}},
	}
	added := bench.Run{Machine: machine(2), Results: []bench.Result{result("B10", "h", "actor"), result("B4", "c", "fast")}}
	got := merge(old, added)
	if len(got) != 2 {
		t.Fatalf("%d runs, want 2 (the emptied one dropped): %+v", len(got), got)
	}
	if !got[0].Machine.Date.Equal(machine(0).Date) || len(got[0].Results) != 1 || got[0].Results[0].Variant != "lan" {
		t.Errorf("first run %+v, want day 0 with only B4 lan", got[0])
	}
	if !got[1].Machine.Date.Equal(machine(2).Date) || len(got[1].Results) != 2 {
		t.Errorf("second run %+v, want the added one", got[1])
	}
	if len(old[0].Results) != 2 || len(old) != 2 {
		t.Error("merge modified its input")
	}
	if again := merge(got, added); len(again) != 2 || len(again[1].Results) != 2 {
		t.Errorf("merging the same run again: %+v", again)
	}
}

func TestReplaceBlock(t *testing.T) {
	block := beginLine + "\n\nnew\n\n" + endMarker + "\n"
	tests := []struct {
		name, page, want string
		err              bool
	}{
		{"replaced", "# P\n\nintro\n\n" + beginMarker + " old -->\nold table\n" + endMarker + "\n\n## Notes\n", "# P\n\nintro\n\n" + block + "\n## Notes\n", false},
		{"at the end without newline", "# P\n" + beginMarker + " -->\nx\n" + endMarker, "# P\n" + block, false},
		{"no markers", "# P\n\ntext\n", "", true},
		{"no end", "# P\n" + beginMarker + " -->\n", "", true},
		{"end before begin", endMarker + "\n" + beginMarker + " -->\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceBlock(tt.page, block)
			if tt.err {
				if !errors.Is(err, errNoMarkers) {
					t.Fatalf("err %v, want errNoMarkers", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRenderBlock(t *testing.T) {
	runs := []bench.Run{
		{Machine: machine(1), Results: []bench.Result{result("B12", "failure/detect", "bond/fast")}},
		{Machine: machine(0), Results: []bench.Result{result("B4", "discovery/converge-50", "lan")}},
	}
	runs[0].Results[0].Goal = "<= 1.1"
	got := renderBlock(runs, func(id string) string { return "perf/" + id + ".png" })
	for _, want := range []string{
		beginLine, endMarker, acrossMachines,
		"| ID | name | variant | ours | base | unit | ratio | goal | met? | GOMAXPROCS | fsync | rounds |",
		"| B4 | discovery/converge-50 | lan | 20 | 10 | ms | 2.00 | <= 2.5 | yes | 2 | n/a | 2 |",
		"| B12 | failure/detect | bond/fast | 20 | 10 | ms | 2.00 | <= 1.1 | **no** | 2 | n/a | 2 |",
		"- 2026-01-01 12:00 UTC: Test CPU, 2 cores (GOMAXPROCS 2), go1.26.8 linux/amd64: B4\n- 2026-01-02 12:00 UTC: Test CPU",
		"### B12 failure/detect", "Baseline: base of B12.",
		"![B4: ratio ours/base per round, goal dashed](perf/B4.png)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("block lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "| B4 ") > strings.Index(got, "| B12 ") {
		t.Error("B12 listed before B4")
	}
	if empty := renderBlock(nil, nil); !strings.Contains(empty, "No results yet") || !strings.HasSuffix(empty, endMarker+"\n") {
		t.Errorf("empty block: %q", empty)
	}
}

func TestPlotFamily(t *testing.T) {
	wide := result("B11", "bond/establish", "join-waits")
	wide.Goal = "n/a"
	wide.Pairs = []bench.Pair{{Ours: 750, Base: 10}, {Ours: 20, Base: 10}, {Ours: 800, Base: 10}}
	tests := []struct {
		name string
		f    family
	}{
		{"linear", family{id: "B4", results: []bench.Result{result("B4", "c", "lan"), result("B4", "c", "fast")}}},
		{"log scale, several goals", family{id: "B11", results: []bench.Result{result("B11", "bond/establish", "bond"), wide}}},
		{"one round", family{id: "B12", results: []bench.Result{bench.Summarize(bench.Spec{ID: "B12", Name: "d", Goal: "<= 1.1"}, []bench.Pair{{Ours: 9, Base: 10}})}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.png")
			if err := plotFamily(tt.f, path); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatalf("%s is not a PNG", path)
			}
		})
	}
	bad := result("B4", "c", "lan")
	bad.Pairs = []bench.Pair{{Ours: 1, Base: 0}}
	if err := plotFamily(family{id: "B4", results: []bench.Result{bad}}, filepath.Join(t.TempDir(), "p.png")); err == nil {
		t.Error("an infinite ratio plotted without error")
	}
}

func TestRoundTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		want     string
	}{
		{0.8, 3.2, "1 2 3"},
		{0.3, 1.7, "1"},
		{0.8, 25.2, "1 4 7 10 13 16 19 22 25"},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range roundTicks(tt.min, tt.max) {
			got = append(got, tk.Label)
		}
		if s := strings.Join(got, " "); s != tt.want {
			t.Errorf("roundTicks(%v, %v) = %s, want %s", tt.min, tt.max, s, tt.want)
		}
	}
}

func TestPlotFile(t *testing.T) {
	for in, want := range map[string]string{"B4": "B4.png", "B2f": "B2f.png", "../x y": "___x_y.png"} {
		if got := plotFile(in); got != want {
			t.Errorf("plotFile(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRun drives the command end to end in a temporary directory: a first
// run creates the store and the page, a later one keeps the hand-written
// text around the block, and a run without -add only re-renders.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	c := config{
		store: filepath.Join(dir, "docs", "perf", "results.json"),
		out:   filepath.Join(dir, "docs", "performance.md"),
		plots: filepath.Join(dir, "docs", "perf"),
	}
	writeRun := func(name string, run bench.Run) string {
		path := filepath.Join(dir, name)
		var buf bytes.Buffer
		if err := bench.WriteRun(&buf, run); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	c.add = []string{writeRun("a.json", bench.Run{Machine: machine(0), Results: []bench.Result{result("B4", "c", "lan"), result("B10", "h", "actor")}})}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(c.out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(page), "# Performance\n\n"+beginLine) || !strings.Contains(string(page), "](perf/B10.png)") {
		t.Fatalf("new page:\n%s", page)
	}
	for _, png := range []string{"B4.png", "B10.png"} {
		if _, err := os.Stat(filepath.Join(c.plots, png)); err != nil {
			t.Error(err)
		}
	}

	// Hand-written text around the block survives; B10 is replaced.
	edited := "# Performance\n\nIntro.\n\n" + string(page)[len("# Performance\n\n"):] + "\n## Notes\n\nKept.\n"
	if err := os.WriteFile(c.out, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	newer := result("B10", "h", "actor")
	newer.Ratio = 7
	c.add = []string{writeRun("b.json", bench.Run{Machine: machine(3), Results: []bench.Result{newer}})}
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	page, _ = os.ReadFile(c.out)
	for _, want := range []string{"Intro.\n\n" + beginLine, endMarker + "\n\n## Notes\n\nKept.\n", "| B10 | h | actor | 20 | 10 | ms | 7.00 |", "| B4 | c | lan |", "2026-01-04 12:00 UTC"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	var store []bench.Run
	b, err := os.ReadFile(c.store)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &store); err != nil || len(store) != 2 {
		t.Fatalf("store: %v, %d runs, want 2", err, len(store))
	}
	if !strings.Contains(string(b), `"goal": "<= 2.5"`) {
		t.Error(`store escapes "<=" in goals`)
	}

	// Without -add: the store is untouched and the page comes out the same.
	c.add = nil
	if err := run(c); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(c.out)
	if string(again) != string(page) {
		t.Error("re-rendering changed the page")
	}
	if b2, _ := os.ReadFile(c.store); string(b2) != string(b) {
		t.Error("re-rendering changed the store")
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := config{store: filepath.Join(dir, "store.json"), out: filepath.Join(dir, "p.md"), plots: dir}
	tests := []struct {
		name string
		edit func(*config)
		want string
	}{
		{"old array format", func(c *config) { c.add = []string{write("old.json", `[{"id":"B4"}]`)} }, "want one object"},
		{"no results", func(c *config) {
			c.add = []string{write("empty.json", `{"machine":{"date":"2026-01-01T00:00:00Z"},"results":[]}`)}
		}, "no results"},
		{"no machine", func(c *config) { c.add = []string{write("nomachine.json", `{"results":[{"id":"B4","name":"x"}]}`)} }, "no machine"},
		{"missing run", func(c *config) { c.add = []string{filepath.Join(dir, "nope.json")} }, "no such file"},
		{"bad store", func(c *config) { c.store = write("bad-store.json", `{`) }, "results store"},
		{"page without markers", func(c *config) {
			c.add = []string{write("ok.json", `{"machine":{"date":"2026-01-01T00:00:00Z"},"results":[{"id":"B4","name":"x","pairs":[{"ours":1,"base":1}]}]}`)}
			c.store = filepath.Join(dir, "fresh-store.json")
			c.out = write("plain.md", "# Plain\n")
		}, "no generated block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			err := run(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	var stderr bytes.Buffer
	c, err := parseFlags([]string{"-in", "s.json", "-add", "a.json", "-add", "b.json", "-out", "p.md", "-plots", "img"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.store != "s.json" || strings.Join(c.add, ",") != "a.json,b.json" || c.out != "p.md" || c.plots != "img" {
		t.Errorf("config %+v", c)
	}
	if _, err := parseFlags([]string{"stray"}, &stderr); err == nil {
		t.Error("a stray argument was accepted")
	}
	if c, _ := parseFlags(nil, &stderr); c.store != "docs/perf/results.json" || c.out != "docs/performance.md" || c.plots != "docs/perf" {
		t.Errorf("defaults %+v", c)
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		min, max float64
		labels   string
		ticks    int
	}{
		{0.9, 35, "1 2 5 10 20", 13},
		{0.04, 0.6, "0.05 0.1 0.2 0.5", 12},
	}
	for _, tt := range tests {
		var labels []string
		got := logTicks(tt.min, tt.max)
		for _, tk := range got {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
			if tk.Value < tt.min || tk.Value > tt.max {
				t.Errorf("logTicks(%v, %v): tick %v out of range", tt.min, tt.max, tk.Value)
			}
		}
		if s := strings.Join(labels, " "); s != tt.labels || len(got) != tt.ticks {
			t.Errorf("logTicks(%v, %v) = %s (%d ticks), want %s (%d)", tt.min, tt.max, s, len(got), tt.labels, tt.ticks)
		}
	}
}

func TestYRange(t *testing.T) {
	tests := []struct {
		name           string
		lo, hi         float64
		rows           int
		log            bool
		wantLo, wantHi float64
	}{
		{"linear", 0.7, 1.1, 2, false, 0.668, 1.1 + 0.4*0.26},
		{"linear, clamped at 0", 0.01, 10, 1, false, 0, 10 + 9.99*0.17},
		{"flat", 2, 2, 1, false, 1.984, 2 + 0.2*0.17},
		{"log", 1, 100, 1, true, math.Pow(10, -0.16), math.Pow(10, 2+2*0.17)},
	}
	for _, tt := range tests {
		lo, hi := yRange(tt.lo, tt.hi, tt.rows, tt.log)
		if math.Abs(lo-tt.wantLo) > 1e-9 || math.Abs(hi-tt.wantHi) > 1e-9 {
			t.Errorf("%s: [%v, %v], want [%v, %v]", tt.name, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

func TestBaselines(t *testing.T) {
	spec := func(variant, baseline string) bench.Result {
		return bench.Result{Spec: bench.Spec{Variant: variant, Baseline: baseline}}
	}
	tests := []struct {
		name    string
		results []bench.Result
		want    string
	}{
		{"shared", []bench.Result{spec("a", "chan"), spec("b", "chan")}, "chan"},
		{"each its own", []bench.Result{spec("bond/fast", "1 s"), spec("catalog/fast", "1.2 s"), spec("bond/default", "5 s")}, "`bond/fast`: 1 s; `catalog/fast`: 1.2 s; `bond/default`: 5 s"},
		{"grouped", []bench.Result{spec("a", "x"), spec("b", "y"), spec("c", "x")}, "`a`, `c`: x; `b`: y"},
		{"no variants", []bench.Result{spec("", "x"), spec("", "y")}, "x; y"},
		{"none", []bench.Result{spec("a", "")}, ""},
	}
	for _, tt := range tests {
		if got := baselines(tt.results); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

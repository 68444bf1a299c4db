package main

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mosaikgo/mosaik/bench"
)

// The generated block's first and last lines. Only their prefixes are
// looked for, so the begin line may say more.
const (
	beginMarker = "<!-- BEGIN bench/report"
	endMarker   = "<!-- END bench/report -->"
	beginLine   = beginMarker + ": generated from the results store by bench/run.sh; edits between these markers are overwritten -->"
)

// errNoMarkers is returned for a page without the generated block's
// markers: the renderer never guesses where the block belongs.
var errNoMarkers = errors.New("no generated block")

// acrossMachines is the reminder printed above every table.
const acrossMachines = "Only the ratios compare across machines and runs. The absolute " +
	"figures (ours, base) depend on the machine and on its load at the time; " +
	"they are there for orientation."

// goal is a parsed goal on a ratio, such as "<= 2.5".
type goal struct {
	atMost bool // "<=": lower is better; otherwise ">="
	bound  float64
}

// parseGoal parses "<= x" or ">= x" (also with ≤ or ≥). Anything else,
// "n/a" included, is no goal.
func parseGoal(s string) (goal, bool) {
	s = strings.TrimSpace(s)
	var g goal
	switch {
	case strings.HasPrefix(s, "<="):
		g.atMost, s = true, s[len("<="):]
	case strings.HasPrefix(s, "≤"):
		g.atMost, s = true, s[len("≤"):]
	case strings.HasPrefix(s, ">="):
		s = s[len(">="):]
	case strings.HasPrefix(s, "≥"):
		s = s[len("≥"):]
	default:
		return goal{}, false
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return goal{}, false
	}
	g.bound = v
	return g, true
}

// met reports whether ratio meets g.
func (g goal) met(ratio float64) bool {
	if g.atMost {
		return ratio <= g.bound
	}
	return ratio >= g.bound
}

func (g goal) String() string {
	op := ">="
	if g.atMost {
		op = "<="
	}
	return op + " " + strconv.FormatFloat(g.bound, 'g', -1, 64)
}

// metCell is the "met?" column: yes, no, or a dash when the result has
// no goal.
func metCell(r bench.Result) string {
	g, ok := parseGoal(r.Goal)
	switch {
	case !ok:
		return "–"
	case g.met(r.Ratio):
		return "yes"
	default:
		return "**no**"
	}
}

// figure prints v with three significant digits, never in exponent form.
func figure(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// ratioText prints a ratio with two decimals, three below 0.1.
func ratioText(v float64) string {
	if math.Abs(v) < 0.1 {
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// idOrder sorts benchmark ids the way the plan lists them: by number,
// then suffix (B2 before B2f before B10); ids of another shape after.
func idOrder(a, b string) int {
	na, sa, oka := splitID(a)
	nb, sb, okb := splitID(b)
	switch {
	case oka && okb:
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(sa, sb))
	case oka:
		return -1
	case okb:
		return 1
	}
	return cmp.Compare(a, b)
}

// splitID splits "B2f" into 2 and "f".
func splitID(id string) (int, string, bool) {
	if !strings.HasPrefix(id, "B") {
		return 0, "", false
	}
	digits := strings.TrimLeft(id[1:], "0123456789")
	n, err := strconv.Atoi(id[1 : len(id)-len(digits)])
	if err != nil {
		return 0, "", false
	}
	return n, digits, true
}

// family is one benchmark id's results, in the order they were added.
type family struct {
	id      string
	results []bench.Result
}

// families groups the store's results by id, ids in plan order.
func families(runs []bench.Run) []family {
	var out []family
	at := map[string]int{}
	for _, run := range runs {
		for _, r := range run.Results {
			i, ok := at[r.ID]
			if !ok {
				i = len(out)
				at[r.ID] = i
				out = append(out, family{id: r.ID})
			}
			out[i].results = append(out[i].results, r)
		}
	}
	slices.SortStableFunc(out, func(a, b family) int { return idOrder(a.id, b.id) })
	return out
}

// renderBlock renders the generated block, markers included. plotLink
// gives the image path for a family's plot, relative to the page; ""
// leaves the plot out.
func renderBlock(runs []bench.Run, plotLink func(id string) string) string {
	var b strings.Builder
	b.WriteString(beginLine + "\n\n")
	if len(runs) == 0 {
		b.WriteString("No results yet: run `bench/run.sh`.\n\n" + endMarker + "\n")
		return b.String()
	}
	b.WriteString(acrossMachines + "\n\n")
	writeMachines(&b, runs)
	fams := families(runs)
	writeTable(&b, fams)
	for _, f := range fams {
		writeFamily(&b, f, plotLink(f.id))
	}
	b.WriteString(endMarker + "\n")
	return b.String()
}

// writeMachines describes each run's machine and date, newest last.
func writeMachines(b *strings.Builder, runs []bench.Run) {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(x, y bench.Run) int { return x.Machine.Date.Compare(y.Machine.Date) })
	line := func(r bench.Run) string {
		m := r.Machine
		var ids []string
		for _, f := range families([]bench.Run{r}) {
			ids = append(ids, f.id)
		}
		load := ""
		if m.Load != "" {
			load = ", load average " + m.Load + " at the end"
		}
		return fmt.Sprintf("%s: %s, %d cores (GOMAXPROCS %d), %s %s%s: %s",
			m.Date.UTC().Format("2006-01-02 15:04 UTC"), m.CPU, m.Cores, m.GOMAXPROCS, m.Go, m.Platform, load, strings.Join(ids, ", "))
	}
	if len(sorted) == 1 {
		b.WriteString("**Measured** " + line(sorted[0]) + ".\n\n")
		return
	}
	b.WriteString("**Measured** in these runs:\n\n")
	for _, r := range sorted {
		b.WriteString("- " + line(r) + "\n")
	}
	b.WriteString("\n")
}

func writeTable(b *strings.Builder, fams []family) {
	b.WriteString("| ID | name | variant | ours | base | unit | ratio | goal | met? | GOMAXPROCS | fsync | rounds |\n")
	b.WriteString("|---|---|---|---:|---:|---|---:|---|---|---:|---|---:|\n")
	for _, f := range fams {
		for _, r := range f.results {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %d |\n",
				r.ID, cell(r.Name), cell(r.Variant), figure(r.Ours), figure(r.Base), cell(r.Unit),
				ratioText(r.Ratio), cell(r.Goal), metCell(r), r.GOMAXPROCS, cell(r.Fsync), r.Rounds)
		}
	}
	b.WriteString("\n")
}

// writeFamily writes one family's heading, its baselines and its plot.
func writeFamily(b *strings.Builder, f family, plot string) {
	fmt.Fprintf(b, "### %s %s\n\n", f.id, cell(f.results[0].Name))
	if text := baselines(f.results); text != "" {
		b.WriteString("Baseline: " + text + ".\n\n")
	}
	if plot != "" {
		fmt.Fprintf(b, "![%s: ratio ours/base per round, goal dashed](%s)\n\n", f.id, plot)
	}
}

// baselines describes a family's baselines: once if its variants share
// one, else each with the variants it serves.
func baselines(results []bench.Result) string {
	var texts []string
	variants := map[string][]string{}
	for _, r := range results {
		text := cell(r.Baseline)
		if text == "" {
			continue
		}
		if _, seen := variants[text]; !seen {
			texts = append(texts, text)
		}
		if r.Variant != "" {
			variants[text] = append(variants[text], "`"+cell(r.Variant)+"`")
		} else if variants[text] == nil {
			variants[text] = []string{}
		}
	}
	if len(texts) == 1 {
		return texts[0]
	}
	parts := make([]string, len(texts))
	for i, text := range texts {
		parts[i] = text
		if vs := variants[text]; len(vs) > 0 {
			parts[i] = strings.Join(vs, ", ") + ": " + text
		}
	}
	return strings.Join(parts, "; ")
}

// cell makes s safe inside a table cell: no pipes, no line breaks.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", "").Replace(s)
}

// replaceBlock puts block in place of the generated block of page. A
// page without both markers, in order, is an error.
func replaceBlock(page, block string) (string, error) {
	begin := strings.Index(page, beginMarker)
	if begin < 0 {
		return "", fmt.Errorf("%w: the page has no line starting with %q", errNoMarkers, beginMarker)
	}
	end := strings.Index(page[begin:], endMarker)
	if end < 0 {
		return "", fmt.Errorf("%w: the page has %q but no %q after it", errNoMarkers, beginMarker, endMarker)
	}
	end += begin + len(endMarker)
	if end < len(page) && page[end] == '\n' {
		end++
	}
	return page[:begin] + block + page[end:], nil
}

// newPage is the page created when none exists yet.
func newPage(block string) string { return "# Performance\n\n" + block }

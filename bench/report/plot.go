package main

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/mosaikgo/mosaik/bench"
)

// Plot size: wide enough for a legend of four variants beside the
// lines, small enough to sit in a page.
const (
	plotWidth  = 16 * vg.Centimeter
	plotHeight = 9 * vg.Centimeter
)

// logSpan is the spread of ratios (largest over smallest) above which a
// plot's y axis is logarithmic.
const logSpan = 20

// goalColor draws the goal lines.
var goalColor = color.Gray{Y: 96}

// plotFamily draws one family's ratios per round, one line per variant,
// with each distinct goal as a dashed horizontal line, and saves it as a
// PNG at path.
func plotFamily(f family, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s %s: ratio ours/base per round", f.id, f.results[0].Name)
	p.X.Label.Text = "round"
	p.Y.Label.Text = "ratio"
	p.Legend.Top = true
	p.Legend.Left = true
	p.X.Tick.Marker = plot.TickerFunc(roundTicks)

	rounds := 0
	var ratios []float64
	for _, r := range f.results {
		rounds = max(rounds, len(r.Pairs))
		for _, pr := range r.Pairs {
			ratios = append(ratios, pr.Ratio())
		}
	}
	if len(ratios) == 0 {
		return fmt.Errorf("plot %s: no rounds recorded", f.id)
	}
	for _, v := range ratios {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("plot %s: ratio %v is not a positive finite number", f.id, v)
		}
	}
	var goals []goal
	for _, r := range f.results {
		if g, ok := parseGoal(r.Goal); ok && !slices.Contains(goals, g) {
			goals = append(goals, g)
			ratios = append(ratios, g.bound)
		}
	}
	logScale := slices.Max(ratios)/slices.Min(ratios) > logSpan
	if logScale {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.TickerFunc(logTicks)
		p.Y.Label.Text = "ratio (log scale)"
	}
	p.Legend.TextStyle.Font.Size = vg.Points(9)

	for i, r := range f.results {
		xys := make(plotter.XYs, len(r.Pairs))
		for j, pr := range r.Pairs {
			xys[j] = plotter.XY{X: float64(j + 1), Y: pr.Ratio()}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", f.id, err)
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(legendName(r), line, points)
	}
	xmin, xmax := 1.0, float64(rounds)
	if rounds == 1 {
		xmin, xmax = 0.5, 1.5
	}
	for i, g := range goals {
		line, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: g.bound}, {X: xmax, Y: g.bound}})
		if err != nil {
			return fmt.Errorf("plot %s: goal: %w", f.id, err)
		}
		line.Color = goalColor
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(3 + 2*float64(i))}
		p.Add(line)
		p.Legend.Add("goal "+g.String(), line)
	}
	p.X.Min, p.X.Max = xmin-0.2, xmax+0.2
	p.Y.Min, p.Y.Max = yRange(slices.Min(ratios), slices.Max(ratios), len(f.results)+len(goals), logScale)
	if err := p.Save(plotWidth, plotHeight, path); err != nil {
		return fmt.Errorf("plot %s: %w", f.id, err)
	}
	return nil
}

// legendName names a variant in a legend; a family without variants uses
// its name.
func legendName(r bench.Result) string {
	if r.Variant != "" {
		return r.Variant
	}
	return r.Name
}

// roundTicks labels whole rounds only, at most about ten of them.
func roundTicks(min, max float64) []plot.Tick {
	lo, hi := math.Ceil(min), math.Floor(max)
	step := math.Max(1, math.Ceil((hi-lo+1)/10))
	var ticks []plot.Tick
	for v := lo; v <= hi; v += step {
		if v >= 1 {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
		}
	}
	return ticks
}

// yRange pads the data range [lo, hi] of a plot's y axis: a little below
// and above, and more above for a legend of legendRows rows, which sits
// at the top left. On a log scale the padding is in decades.
func yRange(lo, hi float64, legendRows int, logScale bool) (min, max float64) {
	below, above := 0.08, 0.08+math.Min(0.8, 0.09*float64(legendRows))
	if logScale {
		llo, lhi := math.Log10(lo), math.Log10(hi)
		span := math.Max(lhi-llo, 0.1)
		return math.Pow(10, llo-below*span), math.Pow(10, lhi+above*span)
	}
	span := hi - lo
	if span <= 0 {
		span = math.Max(math.Abs(hi)*0.1, 0.1)
	}
	return math.Max(0, lo-below*span), hi + above*span
}

// logTicks labels 1, 2 and 5 times each power of ten in [min, max], and
// marks the other integer multiples unlabelled.
func logTicks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for exp := math.Floor(math.Log10(min)); math.Pow(10, exp) <= max; exp++ {
		for m := 1; m <= 9; m++ {
			// m·10^exp parsed from decimal, so 6 x 0.1 is 0.6 exactly.
			v, err := strconv.ParseFloat(fmt.Sprintf("%de%d", m, int(exp)), 64)
			if err != nil || v < min || v > max {
				continue
			}
			label := ""
			if m == 1 || m == 2 || m == 5 {
				label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: label})
		}
	}
	return ticks
}

package chaos

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Latencies collects the samples of rounds, in time order.
func Latencies(rounds []Result) []Sample {
	var out []Sample
	for _, r := range rounds {
		out = append(out, r.Samples...)
	}
	slices.SortFunc(out, func(a, b Sample) int { return int(a.At - b.At) })
	return out
}

// Quantile returns the q-quantile (0 < q <= 1) of the latencies of the
// samples that keep selects, or 0 if none does.
func Quantile(samples []Sample, q float64, keep func(Sample) bool) time.Duration {
	var ls []time.Duration
	for _, s := range samples {
		if keep(s) {
			ls = append(ls, s.Latency)
		}
	}
	if len(ls) == 0 {
		return 0
	}
	slices.Sort(ls)
	return ls[min(len(ls)-1, int(math.Ceil(q*float64(len(ls))))-1)]
}

// Completed selects the calls that returned (done, and dropped ones that
// failed fast): what a client waited for. Weak reads are left out: they
// answer from the member's copy at once, and would only dilute the
// latency of the calls that go through consensus.
func Completed(s Sample) bool { return s.Outcome != Indefinite && !s.Weak }

// bucketP99 is the 99th percentile latency of the completed calls that
// began in each window of width w.
func bucketP99(samples []Sample, w time.Duration) plotter.XYs {
	var out plotter.XYs
	for i := 0; i < len(samples); {
		start := samples[i].At / w * w
		j := i
		for j < len(samples) && samples[j].At < start+w {
			j++
		}
		if p := Quantile(samples[i:j], 0.99, Completed); p > 0 {
			out = append(out, plotter.XY{X: (start + w/2).Seconds(), Y: ms(p)})
		}
		i = j
	}
	return out
}

func ms(d time.Duration) float64 { return max(float64(d)/float64(time.Millisecond), 0.01) }

// PlotLatency draws every call's latency over time (weak reads left out,
// as in Completed), the 99th percentile per second, and a vertical line
// at each fault injected, as a PNG.
func PlotLatency(path string, samples []Sample, marks []Mark, title string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true

	var done, failed plotter.XYs
	top := 1.0
	for _, s := range samples {
		if s.Weak {
			continue
		}
		xy := plotter.XY{X: s.At.Seconds(), Y: ms(s.Latency)}
		top = max(top, xy.Y)
		if s.Outcome == Done {
			done = append(done, xy)
		} else {
			failed = append(failed, xy)
		}
	}
	if err := addScatter(p, done, "call", color.RGBA{R: 150, G: 150, B: 150, A: 255}, draw.CircleGlyph{}); err != nil {
		return err
	}
	if err := addScatter(p, failed, "failed or timed out", color.RGBA{R: 220, G: 60, B: 30, A: 255}, draw.CrossGlyph{}); err != nil {
		return err
	}
	if p99 := bucketP99(samples, time.Second); len(p99) > 1 {
		line, err := plotter.NewLine(p99)
		if err != nil {
			return fmt.Errorf("chaos: plot: %w", err)
		}
		line.Color, line.Width = color.RGBA{B: 200, A: 255}, vg.Points(1.2)
		p.Add(line)
		p.Legend.Add("p99 per second", line)
	}
	if err := addMarks(p, marks, top); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("chaos: plot: %w", err)
	}
	if err := p.Save(28*vg.Centimeter, 12*vg.Centimeter, path); err != nil {
		return fmt.Errorf("chaos: plot: %w", err)
	}
	return nil
}

func addScatter(p *plot.Plot, xys plotter.XYs, name string, c color.Color, shape draw.GlyphDrawer) error {
	if len(xys) == 0 {
		return nil
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("chaos: plot: %w", err)
	}
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(1), Shape: shape}
	p.Add(s)
	p.Legend.Add(name, s)
	return nil
}

// addMarks draws a red line at each fault and a green one where the run
// lifted the faults, labelled with the fault's first word.
func addMarks(p *plot.Plot, marks []Mark, top float64) error {
	var labels plotter.XYLabels
	for _, m := range marks {
		c, label := color.Color(nil), ""
		switch {
		case strings.HasPrefix(m.What, "fault: "):
			c, label = color.RGBA{R: 200, A: 255}, strings.TrimPrefix(m.What, "fault: ")
		case m.What == "recovered":
			c = color.RGBA{G: 150, A: 255}
		default:
			continue
		}
		x := m.At.Seconds()
		line, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0.01}, {X: x, Y: top}})
		if err != nil {
			return fmt.Errorf("chaos: plot: %w", err)
		}
		line.Color, line.Width = c, vg.Points(0.6)
		p.Add(line)
		if label != "" {
			labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: top})
			labels.Labels = append(labels.Labels, label)
		}
	}
	if len(labels.XYs) == 0 {
		return nil
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("chaos: plot: %w", err)
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Rotation = math.Pi / 2
		l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = draw.XRight, draw.YTop
		l.TextStyle[i].Color = color.RGBA{R: 160, A: 255}
	}
	p.Add(l)
	return nil
}

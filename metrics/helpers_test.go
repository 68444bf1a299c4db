package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mosaikgo/mosaik/metrics"
	"github.com/mosaikgo/mosaik/testkit"
)

func TestMain(m *testing.M) { testkit.VerifyTestMain(m) }

// families is one scrape or gather, by metric name.
type families map[string]*dto.MetricFamily

// gather reads a registry directly, without HTTP.
func gather(t testing.TB, g prometheus.Gatherer) families {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := families{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// client scrapes without keeping connections alive, so that no client
// goroutine outlives a test.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// scrape fetches and parses the text exposition served at addr.
func scrape(ctx context.Context, addr string) (families, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+metrics.Path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("scrape %s: %s: %s", addr, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: parse: %w", addr, err)
	}
	return mfs, nil
}

// value returns the value of the series name{labels...}, labels given as
// name, value pairs; a family without such a series reports false.
func (f families) value(name string, labels ...string) (float64, bool) {
	mf, ok := f[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if hasLabels(m, labels) {
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetUntyped() != nil:
				return m.GetUntyped().GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	// The network label is on every series of a node started by cluster;
	// tests name it only when they care.
	n := 0
	for _, l := range m.GetLabel() {
		if l.GetName() != "network" {
			n++
		}
	}
	if n != len(pairs)/2 && len(m.GetLabel()) != len(pairs)/2 {
		return false
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitScrape scrapes addr until check passes or ctx ends, and fails the
// test with check's last complaint.
func waitScrape(t testing.TB, ctx context.Context, addr string, check func(families) error) families {
	t.Helper()
	return waitFamilies(t, ctx, func() (families, error) { return scrape(ctx, addr) }, check)
}

// waitGather is waitScrape on a registry read directly.
func waitGather(t testing.TB, ctx context.Context, g prometheus.Gatherer, check func(families) error) families {
	t.Helper()
	return waitFamilies(t, ctx, func() (families, error) { return gather(t, g), nil }, check)
}

func waitFamilies(t testing.TB, ctx context.Context, read func() (families, error), check func(families) error) families {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		f, err := read()
		if err == nil {
			if err = check(f); err == nil {
				return f
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("metrics never got there: %v", err)
			return nil
		}
	}
}

// expect collects what one scrape gets wrong.
type expect struct {
	f    families
	errs []error
}

func newExpect(f families) *expect { return &expect{f: f} }

// eq expects the series to exist with value want.
func (e *expect) eq(want float64, name string, labels ...string) {
	if got, ok := e.f.value(name, labels...); !ok || got != want {
		e.errs = append(e.errs, fmt.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want))
	}
}

// atLeast expects the series to exist with a value of at least min.
func (e *expect) atLeast(min float64, name string, labels ...string) {
	if got, ok := e.f.value(name, labels...); !ok || got < min {
		e.errs = append(e.errs, fmt.Errorf("%s%v = %v (present %v), want at least %v", name, labels, got, ok, min))
	}
}

// absent expects no series name{labels...}.
func (e *expect) absent(name string, labels ...string) {
	if got, ok := e.f.value(name, labels...); ok {
		e.errs = append(e.errs, fmt.Errorf("%s%v = %v, want no such series", name, labels, got))
	}
}

func (e *expect) err() error { return errors.Join(e.errs...) }

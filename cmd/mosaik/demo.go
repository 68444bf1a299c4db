package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/rsm"
)

// demoConfig shapes a demo run.
type demoConfig struct {
	nodes     int
	rate      float64       // commands per second each node submits
	killAfter time.Duration // after the group is online; 0: kill nobody
	duration  time.Duration // of the workload, from the group being online
	network   string
	sample    time.Duration // how often the nodes are read
	window    time.Duration // of the rolling commits/s
	formWait  time.Duration // bound on the group coming online
	logger    *slog.Logger  // the nodes' Config.Logger; nil: cluster's default
	metrics   string        // node 0's Config.MetricsAddr; "" for none
}

func defaultDemoConfig() demoConfig {
	return demoConfig{
		nodes:     3,
		rate:      20,
		killAfter: 5 * time.Second,
		duration:  12 * time.Second,
		network:   "mosaik/demo",
		sample:    200 * time.Millisecond,
		window:    2 * time.Second,
		formWait:  30 * time.Second,
	}
}

func (c demoConfig) validate() error {
	switch {
	case c.nodes < 1:
		return fmt.Errorf("-n must be at least 1, got %d", c.nodes)
	case c.killAfter > 0 && c.nodes < 2:
		return errors.New("killing the leader needs at least 2 nodes (or -kill-after 0)")
	case c.rate <= 0:
		return fmt.Errorf("-rate must be positive, got %v", c.rate)
	case c.killAfter < 0:
		return fmt.Errorf("-kill-after must not be negative, got %v", c.killAfter)
	case c.duration <= c.killAfter:
		return fmt.Errorf("-duration (%v) must exceed -kill-after (%v) to show the failover", c.duration, c.killAfter)
	}
	return nil
}

func runDemo(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	cfg := defaultDemoConfig()
	fs.IntVar(&cfg.nodes, "n", cfg.nodes, "number of nodes")
	fs.Float64Var(&cfg.rate, "rate", cfg.rate, "commands per second each node submits")
	fs.DurationVar(&cfg.killAfter, "kill-after", cfg.killAfter, "kill the leader's node this long after the group is online (0: never)")
	fs.DurationVar(&cfg.duration, "duration", cfg.duration, "how long the workload runs, from the group being online")
	fs.StringVar(&cfg.network, "network", cfg.network, "network `name` of the demo's nodes")
	plain := fs.Bool("plain", false, "print lines instead of the live view, even on a terminal")
	interval := fs.Duration("interval", time.Second, "with plain output: how often to print the nodes' status")
	capture := fs.String("capture", "", "write the last frame of the live view, without colours, to `file`")
	fs.StringVar(&cfg.metrics, "metrics", "", "TCP `address` to serve the first node's Prometheus metrics on, at /metrics (default: none)")
	var logs logFlags
	logs.register(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	// The demo narrates the failover itself; the nodes' log (a leader
	// lost is a warning) only when asked for, and never over the live view.
	cfg.logger = slog.New(slog.DiscardHandler)
	if logs.explicit() && (!e.terminal || *plain) {
		cfg.logger = logs.logger(e.stderr)
	}
	if err := errors.Join(cfg.validate(), positiveDuration("interval", *interval)); err != nil {
		return badUsage(fs, err)
	}
	title := fmt.Sprintf("mosaik demo: %d nodes on 127.0.0.1 (QUIC, memberlist), a replicated counter, %g commands/s per node",
		cfg.nodes, cfg.rate)

	var (
		sum  summary
		last frame
		err  error
	)
	if e.terminal && !*plain {
		sum, last, err = demoLive(ctx, e, cfg, title)
	} else {
		fmt.Fprintln(e.stdout, title)
		p := &plainPrinter{w: e.stdout, interval: *interval}
		sum, last, err = demo(ctx, cfg, p.show)
	}
	if *capture != "" {
		view := liveView{st: plainStyles(), title: title, frame: last, done: true}.View()
		if werr := os.WriteFile(*capture, []byte(view), 0o644); werr != nil {
			err = errors.Join(err, fmt.Errorf("capture: %w", werr))
		}
	}
	if err != nil {
		return err
	}
	printSummary(e, sum)
	return nil
}

// demoLive runs the demo under the live view. The demo runs on its own
// goroutine and hands over frames; the view draws the latest one. ctrl+c
// (main's signal handling cancels ctx) stops the demo, and the view stays
// up while the nodes close.
func demoLive(ctx context.Context, e *env, cfg demoConfig, title string) (summary, frame, error) {
	view := liveView{st: newStyles(lipgloss.NewRenderer(e.stdout)), title: title, frame: frame{phase: "starting"}}
	scr := &screen{w: e.stdout, width: e.width}
	defer scr.close()
	scr.draw(view.View())

	latest := make(chan frame, 1) // the newest frame not drawn yet
	var (
		sum  summary
		last frame
		err  error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, last, err = demo(ctx, cfg, func(f frame) {
			select { // drop a frame not drawn yet: only the newest matters
			case <-latest:
			default:
			}
			latest <- f
		})
	}()
	stop := ctx.Done()
	for {
		select {
		case f := <-latest:
			view.frame = f
		case <-stop:
			stop = nil
			view.stopping = true
		case <-done:
			view.frame, view.done = last, true
			scr.draw(view.View())
			return sum, last, err
		}
		scr.draw(view.View())
	}
}

func printSummary(e *env, s summary) {
	if fo, ok := s.failover(); ok {
		fmt.Fprintf(e.stdout, "failover: %s killed at index %d, %s led from term %d after %s; index %d at the end\n",
			s.killed.Short(), s.killIndex, fo.peer.Short(), fo.term, round(fo.at-s.killAt), s.finalIndex)
	}
	fmt.Fprintf(e.stdout, "done: %d commands committed, %d refused; %d leader(s) seen\n", s.ok, s.failed, len(s.leaders))
}

// demoRun is one run of the demo: its nodes, and the tracker that turns
// what they show into frames.
type demoRun struct {
	cfg   demoConfig
	show  func(frame)
	nodes []*counterNode

	mu struct {
		sync.Mutex
		track *tracker
	}
}

// demo runs the whole scenario: start the nodes, form the group, drive
// the workload, kill the leader, keep going, close everything. show gets
// every frame. It returns what the run showed and the last frame; a run
// cut short by ctx is not an error.
func demo(ctx context.Context, cfg demoConfig, show func(frame)) (summary, frame, error) {
	if err := cfg.validate(); err != nil {
		return summary{}, frame{}, err
	}
	r := &demoRun{cfg: cfg, show: show}
	r.mu.track = newTracker(time.Now(), cfg.window)

	// The sampler reads r.nodes, so it starts once the list is complete.
	sampling, stopSampling := context.WithCancel(context.Background())
	var sampler sync.WaitGroup
	err := r.start(ctx)
	if err == nil {
		sampler.Go(func() { r.sampleEvery(sampling) })
		err = r.run(ctx)
	}
	stopSampling()
	sampler.Wait()

	r.phase("stopping: closing the nodes")
	r.sampleOnce()
	began := time.Now()
	closeErr := r.closeAll()
	r.note("all nodes closed in %s", round(time.Since(began)))
	r.phase("done")

	r.mu.Lock()
	last := r.mu.track.redraw(time.Now())
	sum := r.mu.track.summary()
	r.mu.Unlock()
	show(last)
	switch {
	case closeErr != nil:
		return sum, last, closeErr
	case ctx.Err() != nil:
		return sum, last, nil // stopped by the user: a clean end
	case err != nil:
		return sum, last, err
	}
	return sum, last, sum.check()
}

// run waits for the group, starts the workload and plays the scenario.
// The workload has ended when it returns.
func (r *demoRun) run(ctx context.Context) error {
	if err := r.formGroup(ctx); err != nil {
		return err
	}
	online := time.Now()
	var workload sync.WaitGroup
	for _, n := range r.nodes {
		wctx, stop := context.WithCancel(ctx)
		n.stop = stop
		workload.Go(func() { n.drive(wctx, r.cfg.rate) })
	}
	err := r.scenario(ctx, online)
	for _, n := range r.nodes {
		n.stop()
	}
	workload.Wait()
	r.count()
	return err
}

// start brings the nodes up, node 0 as the seed of the others, and joins
// each to the counter group. It does not wait on the network.
func (r *demoRun) start(ctx context.Context) error {
	for i := range r.cfg.nodes {
		cfg := cluster.Config{
			Network:   r.cfg.network,
			DataDir:   cluster.InMemory,
			Discovery: discovery.FastConfig(),
			Logger:    r.cfg.logger,
		}
		if i > 0 {
			cfg.Bootstrap = []string{r.nodes[0].node.GossipAddr()}
		} else {
			cfg.MetricsAddr = r.cfg.metrics
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return fmt.Errorf("start node %d: %w", i, err)
		}
		dn := &counterNode{node: node, stop: func() {}}
		r.nodes = append(r.nodes, dn)
		g, err := rsm.Join(ctx, node, counterConfig(defaultGroupSecret))
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		dn.group = g
	}
	r.note("%d nodes started, seed %s", len(r.nodes), r.nodes[0].node.GossipAddr())
	return nil
}

// formGroup waits until every member is online: its replica runs and it
// knows the leader.
func (r *demoRun) formGroup(ctx context.Context) error {
	r.phase("forming the group")
	ctx, cancel := context.WithTimeout(ctx, r.cfg.formWait)
	defer cancel()
	for _, n := range r.nodes {
		if err := n.group.When().Online(ctx); err != nil {
			return fmt.Errorf("waiting for %s to come online: %w", n.node.PeerID().Short(), err)
		}
	}
	r.note("group online on all %d nodes", len(r.nodes))
	return nil
}

// scenario waits out the run, killing the leader on the way.
func (r *demoRun) scenario(ctx context.Context, online time.Time) error {
	r.phase("running")
	end := time.NewTimer(r.cfg.duration)
	defer end.Stop()
	var kill <-chan time.Time
	if r.cfg.killAfter > 0 {
		t := time.NewTimer(r.cfg.killAfter)
		defer t.Stop()
		kill = t.C
	}
	for {
		select {
		case <-ctx.Done():
			r.note("interrupted")
			return nil
		case <-end.C:
			r.note("ran for %s", round(time.Since(online)))
			return nil
		case <-kill:
			if err := r.killLeader(ctx); err != nil {
				return err
			}
			r.phase("running, leader killed")
		}
	}
}

// killLeader closes the node that leads the group. Close is graceful (the
// node leaves the group first), which is the most a process can do to one
// of its own nodes; peers then elect a new leader among themselves.
func (r *demoRun) killLeader(ctx context.Context) error {
	n, err := r.leader(ctx)
	if err != nil {
		return err
	}
	peer := n.node.PeerID()
	var index uint64
	for _, m := range r.nodes {
		if !m.killed.Load() {
			index = max(index, m.group.Committed())
		}
	}
	n.killed.Store(true)
	r.mu.Lock()
	r.mu.track.killed(time.Now(), peer, index)
	r.mu.Unlock()
	n.stop()
	began := time.Now()
	// Not ctx: a Close cut short would leave the node's goroutines behind.
	closing, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if err := n.node.Close(closing); err != nil {
		return fmt.Errorf("kill %s: %w", peer.Short(), err)
	}
	r.note("node %s closed in %s", peer.Short(), round(time.Since(began)))
	return nil
}

// leader returns the live node leading the group, waiting for one (the
// group may be between leaders).
func (r *demoRun) leader(ctx context.Context) (*counterNode, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.formWait)
	defer cancel()
	tick := time.NewTicker(r.cfg.sample / 4)
	defer tick.Stop()
	for {
		for _, n := range r.nodes {
			if !n.killed.Load() && n.group.IsLeader() {
				return n, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a leader to kill: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// sampleEvery reads the nodes every sample period until ctx ends.
func (r *demoRun) sampleEvery(ctx context.Context) {
	tick := time.NewTicker(r.cfg.sample)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.count()
			r.sampleOnce()
		}
	}
}

// sampleOnce reads every node, makes a frame and shows it.
func (r *demoRun) sampleOnce() {
	obs := make([]observation, 0, len(r.nodes))
	for _, n := range r.nodes {
		obs = append(obs, n.observe())
	}
	r.mu.Lock()
	f := r.mu.track.observe(time.Now(), obs)
	r.mu.Unlock()
	r.show(f)
}

// count hands the workload's totals to the tracker.
func (r *demoRun) count() {
	var ok, failed uint64
	for _, n := range r.nodes {
		ok += n.ok.Load()
		failed += n.failed.Load()
	}
	r.mu.Lock()
	r.mu.track.count(ok, failed)
	r.mu.Unlock()
}

func (r *demoRun) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.track.note(time.Now(), format, args...)
}

func (r *demoRun) phase(p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.track.setPhase(p)
}

// closeWait bounds closing one node; a graceful close takes about two
// LeaveTimeouts.
const closeWait = 30 * time.Second

// closeAll closes every node, all at once. Close is idempotent, so a
// killed node costs nothing.
func (r *demoRun) closeAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	errs := make([]error, len(r.nodes))
	var wg sync.WaitGroup
	for i, n := range r.nodes {
		wg.Go(func() {
			if err := n.node.Close(ctx); err != nil {
				errs[i] = fmt.Errorf("close %s: %w", n.node.PeerID().Short(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

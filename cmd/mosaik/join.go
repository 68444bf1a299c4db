package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/rsm"
)

func runJoin(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	var f nodeFlags
	f.register(fs)
	group := fs.String("group", defaultGroupSecret, "group key `secret`; nodes with the same one form one counter group")
	rate := fs.Float64("rate", 2, "increments per second this node submits (0: none)")
	interval := fs.Duration("interval", time.Second, "how often to print the node's status")
	data := fs.String("data", "", "`directory` for the group's Raft log, kept across restarts with the same -secret (default: in memory)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, _, err := f.config(e.getenv)
	if err == nil && len(f.seeds) == 0 {
		err = errors.New("join needs -seed: the gossip address of a beacon or any node of the network")
	}
	if err == nil && *rate < 0 {
		err = fmt.Errorf("-rate must not be negative, got %v", *rate)
	}
	if err := errors.Join(err, positiveDuration("interval", *interval)); err != nil {
		return badUsage(fs, err)
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	cfg.Logger = f.logger(e.stderr)
	node, err := cluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	describe(e.stdout, "join", f.network, node)
	g, err := rsm.Join(ctx, node, counterConfig(*group))
	if err != nil {
		return errors.Join(err, closeNode(e.stdout, node))
	}
	fmt.Fprintf(e.stdout, "group: %s\n", g.ID())
	n := &counterNode{node: node, group: g}
	var workload sync.WaitGroup
	if *rate > 0 {
		workload.Go(func() { n.drive(ctx, *rate) })
	}
	reportUntil(ctx, n, &plainPrinter{w: e.stdout, interval: *interval})
	workload.Wait()
	return closeNode(e.stdout, node)
}

// reportUntil shows the node's figures through p until ctx ends: reading
// them often keeps the commits/s window smooth, p prints at its interval.
func reportUntil(ctx context.Context, n *counterNode, p *plainPrinter) {
	track := newTracker(time.Now(), 2*time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			track.count(n.ok.Load(), n.failed.Load())
			p.show(track.observe(now, []observation{n.observe()}))
		}
	}
}

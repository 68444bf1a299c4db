package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/feed"
)

func runBeacon(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	var f nodeFlags
	f.register(fs)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg, stable, err := f.config(e.getenv)
	if err != nil {
		return badUsage(fs, err)
	}
	cfg.Logger = f.logger(e.stderr)
	node, err := cluster.Start(ctx, cfg)
	if err != nil {
		return err
	}
	describe(e.stdout, "beacon", f.network, node)
	if !stable {
		fmt.Fprintf(e.stdout, "note: no -secret or $%s, so this peer id is new on every start\n", secretEnv)
	}
	// The line to copy: what other nodes pass as -seed.
	fmt.Fprintf(e.stdout, "seed: %s\n", node.GossipAddr())
	err = logPeers(ctx, e.stdout, node)
	return errors.Join(err, closeNode(e.stdout, node))
}

// describe prints who a node is and where it listens.
func describe(w io.Writer, what, network string, node *cluster.Node) {
	fmt.Fprintf(w, "mosaik %s: peer %s, network %q (%s)\n", what, node.PeerID(), network, node.NetworkID().Short())
	fmt.Fprintf(w, "transport: %s  gossip: %s\n", node.Addr(), node.GossipAddr())
}

// logPeers prints peers entering and leaving the node's catalog until ctx
// ends (a signal), which is the normal end and not an error.
func logPeers(ctx context.Context, w io.Writer, node *cluster.Node) error {
	sub := node.Subscribe()
	defer func() { sub.Close() }()
	for {
		ev, err := sub.Next(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, feed.ErrLagged):
			// Too slow to print them all: start again from now.
			sub.Close()
			sub = node.Subscribe()
			continue
		case err != nil:
			return fmt.Errorf("catalog events: %w", err)
		}
		switch ev := ev.(type) {
		case discovery.PeerDiscovered:
			fmt.Fprintf(w, "peer joined: %s at %s\n", ev.Entry.Peer.Short(), strings.Join(ev.Entry.Addrs, ","))
		case discovery.PeerDeparted:
			fmt.Fprintf(w, "peer left: %s (%v)\n", ev.Entry.Peer.Short(), ev.Reason)
		}
	}
}

// closeNode closes a long-running node after a signal, saying so.
func closeNode(w io.Writer, node *cluster.Node) error {
	fmt.Fprintln(w, "shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if err := node.Close(ctx); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	fmt.Fprintln(w, "closed")
	return nil
}

package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mosaikgo/mosaik/adversary"
	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/transport"
)

const network = "adversary"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: adversary victim|attack [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "victim":
		err = victim(ctx, os.Args[2:])
	case "attack":
		err = attack(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "adversary:", err)
		os.Exit(1)
	}
}

// groupKey is the key of the group the victim joins with -group.
var groupKey = groups.KeyFromSecret("adversary/victim group")

func victim(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("victim", flag.ExitOnError)
	secret := fs.String("secret", "", "network (gossip) secret, 16, 24 or 32 bytes; empty: an open network")
	join := fs.Bool("group", false, "join a group (a no-op state machine), so that entries advertising it draw dials")
	_ = fs.Parse(args)
	node, err := cluster.Start(ctx, cluster.Config{Network: network, DataDir: cluster.InMemory, GossipSecret: []byte(*secret)})
	if err != nil {
		return err
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = node.Close(closing)
	}()
	fmt.Printf("transport %s\ngossip %s\n", node.Addr(), node.GossipAddr())
	if *join {
		g, err := node.Join(ctx, cluster.GroupConfig{Key: groupKey, Consensus: groups.FastConsensus(),
			Machine: func() statemachine.Machine { return statemachine.NoOpMachine() }})
		if err != nil {
			return err
		}
		fmt.Printf("group %s\n", g.ID())
	}
	began := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("t=%.1fs rss=%s heap=%s goroutines=%d catalog=%d\n", time.Since(began).Seconds(),
			adversary.MiB(adversary.RSS()), adversary.MiB(ms.HeapAlloc), runtime.NumGoroutine(), node.Catalog().Len())
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
}

func attack(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("attack", flag.ExitOnError)
	addr := fs.String("addr", "", "the victim's transport address")
	gossip := fs.String("gossip", "", "the victim's gossip address")
	scenario := fs.String("scenario", "frames", "frames, body, flood or gossip")
	conns := fs.Int("conns", 100, "hostile connections (frames, body)")
	hosts := fs.Int("hosts", 4, "loopback source addresses to spread connections over")
	hold := fs.Duration("hold", 10*time.Second, "how long to hold the connections (frames, body)")
	entries := fs.Int("entries", 10000, "entries to flood (flood, gossip)")
	batch := fs.Int("batch", 10000, "entries per sync (flood)")
	syncVersion := fs.String("sync", "v2", "sync protocol version the victim speaks: v1 or v2")
	group := fs.String("group", "", "group id (hex) the flooded entries advertise")
	_ = fs.Parse(args)
	net := id.Of(network)
	var groupIDs []id.GroupID
	if *group != "" {
		b, err := hex.DecodeString(*group)
		if err != nil {
			return fmt.Errorf("-group: %w", err)
		}
		gid, err := id.DigestFromBytes(b)
		if err != nil {
			return fmt.Errorf("-group: %w", err)
		}
		groupIDs = []id.GroupID{gid}
	}
	switch *scenario {
	case "frames", "body":
		return frames(ctx, *addr, *conns, *hosts, *hold, *scenario == "body")
	case "flood":
		protocol := adversary.SyncV2
		if *syncVersion == "v1" {
			protocol = adversary.SyncV1
		}
		o, err := adversary.NewOutsider("127.0.0.2")
		if err != nil {
			return err
		}
		defer o.Close()
		f := adversary.Fakes{Network: net, Addr: "127.0.0.2:9", Groups: groupIDs}
		for sent := 0; sent < *entries; sent += *batch {
			es, err := f.Entries(min(*batch, *entries-sent))
			if err != nil {
				return err
			}
			state, err := adversary.CatalogState(net, es)
			if err != nil {
				return err
			}
			if err := o.Push(ctx, *addr, protocol, net, nil, state); err != nil {
				fmt.Println("push:", err)
			}
		}
		fmt.Printf("pushed %d entries\n", *entries)
		return nil
	case "gossip":
		g, err := adversary.NewGossiper(net, "127.0.0.2", nil)
		if err != nil {
			return err
		}
		defer g.Close()
		es, err := adversary.Fakes{Network: net, Addr: "127.0.0.2:9", Groups: groupIDs}.Entries(*entries)
		if err != nil {
			return err
		}
		for _, e := range es {
			_ = g.Broadcast(*gossip, e)
		}
		fmt.Printf("broadcast %d entries\n", len(es))
		return nil
	}
	return fmt.Errorf("unknown scenario %q", *scenario)
}

// frames opens conns hostile connections that announce a 16 MiB first
// frame, sending it if body, holds them, and reports how they ended.
func frames(ctx context.Context, addr string, conns, hosts int, hold time.Duration, body bool) error {
	var outs []*adversary.Outsider
	for i := range hosts {
		o, err := adversary.NewOutsider(fmt.Sprintf("127.0.0.%d", 2+i))
		if err != nil {
			return err
		}
		defer o.Close()
		outs = append(outs, o)
	}
	ctx, cancel := context.WithTimeout(ctx, hold)
	defer cancel()
	var opened, closedByVictim atomic.Int64
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			l, err := outs[i%len(outs)].Open(ctx, addr, transport.ALPNGroups)
			if err != nil {
				return
			}
			opened.Add(1)
			_ = l.WriteHeader(transport.DefaultMaxFrameSize)
			if body {
				_ = l.WriteBody(transport.DefaultMaxFrameSize)
			}
			if _, ok := adversary.CloseCode(ctx, l.Conn); ok {
				closedByVictim.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("%d of %d connections opened; %d closed by the victim within %v\n", opened.Load(), conns, closedByVictim.Load(), hold)
	_ = bufio.NewWriter(os.Stdout).Flush()
	return nil
}

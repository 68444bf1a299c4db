// Command orderbook runs an exchange on streams and a group. Three
// matcher nodes replicate an order book (a state machine in a group); two
// trader nodes produce Orders on the "orders" stream; the group's leader
// consumes them, executes each in the group, and publishes the resulting
// Fills on the "fills" stream, which both traders consume. Nobody names
// anybody: the leader finds the traders' streams, and the traders the
// leader's, in the catalog.
//
//	go run ./examples/orderbook
//
// Trader "alice" sells first; once the leader has executed her orders,
// trader "bob" buys into them, and both see the same fills.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/examples/internal/settle"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/rsm"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/streams"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orderbook:", err)
		os.Exit(1)
	}
}

// The two streams, declared once for both sides. Fills go out once both
// traders listen.
var (
	ordersDef = streams.Def[Order]{Name: "examples/orderbook/orders", Codec: statemachine.JSON[Order]()}
	fillsDef  = streams.Def[Fill]{
		Name: "examples/orderbook/fills", Codec: statemachine.JSON[Fill](),
		Producer: streams.ProducerConfig[Fill]{OnlineWhen: streams.MinimumOf(2)},
	}
)

type book = rsm.Group[Order, uint64, []Fill]

func bookConfig() rsm.Config[Order, uint64, []Fill] {
	return rsm.Config[Order, uint64, []Fill]{
		Key:       groups.KeyFromSecret("examples/orderbook"),
		Consensus: groups.FastConsensus(),
		Machine:   func() statemachine.StateMachine[Order, uint64, []Fill] { return &Book{} },
		Codecs: statemachine.Codecs[Order, uint64, []Fill]{
			Command: statemachine.JSON[Order](), Query: statemachine.JSON[uint64](), Result: statemachine.JSON[[]Fill](),
		},
	}
}

// report is what each trader saw, for the test.
type report struct {
	fills map[string][]Fill // by trader
}

// run starts the matchers and the traders, sends the orders and returns
// once both traders have seen every fill.
func run(ctx context.Context, out io.Writer) (rep report, err error) {
	var nodes []*cluster.Node
	defer func() {
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Go(func() { _ = n.Close(context.Background()) })
		}
		wg.Wait()
	}()
	start := func() (*cluster.Node, error) {
		cfg := cluster.Config{Network: "examples/orderbook", DataDir: cluster.InMemory, Discovery: discovery.FastConfig()}
		if len(nodes) > 0 {
			cfg.Bootstrap = []string{nodes[0].GossipAddr()}
		}
		n, err := cluster.Start(ctx, cfg)
		if err == nil {
			nodes = append(nodes, n)
		}
		return n, err
	}

	// Three matchers form the book's group.
	var matchers []*book
	for range 3 {
		n, err := start()
		if err != nil {
			return rep, err
		}
		g, err := rsm.Join(ctx, n, bookConfig())
		if err != nil {
			return rep, err
		}
		matchers = append(matchers, g)
	}
	cores := make([]*cluster.Group, len(matchers))
	for i, g := range matchers {
		cores[i] = g.Core()
	}
	leaderID, err := settle.Await(ctx, cores)
	if err != nil {
		return rep, err
	}
	var leader *book
	var leaderNode *cluster.Node
	for i, g := range matchers {
		if g.Self() == leaderID {
			leader, leaderNode = g, nodes[i]
		}
	}
	fmt.Fprintf(out, "book online on 3 matchers, leader %s\n", leaderID.Short())

	// The leader matches: orders in, fills out. (A long-lived exchange
	// would run this loop on whichever matcher leads, with
	// When().IsLeader, as examples/leader-election does.)
	orders, err := streams.Consume(ctx, leaderNode, ordersDef)
	if err != nil {
		return rep, err
	}
	fills, err := streams.Produce(ctx, leaderNode, fillsDef)
	if err != nil {
		return rep, err
	}
	executed := make(chan Order, 16)
	matchCtx, stopMatching := context.WithCancel(ctx)
	var matching sync.WaitGroup
	matching.Go(func() { matchLoop(matchCtx, leader, orders, fills, executed) })
	defer func() { stopMatching(); matching.Wait() }()

	// Two traders, each producing orders and consuming fills.
	traders := map[string]*streams.Producer[Order]{}
	seen := map[string]*streams.Consumer[Fill]{}
	for _, name := range []string{"alice", "bob"} {
		n, err := start()
		if err != nil {
			return rep, err
		}
		if traders[name], err = streams.Produce(ctx, n, ordersDef); err != nil {
			return rep, err
		}
		if seen[name], err = streams.Consume(ctx, n, fillsDef); err != nil {
			return rep, err
		}
	}
	send := func(trader string, os ...Order) error {
		for _, o := range os {
			o.Trader = trader
			if err := traders[trader].Send(ctx, o); err != nil {
				return err
			}
		}
		for range os { // executed in the group, in this order
			select {
			case <-executed:
			case <-ctx.Done():
				return fmt.Errorf("waiting for the leader to execute %s's orders: %w", trader, ctx.Err())
			}
		}
		return nil
	}
	if err := send("alice", Order{ID: "a1", Price: 100, Qty: 10}, Order{ID: "a2", Price: 101, Qty: 5}); err != nil {
		return rep, err
	}
	fmt.Fprintln(out, "alice: sell 10 @ 100, sell 5 @ 101 (resting)")
	if err := send("bob", Order{ID: "b1", Buy: true, Price: 101, Qty: 8}, Order{ID: "b2", Buy: true, Price: 100, Qty: 7}); err != nil {
		return rep, err
	}
	fmt.Fprintln(out, "bob:   buy 8 @ 101, buy 7 @ 100")

	rep.fills = map[string][]Fill{}
	for _, name := range []string{"alice", "bob"} {
		for range 2 {
			f, err := seen[name].Recv(ctx)
			if err != nil {
				return rep, fmt.Errorf("%s waiting for fills: %w", name, err)
			}
			rep.fills[name] = append(rep.fills[name], f)
			fmt.Fprintf(out, "%s sees fill: %s buys %d @ %d from %s (order %s against %s)\n",
				name, f.TakerTrader, f.Qty, f.Price, f.MakerTrader, f.Taker, f.Maker)
		}
	}
	return rep, nil
}

// matchLoop executes every order in the group and publishes its fills,
// then reports the order on executed.
func matchLoop(ctx context.Context, g *book, orders *streams.Consumer[Order], fills *streams.Producer[Fill], executed chan<- Order) {
	for o := range orders.All(ctx) {
		index, err := g.Execute(ctx, o)
		if err != nil {
			return
		}
		// Execute returns once the order is applied here, so a weak
		// query sees its fills.
		fs, _, err := g.Query(ctx, index, rsm.Weak)
		if err != nil {
			return
		}
		for _, f := range fs {
			if err := fills.Send(ctx, f); err != nil && !errors.Is(err, context.Canceled) {
				return
			}
		}
		select {
		case executed <- o:
		case <-ctx.Done():
			return
		}
	}
}

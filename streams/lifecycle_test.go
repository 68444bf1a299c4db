package streams_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/streams"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
)

func TestMaxConsumersThreeOfSeven(t *testing.T) {
	c, ctx := newCluster(t, 8)
	d := def("scarce")
	d.Producer.MaxConsumers = 3
	d.Consumer.Backoff = streams.Backoff{Max: 200e6} // retry the refused ones every 200 ms at most
	p := produce(t, ctx, c.Node(0), d)
	cons := make(map[id.PeerID]*streams.Consumer[string])
	for i := 1; i < 8; i++ {
		cons[c.Node(i).PeerID()] = consume(t, ctx, c.Node(i), d)
	}
	waitConsumers(t, ctx, p, 3)
	// Everyone else was refused with 10_509 at least once.
	err := testkit.WaitFor(ctx, func() bool {
		refused := 0
		for _, cn := range cons {
			for _, ch := range cn.Producers() {
				if closeCode(ch.Err) == transport.CodeNoCapacity && ch.State != streams.Connected {
					refused++
				}
			}
		}
		return refused == 4
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Consumers()); n != 3 {
		t.Fatalf("%d consumers, want 3", n)
	}

	// A connected consumer dies; one of the refused takes its slot.
	first := p.Consumers()
	victim := first[0].Peer
	for i := 1; i < 8; i++ {
		if c.Node(i).PeerID() == victim {
			c.Kill(i)
		}
	}
	err = testkit.WaitFor(ctx, func() bool {
		now := p.Consumers()
		if len(now) != 3 {
			return false
		}
		for _, ch := range now {
			if ch.Peer == victim {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("no refused consumer took the freed slot: %+v: %v", p.Consumers(), err)
	}
	newcomer := slices.IndexFunc(p.Consumers(), func(ch streams.ChannelInfo) bool {
		return !slices.ContainsFunc(first, func(f streams.ChannelInfo) bool { return f.Peer == ch.Peer })
	})
	if newcomer < 0 {
		t.Fatal("the freed slot went to no new consumer")
	}
}

func TestUnknownConsumerSyncsAndSubscribes(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{NoBootstrap: true})
	ctx := testkit.Context(t)
	prod, cons, relay := c.Node(0), c.Node(1), c.Node(2)
	d := def("introductions")
	p := produce(t, ctx, prod, d)
	// The producer and the consumer each meet the relay, the producer
	// first: the consumer learns of the producer through it, the producer
	// never hears of the consumer.
	if err := prod.SyncWithPeer(ctx, relay.PeerID(), relay.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := cons.SyncWithPeer(ctx, relay.PeerID(), relay.Addr()); err != nil {
		t.Fatal(err)
	}
	if _, ok := cons.Catalog().Get(prod.PeerID()); !ok {
		t.Fatal("the consumer did not learn of the producer")
	}
	if _, ok := prod.Catalog().Get(cons.PeerID()); ok {
		t.Fatal("the producer already knows the consumer")
	}
	cn := consume(t, ctx, cons, d)
	if err := cn.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	ch := cn.Producers()[0]
	if closeCode(ch.Err) != transport.CodeUnknownPeer {
		t.Fatalf("channel %+v: want a 401 before the subscription", ch)
	}
	if err := p.Send(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if got, err := cn.Recv(ctx); err != nil || got != "hello" {
		t.Fatalf("Recv = %q, %v", got, err)
	}
}

func TestProducerKilledAndBack(t *testing.T) {
	c, ctx := newCluster(t, 3)
	d := def("phoenix")
	d.Consumer.Backoff = streams.Backoff{Max: 200e6}
	produce(t, ctx, c.Node(0), d)
	c1 := consume(t, ctx, c.Node(1), d)
	c2 := consume(t, ctx, c.Node(2), d)
	for _, cn := range []*streams.Consumer[string]{c1, c2} {
		if err := cn.When().Subscribed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Kill(0)
	for _, cn := range []*streams.Consumer[string]{c1, c2} {
		if err := cn.When().Unsubscribed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	node := c.Restart(0)
	p := produce(t, ctx, node, d)
	for _, cn := range []*streams.Consumer[string]{c1, c2} {
		if err := cn.When().Subscribed(ctx); err != nil {
			t.Fatal(err)
		}
	}
	waitConsumers(t, ctx, p, 2)
	for i := range 10 {
		if err := p.Send(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, cn := range []*streams.Consumer[string]{c1, c2} {
		for i := range 10 {
			if got, err := cn.Recv(ctx); err != nil || got != fmt.Sprint(i) {
				t.Fatalf("Recv = %q, %v; want %d", got, err, i)
			}
		}
	}
}

func TestProducerCloseEndsChannelsGracefully(t *testing.T) {
	c, ctx := newCluster(t, 2)
	d := def("short lived")
	p := produce(t, ctx, c.Node(0), d)
	cn := consume(t, ctx, c.Node(1), d)
	if err := cn.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cn.When().Unsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	// Produced again: the stream is back in the entry, the consumer
	// subscribes again.
	produce(t, ctx, c.Node(0), d)
	if err := cn.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
}

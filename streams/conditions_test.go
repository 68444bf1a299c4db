package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/streams"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
)

// offline asserts that w is not online now: an Offline wait returns at
// once when it holds.
func mustOffline(t *testing.T, ctx context.Context, w streams.When) {
	t.Helper()
	if err := w.Offline(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMinimumOfTwoWithEdgesBothWays(t *testing.T) {
	c, ctx := newCluster(t, 3)
	d := def("min2")
	d.Producer.OnlineWhen = streams.MinimumOf(2)
	p := produce(t, ctx, c.Node(0), d)
	mustOffline(t, ctx, p.When())

	c1 := consume(t, ctx, c.Node(1), d)
	waitConsumers(t, ctx, p, 1)
	mustOffline(t, ctx, p.When())
	if err := p.TrySend("x"); err == nil {
		t.Fatal("TrySend with one consumer of two succeeded")
	}

	c2 := consume(t, ctx, c.Node(2), d)
	if err := p.When().Online(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.When().Offline(ctx); err != nil { // the met -> not met edge
		t.Fatal(err)
	}
	c2 = consume(t, ctx, c.Node(2), d)
	if err := p.When().Online(ctx); err != nil { // and back
		t.Fatal(err)
	}
	_ = c1
}

func TestTagConditionsFollowEntries(t *testing.T) {
	c, ctx := newCluster(t, 2)
	gold := id.Of("gold")
	d := def("gold only")
	d.Producer.OnlineWhen = streams.MinimumOf(1).WithTags(gold)
	p := produce(t, ctx, c.Node(0), d)
	consume(t, ctx, c.Node(1), d)
	waitConsumers(t, ctx, p, 1)
	mustOffline(t, ctx, p.When())

	if err := c.Node(1).AddTags(ctx, gold); err != nil {
		t.Fatal(err)
	}
	if err := p.When().Online(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Node(1).RemoveTags(ctx, gold); err != nil {
		t.Fatal(err)
	}
	if err := p.When().Offline(ctx); err != nil {
		t.Fatal(err)
	}
	if len(p.Consumers()) != 1 {
		t.Fatalf("the consumer left: %+v", p.Consumers())
	}
}

func TestConsumerOnlineAtOnceByDefault(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	cons := consume(t, ctx, c.Node(0), def("nobody produces"))
	if err := cons.When().Online(ctx); err != nil {
		t.Fatal(err)
	}
	if err := cons.When().Unsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	d := def("nobody produces")
	d.Consumer.OnlineWhen = streams.MinimumOf(1)
	c2 := consume(t, ctx, c.Node(0), d)
	mustOffline(t, ctx, c2.When())
}

func TestRequireTagsChained(t *testing.T) {
	c, ctx := newCluster(t, 3)
	gold, silver := id.Of("gold"), id.Of("silver")
	for _, i := range []int{1, 2} {
		if err := c.Node(i).AddTags(ctx, gold); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Node(1).AddTags(ctx, silver); err != nil {
		t.Fatal(err)
	}
	d := def("vip")
	d.Producer.Require = []streams.Predicate{streams.HasTags(gold), streams.HasTags(silver)}
	p := produce(t, ctx, c.Node(0), d)
	both := consume(t, ctx, c.Node(1), d)
	onlyGold := consume(t, ctx, c.Node(2), d)
	if err := both.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ctx, onlyGold, transport.CodeStreamNotAllowed)
	if n := len(p.Consumers()); n != 1 {
		t.Fatalf("%d consumers, want 1", n)
	}

	// Dynamic: the refused one qualifies once it adds the tag, and the
	// admitted one is dropped when it loses one.
	if err := c.Node(2).AddTags(ctx, silver); err != nil {
		t.Fatal(err)
	}
	if err := onlyGold.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Node(1).RemoveTags(ctx, gold); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, ctx, both, transport.CodeStreamNotAllowed)
	if err := both.When().Unsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	waitConsumers(t, ctx, p, 1)
	if got := p.Consumers(); len(got) != 1 || got[0].Peer != c.Node(2).PeerID() {
		t.Fatalf("consumers %+v, want node 2 only", got)
	}
}

func TestConsumerDropsProducerThatLosesATag(t *testing.T) {
	c, ctx := newCluster(t, 2)
	gold := id.Of("gold")
	if err := c.Node(0).AddTags(ctx, gold); err != nil {
		t.Fatal(err)
	}
	d := def("from gold producers")
	d.Consumer.Require = []streams.Predicate{streams.HasTags(gold)}
	p := produce(t, ctx, c.Node(0), d)
	cons := consume(t, ctx, c.Node(1), d)
	if err := cons.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Node(0).RemoveTags(ctx, gold); err != nil {
		t.Fatal(err)
	}
	if err := cons.When().Unsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.When().Unsubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Node(0).AddTags(ctx, gold); err != nil {
		t.Fatal(err)
	}
	if err := cons.When().Subscribed(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestRTTRequirementsBothWays(t *testing.T) {
	c, ctx := newCluster(t, 2)
	for _, tc := range []struct {
		name     string
		producer []streams.Predicate
		consumer []streams.Predicate
		admitted bool
	}{
		{"producer admits a near consumer", []streams.Predicate{streams.RTTBelow(time.Hour)}, nil, true},
		{"producer refuses a far consumer", []streams.Predicate{streams.RTTBelow(time.Nanosecond)}, nil, false},
		{"consumer takes a near producer", nil, []streams.Predicate{streams.RTTBelow(time.Hour)}, true},
		{"consumer refuses a far producer", nil, []streams.Predicate{streams.RTTBelow(time.Nanosecond)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := def("rtt " + tc.name)
			d.Producer.Require = tc.producer
			d.Consumer.Require = tc.consumer
			p := produce(t, ctx, c.Node(0), d)
			defer p.Close(ctx)
			cons := consume(t, ctx, c.Node(1), d)
			defer cons.Close(ctx)
			if tc.admitted {
				if err := cons.When().Subscribed(ctx); err != nil {
					t.Fatal(err)
				}
				if ch := cons.Producers()[0]; !ch.HasRTT || ch.RTT <= 0 {
					t.Fatalf("no RTT measured: %+v", ch)
				}
				return
			}
			waitEnded(t, ctx, cons, transport.CodeStreamNotAllowed)
			if n := len(p.Consumers()); n != 0 {
				t.Fatalf("%d consumers, want none", n)
			}
		})
	}
}

// waitEnded waits until one of the consumer's channels ended for good
// with code.
func waitEnded(t *testing.T, ctx context.Context, cons *streams.Consumer[string], code transport.CloseCode) {
	t.Helper()
	err := testkit.WaitFor(ctx, func() bool {
		for _, ch := range cons.Producers() {
			if ch.State == streams.Terminated && closeCode(ch.Err) == code {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("waiting for a channel ended with %d: %+v: %v", code, cons.Producers(), err)
	}
}

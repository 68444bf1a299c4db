package streams_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/streams"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
)

func def(name string) streams.Def[string] {
	return streams.Def[string]{Name: name, Codec: statemachine.JSON[string]()}
}

func produce[T any](t *testing.T, ctx context.Context, n *cluster.Node, d streams.Def[T]) *streams.Producer[T] {
	t.Helper()
	p, err := streams.Produce(ctx, n, d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func consume[T any](t *testing.T, ctx context.Context, n *cluster.Node, d streams.Def[T]) *streams.Consumer[T] {
	t.Helper()
	c, err := streams.Consume(ctx, n, d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newCluster(t *testing.T, n int) (*testkit.Cluster, context.Context) {
	c := testkit.NewCluster(t, n, testkit.Options{})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	return c, ctx
}

func waitConsumers[T any](t *testing.T, ctx context.Context, p *streams.Producer[T], n int) {
	t.Helper()
	if err := p.When().Connected(ctx, n); err != nil {
		t.Fatalf("waiting for %d consumers (have %d): %v", n, len(p.Consumers()), err)
	}
}

func TestSendToTwoConsumersWithExactStats(t *testing.T) {
	c, ctx := newCluster(t, 3)
	d := def("prices")
	p := produce(t, ctx, c.Node(0), d)
	c1 := consume(t, ctx, c.Node(1), d)
	c2 := consume(t, ctx, c.Node(2), d)
	waitConsumers(t, ctx, p, 2)
	// Datums do not pass through the consumers' actors, which publish the
	// channels' states: wait for those too before asserting them.
	for _, cons := range []*streams.Consumer[string]{c1, c2} {
		if err := cons.When().Subscribed(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var want uint64
	for i := range 100 {
		s := fmt.Sprintf("datum-%03d", i)
		if err := p.Send(ctx, s); err != nil {
			t.Fatal(err)
		}
		want += uint64(len(s) + 2) // JSON quotes
	}
	for _, cons := range []*streams.Consumer[string]{c1, c2} {
		for i := range 100 {
			got, err := cons.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if w := fmt.Sprintf("datum-%03d", i); got != w {
				t.Fatalf("datum %d = %q, want %q", i, got, w)
			}
		}
		if st := cons.Stats(); st.Datums != 100 || st.Bytes != want {
			t.Fatalf("consumer stats %+v, want 100 datums, %d bytes", st, want)
		}
		ps := cons.Producers()
		if len(ps) != 1 || ps[0].Peer != c.Node(0).PeerID() || ps[0].State != streams.Connected || ps[0].Datums != 100 || ps[0].Bytes != want {
			t.Fatalf("consumer channels %+v", ps)
		}
	}
	if err := testkit.WaitFor(ctx, func() bool { return p.Stats().Datums == 200 }); err != nil {
		t.Fatalf("producer stats %+v: %v", p.Stats(), err)
	}
	if st := p.Stats(); st.Bytes != 2*want || st.Dropped != 0 {
		t.Fatalf("producer stats %+v, want %d bytes", st, 2*want)
	}
	for _, ch := range p.Consumers() {
		if ch.Datums != 100 || ch.Bytes != want || ch.State != streams.Connected || ch.Uptime <= 0 || !ch.HasRTT {
			t.Fatalf("producer channel %+v", ch)
		}
	}
}

func TestAlreadyExists(t *testing.T) {
	c := testkit.NewCluster(t, 1, testkit.Options{})
	ctx := testkit.Context(t)
	d := def("once")
	p := produce(t, ctx, c.Node(0), d)
	again, err := streams.Produce(ctx, c.Node(0), d)
	if !errors.Is(err, streams.ErrAlreadyExists) || again != p {
		t.Fatalf("second Produce = %p, %v; want the first (%p) and ErrAlreadyExists", again, err, p)
	}
	got, err := streams.ProduceOrGet(ctx, c.Node(0), d)
	if err != nil || got != p {
		t.Fatalf("ProduceOrGet = %p, %v", got, err)
	}
	other := streams.Def[int]{Name: "once", Codec: statemachine.JSON[int]()}
	if _, err := streams.Produce(ctx, c.Node(0), other); !errors.Is(err, streams.ErrTypeMismatch) {
		t.Fatalf("Produce with another type: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	p2 := produce(t, ctx, c.Node(0), d)
	if p2 == p {
		t.Fatal("Produce after Close returned the closed producer")
	}
}

func TestCustomStreamIDsRouteSeparately(t *testing.T) {
	c, ctx := newCluster(t, 2)
	a := streams.Def[string]{Name: "same name", ID: id.Of("custom a"), Codec: statemachine.JSON[string]()}
	b := streams.Def[string]{Name: "same name", ID: id.Of("custom b"), Codec: statemachine.JSON[string]()}
	pa := produce(t, ctx, c.Node(0), a)
	pb := produce(t, ctx, c.Node(0), b)
	ca := consume(t, ctx, c.Node(1), a)
	cb := consume(t, ctx, c.Node(1), b)
	waitConsumers(t, ctx, pa, 1)
	waitConsumers(t, ctx, pb, 1)
	if err := pa.Send(ctx, "to a"); err != nil {
		t.Fatal(err)
	}
	if err := pb.Send(ctx, "to b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ca.Recv(ctx); got != "to a" {
		t.Fatalf("consumer a got %q", got)
	}
	if got, _ := cb.Recv(ctx); got != "to b" {
		t.Fatalf("consumer b got %q", got)
	}
	if _, ok := ca.TryRecv(); ok {
		t.Fatal("consumer a got a second datum")
	}
}

func TestSendBlocksWhileOffline(t *testing.T) {
	c, ctx := newCluster(t, 2)
	d := def("offline")
	p := produce(t, ctx, c.Node(0), d)
	err := p.TrySend("early")
	var se *streams.SendError[string]
	if !errors.Is(err, streams.ErrOffline) || !errors.As(err, &se) || se.Datum != "early" {
		t.Fatalf("TrySend offline = %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Send(short, "blocked"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send offline = %v, want the deadline", err)
	}
	cons := consume(t, ctx, c.Node(1), d)
	if err := p.Send(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if got, err := cons.Recv(ctx); err != nil || got != "late" {
		t.Fatalf("Recv = %q, %v", got, err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.TrySend("closed"); !errors.Is(err, streams.ErrClosed) {
		t.Fatalf("TrySend after Close = %v", err)
	}
}

func closeCode(err error) transport.CloseCode {
	code, _ := transport.CodeOf(err)
	return code
}

func TestTwoConsumersOnOneNode(t *testing.T) {
	c, ctx := newCluster(t, 2)
	d := def("shared node")
	p := produce(t, ctx, c.Node(0), d)
	a := consume(t, ctx, c.Node(1), d)
	b := consume(t, ctx, c.Node(1), d)
	waitConsumers(t, ctx, p, 2)
	if err := p.Send(ctx, "both"); err != nil {
		t.Fatal(err)
	}
	for _, cn := range []*streams.Consumer[string]{a, b} {
		if got, err := cn.Recv(ctx); err != nil || got != "both" {
			t.Fatalf("Recv = %q, %v", got, err)
		}
	}
}

package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/streams"
	"github.com/mosaikgo/mosaik/testkit"
	"github.com/mosaikgo/mosaik/transport"
)

// bytesCodec sends []byte as they are, so payload sizes are exact.
type bytesCodec struct{}

func (bytesCodec) Encode(v []byte) ([]byte, error) { return v, nil }
func (bytesCodec) Decode(b []byte) ([]byte, error) { return bytes.Clone(b), nil }

var _ statemachine.Codec[[]byte] = bytesCodec{}

// On loopback QUIC a consumer that stops reading pushes back through
// QUIC's flow control until its producer queue fills: it is disconnected
// with 10_413 while a consumer that reads gets every datum in order.
func TestLoopbackSlowConsumerDisconnected(t *testing.T) {
	c := testkit.NewCluster(t, 3, testkit.Options{Loopback: true})
	ctx := testkit.Context(t)
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	d := streams.Def[[]byte]{Name: "firehose", Codec: bytesCodec{}}
	d.Producer.QueueSize = 16
	p := produce(t, ctx, c.Node(0), d)
	fast := consume(t, ctx, c.Node(1), d)
	slowDef := d
	slowDef.Consumer.QueueSize = 1
	slow := consume(t, ctx, c.Node(2), slowDef)
	waitConsumers(t, ctx, p, 2)

	const total, size = 4000, 4 << 10
	received := make(chan error, 1)
	go func() {
		for i := range total {
			v, err := fast.Recv(ctx)
			if err != nil {
				received <- err
				return
			}
			if got := int(v[0]) | int(v[1])<<8; got != i&0xffff {
				received <- fmt.Errorf("datum %d carries %d", i, got)
				return
			}
		}
		received <- nil
	}()
	for i := range total {
		b := make([]byte, size)
		b[0], b[1] = byte(i), byte(i>>8)
		// Pace on the fast consumer: never more than its queue ahead.
		if err := testkit.WaitFor(ctx, func() bool { return fastBehind(p, c.Node(1).PeerID().String(), uint64(i)) < 8 }); err != nil {
			t.Fatal(err)
		}
		if err := p.Send(ctx, b); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := <-received; err != nil {
		t.Fatal(err)
	}
	err := testkit.WaitFor(ctx, func() bool {
		for _, ch := range slow.Producers() {
			if closeCode(ch.Err) == transport.CodeTooSlow {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("the slow consumer was never disconnected with 10_413: %+v: %v", slow.Producers(), err)
	}
	if st := fast.Stats(); st.Datums != total || st.Bytes != total*size {
		t.Fatalf("fast consumer stats %+v", st)
	}
}

// fastBehind is how many datums the producer has taken but not yet
// written to the consumer with that peer id.
func fastBehind(p *streams.Producer[[]byte], peer string, sent uint64) uint64 {
	for _, ch := range p.Consumers() {
		if ch.Peer.String() == peer {
			return sent - ch.Datums
		}
	}
	return 0
}

func TestLoopbackSendReceive(t *testing.T) {
	c := testkit.NewCluster(t, 2, testkit.Options{Loopback: true})
	ctx, cancel := context.WithCancel(testkit.Context(t))
	defer cancel()
	if err := c.DiscoverAll(ctx); err != nil {
		t.Fatal(err)
	}
	d := def("loopback")
	p := produce(t, ctx, c.Node(0), d)
	cn := consume(t, ctx, c.Node(1), d)
	waitConsumers(t, ctx, p, 1)
	for i := range 100 {
		if err := p.Send(ctx, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	for v := range cn.All(ctx) {
		if v != fmt.Sprint(i) {
			t.Fatalf("datum %d = %q", i, v)
		}
		if i++; i == 100 {
			break
		}
	}
	if st := cn.Stats(); st.Datums != 100 {
		t.Fatalf("stats %+v", st)
	}
}

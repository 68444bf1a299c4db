// Command loopback opens two mosaik QUIC endpoints on 127.0.0.1, links
// them with mutual authentication, and exchanges ping/pong messages over
// the diagnostics protocol, printing round-trip times. It is the smallest
// program that exercises identity, TLS, ALPN routing and framing end to
// end.
//
//	go run ./examples/loopback [-n 1000]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

func main() {
	n := flag.Int("n", 1000, "number of pings to send")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "loopback:", err)
		os.Exit(1)
	}
}

// run starts two endpoints, pings n times from one to the other, and
// reports what it measured.
func run(ctx context.Context, out io.Writer, n int) error {
	if n < 1 {
		return errors.New("need at least one ping")
	}
	alice, err := quicnet.Listen(quicnet.Config{Key: id.NewSecretKey()})
	if err != nil {
		return err
	}
	defer alice.Close()
	bob, err := quicnet.Listen(quicnet.Config{Key: id.NewSecretKey()})
	if err != nil {
		return err
	}
	defer bob.Close()
	fmt.Fprintf(out, "alice %s at %s\nbob   %s at %s\n", alice.PeerID().Short(), alice.Addr(), bob.PeerID().Short(), bob.Addr())

	if err := bob.Handle(transport.ALPNDiag, echo); err != nil {
		return err
	}
	start := time.Now()
	link, err := alice.Dial(ctx, bob.PeerID(), bob.Addr(), transport.ALPNDiag)
	if err != nil {
		return fmt.Errorf("dial bob: %w", err)
	}
	defer link.Close(transport.CodeSuccess, "done")
	fmt.Fprintf(out, "link up in %v: bob proved key %s\n", time.Since(start).Round(time.Microsecond), link.Peer().Short())

	rtts := make([]time.Duration, 0, n)
	for i := range uint64(n) {
		sent := time.Now()
		if err := link.Send(ctx, &messages.Ping{Nonce: i, SentUnixNano: sent.UnixNano()}); err != nil {
			return fmt.Errorf("ping %d: %w", i, err)
		}
		var pong messages.Pong
		if err := link.Recv(ctx, &pong); err != nil {
			return fmt.Errorf("pong %d: %w", i, err)
		}
		if pong.Nonce != i {
			return fmt.Errorf("pong %d answered ping %d", pong.Nonce, i)
		}
		rtts = append(rtts, time.Since(sent))
	}
	slices.Sort(rtts)
	pct := func(p float64) time.Duration { return rtts[int(p*float64(len(rtts)-1))].Round(time.Microsecond) }
	fmt.Fprintf(out, "%d pings: p50 %v  p99 %v  max %v\n", n, pct(0.50), pct(0.99), rtts[len(rtts)-1].Round(time.Microsecond))
	return nil
}

// echo answers every Ping on a link with a Pong until the link closes.
func echo(link transport.Link) {
	ctx := context.Background()
	for {
		var ping messages.Ping
		if err := link.Recv(ctx, &ping); err != nil {
			return
		}
		pong := &messages.Pong{Nonce: ping.Nonce, SentUnixNano: ping.SentUnixNano, Payload: ping.Payload}
		if err := link.Send(ctx, pong); err != nil {
			return
		}
	}
}

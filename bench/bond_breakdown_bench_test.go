package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

// B11 breakdown: where a bond's time goes beyond the baseline. A ladder of
// connection setups, each adding one thing to the one before, sampled
// round-robin (one sample of each step in turn, the order rotating every
// time) on servers that stay up for the whole run, so that every step
// sees the same machine and the p50s compare directly:
//
//	quic             B11's baseline: quic-go dial + TLS 1.3, server accepted
//	quic-mutual      + a client certificate the server requires (any)
//	quic-mutual-rtt  + one stream round trip of quicEchoSize bytes after the
//	                 handshake: the floor for any authenticated handshake
//	                 on one QUIC connection
//	quicnet-rtt      the same on mosaik's transport: quicnet Dial (per-dial
//	                 TLS config, peer check, stream, preamble) and one frame
//	                 echoed by a Handle'd handler
//	bond-inline      the bond handshake itself (HandshakeStart with proof,
//	                 VerifyStart, HandshakeEnd with proof, VerifyEnd),
//	                 answered inline by the handler: no actors
//	bond             B11's "bond": the same against a real node, whose
//	                 groups handler hands the link to the group actor,
//	                 which spawns a bond actor, whose writer task sends
//	                 HandshakeEnd
//
// This is a diagnostic, not one of the plan's comparisons (docs/performance.md): it reports
// each step's p50 and its ratio to "quic" as metrics ("<step>-us",
// "<step>-x") and logs the ladder, but adds no line to the summary table.
// Each b.Loop iteration takes bondLadderSamples samples of every step.

const bondLadderSamples = 50

// bondEchoALPN is the protocol of the quicnet-rtt step's handler.
const bondEchoALPN = "mosaik-bench/b11-echo"

// bondLadder holds the servers and the dialler of every step.
type bondLadder struct {
	steps []bondStep
	close func() error
}

type bondStep struct {
	name   string
	sample func(ctx context.Context) (time.Duration, error)
}

func newBondLadder(ctx context.Context) (_ *bondLadder, err error) {
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, closeAll())
		}
	}()

	plain, err := newQuicPair(false, false)
	if err != nil {
		return nil, err
	}
	closers = append(closers, plain.close)
	mutual, err := newQuicPair(true, false)
	if err != nil {
		return nil, err
	}
	closers = append(closers, mutual.close)
	mutualEcho, err := newQuicPair(true, true)
	if err != nil {
		return nil, err
	}
	closers = append(closers, mutualEcho.close)

	dialer, err := newBondDialer()
	if err != nil {
		return nil, err
	}
	closers = append(closers, dialer.close)

	// One quicnet endpoint serves both the echo and the inline bond
	// handshake; its Close ends their handlers by closing their links.
	serverKey := id.NewSecretKey()
	server, err := quicnet.Listen(quicnet.Config{Key: serverKey})
	if err != nil {
		return nil, err
	}
	closers = append(closers, server.Close)
	if err := server.Handle(bondEchoALPN, func(l transport.Link) {
		ctx, cancel := context.WithTimeout(context.Background(), bondTimeout)
		defer cancel()
		p, err := l.RecvFrame(ctx)
		if err == nil {
			err = l.SendFrame(ctx, p)
		}
		if err == nil {
			<-l.Done()
		}
	}); err != nil {
		return nil, err
	}
	inlineNetwork, inlineGroup := id.Of("bench-bond-inline"), bondGroup()
	inlineID := inlineGroup.ID()
	if err := server.Handle(transport.ALPNGroups, func(l transport.Link) {
		if err := answerInline(l, inlineNetwork, inlineID, inlineGroup.Key, serverKey.PeerID()); err != nil {
			l.Close(transport.CodeBadHandshake, "handshake failed")
			return
		}
		<-l.Done()
	}); err != nil {
		return nil, err
	}

	acc, err := startBondAcceptor(ctx)
	if err != nil {
		return nil, err
	}
	closers = append(closers, acc.close)

	steps := []bondStep{
		{"quic", plain.connect},
		{"quic-mutual", mutual.connect},
		{"quic-mutual-rtt", mutualEcho.exchange},
		{"quicnet-rtt", func(ctx context.Context) (time.Duration, error) {
			t0 := time.Now()
			l, err := dialer.ep.Dial(ctx, serverKey.PeerID(), server.Addr(), bondEchoALPN)
			if err != nil {
				return 0, err
			}
			defer l.Close(transport.CodeSuccess, "sample done")
			if err := l.SendFrame(ctx, make([]byte, quicEchoSize-transport.FrameHeaderSize)); err != nil {
				return 0, err
			}
			if _, err := l.RecvFrame(ctx); err != nil {
				return 0, err
			}
			return time.Since(t0), nil
		}},
		{"bond-inline", func(ctx context.Context) (time.Duration, error) {
			l, _, total, err := dialer.handshake(ctx, serverKey.PeerID(), server.Addr(), inlineNetwork, inlineID, inlineGroup.Key)
			if err != nil {
				return 0, err
			}
			l.Close(transport.CodeSuccess, "sample done")
			return total, nil
		}},
		{"bond", func(ctx context.Context) (time.Duration, error) {
			_, total, err := dialer.bond(ctx, acc)
			return total, err
		}},
	}
	return &bondLadder{steps: steps, close: closeAll}, nil
}

// answerInline is the acceptor's half of the bond handshake done on the
// handler's goroutine, as actors.Groups.serve checks HandshakeStart and a
// bond actor answers it, minus the actors.
func answerInline(l transport.Link, network id.NetworkID, group id.GroupID, key groups.Key, self id.PeerID) error {
	ctx, cancel := context.WithTimeout(context.Background(), bondTimeout)
	defer cancel()
	payload, err := l.RecvFrame(ctx)
	if err != nil {
		return err
	}
	m, err := groups.DecodeHandshakeStart(payload)
	if err != nil {
		return err
	}
	lookup := func(g id.GroupID) (groups.JoinedGroup, bool) {
		return groups.JoinedGroup{Key: key}, g == group
	}
	if _, err := groups.VerifyStart(m, network, lookup, l.SharedSecret, l.Peer()); err != nil {
		return err
	}
	secret, err := l.SharedSecret(groups.SecretLabel(group))
	if err != nil {
		return err
	}
	return l.Send(ctx, groups.End{}.Proto(key, secret, self))
}

// run takes n samples of every step, rotating the order, and appends
// them to into (µs, by step).
func (l *bondLadder) run(ctx context.Context, n int, into [][]float64) error {
	for i := range n {
		for k := range l.steps {
			j := (i + k) % len(l.steps)
			d, err := l.steps[j].sample(ctx)
			if err != nil {
				return fmt.Errorf("%s: sample %d: %w", l.steps[j].name, i, err)
			}
			into[j] = append(into[j], Micros(d))
		}
	}
	return nil
}

// report gives each step's p50 in µs and its ratio to the first step's.
func (l *bondLadder) report(samples [][]float64) (p50, ratio []float64, table string) {
	var b strings.Builder
	p50, ratio = make([]float64, len(l.steps)), make([]float64, len(l.steps))
	for j, s := range l.steps {
		p50[j] = Median(samples[j])
		ratio[j] = p50[j] / p50[0]
		fmt.Fprintf(&b, "\n  %-16s p50 %6.0f us  x%.3f", s.name, p50[j], ratio[j])
		if j > 0 {
			fmt.Fprintf(&b, "  (%+.0f us on %s)", p50[j]-p50[j-1], l.steps[j-1].name)
		}
	}
	fmt.Fprintf(&b, "\n  %d samples a step, GOMAXPROCS=%d", len(samples[0]), runtime.GOMAXPROCS(0))
	return p50, ratio, b.String()
}

// BenchmarkBondEstablishBreakdown is the B11 ladder above. Run it with
// -benchtime 4x or more (50 samples a step per iteration).
func BenchmarkBondEstablishBreakdown(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*bondTimeout)
	defer cancel()
	ladder, err := newBondLadder(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := ladder.close(); err != nil {
			b.Error(err)
		}
	}()
	samples := make([][]float64, len(ladder.steps))
	for b.Loop() {
		if err := ladder.run(ctx, bondLadderSamples, samples); err != nil {
			b.Fatal(err)
		}
	}
	p50, ratio, table := ladder.report(samples)
	for j, s := range ladder.steps {
		b.ReportMetric(p50[j], s.name+"-us")
		b.ReportMetric(ratio[j], s.name+"-x")
	}
	b.Log("B11 breakdown:" + table)
}

// testBondBreakdownSmoke takes a few samples of every ladder step.
func testBondBreakdownSmoke(t *testing.T) {
	ladder, err := newBondLadder(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ladder.close(); err != nil {
			t.Error(err)
		}
	}()
	samples := make([][]float64, len(ladder.steps))
	if err := ladder.run(t.Context(), 2, samples); err != nil {
		t.Fatal(err)
	}
	_, ratio, table := ladder.report(samples)
	for j, r := range ratio {
		if !(r > 0) || math.IsInf(r, 0) {
			t.Fatalf("%s: ratio %v, want a positive finite number", ladder.steps[j].name, r)
		}
	}
	t.Log("B11 breakdown:" + table)
}

package quicnet

// Benchmarks compare a Link with the baseline it is built from: a raw
// quic-go stream with hand-written length-prefix framing (one Write per
// frame, bufio on the read side, reused buffers), on the same loopback
// sockets and the same quic.Config. Each benchmark alternates the two in
// rounds (ours, base, base, ours, ...) within one process, because these
// shared 2-core machines drift 1.5-2x between runs, and reports:
//
//	ns/op       ours, median over rounds, per frame (round trip or one-way)
//	base-ns/op  the raw baseline, same rounds
//	ratio       median of per-round ratios: ours/base time for round
//	            trips (lower is better, goal <= 1.3), ours/base throughput
//	            for bulk (higher is better, goal >= 0.5 at 16 B, >= 0.95
//	            at 64 KiB), see docs/performance.md (B5, B6)
//	MB/s, base-MB/s  bulk payload throughput, ours and base
//
// Smoke run: go test -run='^$' -bench=. -benchtime=1x ./transport/quicnet
// Full run:  go test -run='^$' -bench=. -benchtime=20000x -count=1 ./transport/quicnet

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// benchRounds is how many ours/base alternations a benchmark makes.
const benchRounds = 8

// framer is what both sides of a comparison offer: send one frame, read
// one frame.
type framer interface {
	write(p []byte) error
	read() ([]byte, error)
}

// linkFramer is our Link through its byte API. borrow reads into the
// link's reused buffer, as Recv does before decoding, instead of the fresh
// slice RecvFrame must hand its caller: the difference is the price of
// that allocation.
type linkFramer struct {
	l      transport.Link
	borrow bool
}

func (f linkFramer) write(p []byte) error { return f.l.SendFrame(context.Background(), p) }

func (f linkFramer) read() ([]byte, error) {
	if f.borrow {
		return f.l.(*link).read(context.Background(), false)
	}
	return f.l.RecvFrame(context.Background())
}

// rawFramer is the baseline: framing written by hand over a quic-go stream.
type rawFramer struct {
	str        *quic.Stream
	br         *bufio.Reader
	wbuf, rbuf []byte
}

func newRawFramer(str *quic.Stream) *rawFramer {
	return &rawFramer{str: str, br: bufio.NewReaderSize(str, readBufferSize)}
}

func (f *rawFramer) write(p []byte) error {
	f.wbuf = transport.AppendFrame(f.wbuf[:0], p)
	_, err := f.str.Write(f.wbuf)
	return err
}

func (f *rawFramer) read() ([]byte, error) {
	var hdr [transport.FrameHeaderSize]byte
	if _, err := io.ReadFull(f.br, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if cap(f.rbuf) < n {
		f.rbuf = make([]byte, n)
	}
	f.rbuf = f.rbuf[:n]
	_, err := io.ReadFull(f.br, f.rbuf)
	return f.rbuf, err
}

// benchPair is one connection, its two ends as framers, and how to take
// it down.
type benchPair struct {
	client, server framer
	close          func()
}

func newLinkPair(b *testing.B, borrow bool) benchPair {
	b.Helper()
	a, err := Listen(Config{Key: id.NewSecretKey()})
	if err != nil {
		b.Fatal(err)
	}
	z, err := Listen(Config{Key: id.NewSecretKey()})
	if err != nil {
		b.Fatal(err)
	}
	in := make(chan transport.Link, 1)
	if err := z.Handle(alpnTest, func(l transport.Link) { in <- l }); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	dialed, err := a.Dial(ctx, z.PeerID(), z.Addr(), alpnTest)
	if err != nil {
		b.Fatal(err)
	}
	served := receive(b, in)
	return benchPair{
		client: linkFramer{l: dialed, borrow: borrow},
		server: linkFramer{l: served, borrow: borrow},
		close: func() {
			a.Close()
			z.Close()
		},
	}
}

func newRawPair(b *testing.B) benchPair {
	b.Helper()
	qc := quicConfig(Config{}.withDefaults())
	listenUDP := func() *net.UDPConn {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		return pc
	}
	spc, cpc := listenUDP(), listenUDP()
	str, ctr := &quic.Transport{Conn: spc}, &quic.Transport{Conn: cpc}
	ln, err := str.Listen(&tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{mustCert(b)},
		NextProtos:   []string{alpnTest},
		ClientAuth:   tls.RequireAnyClientCert,
	}, qc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cconn, err := ctr.Dial(ctx, spc.LocalAddr(), rawTLS(mustCert(b), alpnTest), qc)
	if err != nil {
		b.Fatal(err)
	}
	sconn, err := ln.Accept(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cstr, err := cconn.OpenStream()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cstr.Write(preamble[:]); err != nil {
		b.Fatal(err)
	}
	sstr, err := sconn.AcceptStream(ctx)
	if err != nil {
		b.Fatal(err)
	}
	server := newRawFramer(sstr)
	if _, err := io.ReadFull(server.br, make([]byte, len(preamble))); err != nil {
		b.Fatal(err)
	}
	return benchPair{
		client: newRawFramer(cstr),
		server: server,
		close: func() {
			cconn.CloseWithError(0, "")
			sconn.CloseWithError(0, "")
			ln.Close()
			ctr.Close()
			str.Close()
			cpc.Close()
			spc.Close()
		},
	}
}

// compare runs ours and base alternately, n ops each per round, and
// reports per-op medians and the median per-round ratio. Odd rounds run
// base first, so neither side always inherits the other's leftovers (GC
// debt, a busy CPU). invert says the ratio is of throughput (base time
// over ours) rather than of time.
func compare(b *testing.B, ours, base func(n int), bytesPerOp int, invert bool) {
	// One untimed op each: the first frames on a fresh connection pay for
	// window growth and buffer allocation.
	ours(1)
	base(1)
	per := max(b.N/benchRounds, 1)
	timed := func(f func(int)) float64 {
		t0 := time.Now()
		f(per)
		return float64(time.Since(t0).Nanoseconds()) / float64(per)
	}
	var oursNs, baseNs, ratios []float64
	b.ResetTimer()
	for round := range benchRounds {
		var o, r float64
		if round%2 == 0 {
			o = timed(ours)
			r = timed(base)
		} else {
			r = timed(base)
			o = timed(ours)
		}
		oursNs, baseNs = append(oursNs, o), append(baseNs, r)
		if invert {
			ratios = append(ratios, r/o)
		} else {
			ratios = append(ratios, o/r)
		}
	}
	b.StopTimer()
	o, r := median(oursNs), median(baseNs)
	b.ReportMetric(o, "ns/op")
	b.ReportMetric(r, "base-ns/op")
	b.ReportMetric(median(ratios), "ratio")
	if bytesPerOp > 0 {
		b.ReportMetric(float64(bytesPerOp)*1e3/o, "MB/s")
		b.ReportMetric(float64(bytesPerOp)*1e3/r, "base-MB/s")
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// echo serves p's server side until the connection goes, answering each
// frame with itself.
func echo(p benchPair, wg *sync.WaitGroup) {
	wg.Go(func() {
		for {
			f, err := p.server.read()
			if err != nil {
				return
			}
			if err := p.server.write(f); err != nil {
				return
			}
		}
	})
}

// BenchmarkLinkRoundTrip is ping-pong of 16-byte frames: one client, an
// echoing server (B6 in docs/performance.md).
func BenchmarkLinkRoundTrip(b *testing.B) {
	ours, base := newLinkPair(b, false), newRawPair(b)
	var wg sync.WaitGroup
	echo(ours, &wg)
	echo(base, &wg)
	defer func() {
		ours.close()
		base.close()
		wg.Wait()
	}()
	payload := make([]byte, 16)
	pingPong := func(p benchPair) func(int) {
		return func(n int) {
			for range n {
				if err := p.client.write(payload); err != nil {
					b.Fatal(err)
				}
				if _, err := p.client.read(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	compare(b, pingPong(ours), pingPong(base), 0, false)
}

// BenchmarkLinkThroughput streams frames one way as fast as the receiver
// takes them (B5 in docs/performance.md). RecvFrame is the public API; borrowed
// reads into a reused buffer, isolating what RecvFrame's per-frame
// allocation costs.
func BenchmarkLinkThroughput(b *testing.B) {
	for _, mode := range []struct {
		name   string
		borrow bool
	}{{"RecvFrame", false}, {"borrowed", true}} {
		for _, size := range []struct {
			name string
			n    int
		}{{"16B", 16}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}} {
			b.Run(mode.name+"/"+size.name, func(b *testing.B) {
				benchBulk(b, size.n, mode.borrow)
			})
		}
	}
}

func benchBulk(b *testing.B, size int, borrow bool) {
	ours, base := newLinkPair(b, borrow), newRawPair(b)
	defer func() {
		ours.close()
		base.close()
	}()
	payload := make([]byte, size)
	bulk := func(p benchPair) func(int) {
		return func(n int) {
			got := make(chan error, 1)
			go func() {
				for range n {
					if _, err := p.server.read(); err != nil {
						got <- err
						return
					}
				}
				got <- nil
			}()
			for range n {
				if err := p.client.write(payload); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-got; err != nil {
				b.Fatal(err)
			}
		}
	}
	compare(b, bulk(ours), bulk(base), size, true)
}

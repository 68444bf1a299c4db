package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/streams"
)

// B5 stream throughput, B6 stream ping-pong and B7 stream fan-out: a
// mosaik stream on loopback QUIC against raw quic-go streams with
// buffered length-prefix framing, in the same run.
//
// Ours (B5, B7) is one producer node and 1, 4 or 16 consumer nodes, each
// a full cluster.Node on loopback (QUIC endpoint, memberlist, catalog);
// the consumers find the producer through the catalog. After a warm-up of
// streamWarmup datums that every consumer receives, the producer sends n
// datums of one size as fast as Send takes them and the clock stops when
// every consumer has received all n. The figure is payload MB/s summed
// over consumers. The datums are []byte with a pass-through codec, so the
// figure is the stream's machinery, not an encoder's. The producer's
// per-consumer queue holds the whole run: a throughput benchmark measures
// the pipeline, while a producer that outruns its consumers in production
// would see them disconnected (10_413) or its datums dropped, by design.
//
// The baseline is what ours is built from: one quic-go connection per
// consumer on its own loopback socket pair, one stream each, the producer
// writing 4-byte big-endian length prefixes and payloads through a 64 KiB
// bufio.Writer (flushed at the end), the consumer reading frames through
// a bufio.Reader into a reused buffer. Both sides move the same datums.
//
// B6 is a round trip through two streams: node A produces "ping", node B
// consumes it and answers each datum on its own "pong" stream, which A
// consumes; the figure is the p50 of streamPingPongs round trips of a
// 16-byte datum, in microseconds. The baseline is one quic-go stream,
// the client writing a frame and flushing, the server echoing it.

const (
	streamTimeout = 3 * time.Minute
	streamWarmup  = 100
	// streamALPN is the baseline's ALPN.
	streamALPN = "mosaik-bench/b5"
)

// streamVariant is one line of B5 or B7.
type streamVariant struct {
	id, name  string
	consumers int
	size      int
	datums    int
	goal      string
}

var streamVariants = []streamVariant{
	{"B5", "16B", 1, 16, 400_000, ">= 0.5"},
	{"B5", "1KiB", 1, 1 << 10, 60_000, ">= 0.5"},
	{"B5", "64KiB", 1, 64 << 10, 2_000, ">= 0.95"},
	{"B7", "4-consumers", 4, 1 << 10, 20_000, ">= 0.85"},
	{"B7", "16-consumers", 16, 1 << 10, 5_000, ">= 0.85"},
}

func streamSpec(v streamVariant) Spec {
	name, base := "streams/throughput", "raw quic-go stream, buffered length-prefix framing, payload MB/s"
	if v.id == "B7" {
		name, base = "streams/fan-out", "as many raw quic-go streams, buffered length-prefix framing, payload MB/s summed"
	}
	return Spec{ID: v.id, Name: name, Variant: v.name, Baseline: base, Unit: "MB/s", Goal: v.goal, Fsync: "n/a"}
}

// passBytes is the benchmark's codec: datums are their own encoding.
type passBytes struct{}

func (passBytes) Encode(v []byte) ([]byte, error) { return v, nil }
func (passBytes) Decode(b []byte) ([]byte, error) { return b, nil }

var streamRun atomic.Uint64

// streamNodes starts n loopback nodes of a fresh network, node 0 the
// seed, and waits until every node lists every other.
func streamNodes(ctx context.Context, n int) (_ []*cluster.Node, err error) {
	network := "bench-streams-" + strconv.FormatUint(streamRun.Add(1), 10)
	nodes := make([]*cluster.Node, 0, n)
	defer func() {
		if err != nil {
			err = errors.Join(err, closeBondNodes(nodes...))
		}
	}()
	for i := range n {
		cfg := cluster.Config{Network: network, Discovery: discovery.FastConfig(), DataDir: cluster.InMemory}
		if i > 0 {
			cfg.Bootstrap = []string{nodes[0].GossipAddr()}
		}
		node, err := cluster.Start(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		nodes = append(nodes, node)
	}
	for _, node := range nodes {
		if err := node.WaitCatalog(ctx, func(s *discovery.Snapshot) bool { return s.Len() == n }); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// streamOurs is one B5/B7 measurement of ours.
func streamOurs(ctx context.Context, v streamVariant) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	nodes, err := streamNodes(ctx, v.consumers+1)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, closeBondNodes(reversed(nodes)...)) }()
	def := streams.Def[[]byte]{Name: "bench", Codec: passBytes{}}
	def.Producer.QueueSize = v.datums + streamWarmup
	p, err := streams.Produce(ctx, nodes[0], def)
	if err != nil {
		return 0, err
	}
	cons := make([]*streams.Consumer[[]byte], v.consumers)
	for i := range cons {
		if cons[i], err = streams.Consume(ctx, nodes[i+1], def); err != nil {
			return 0, err
		}
	}
	if err := p.When().Connected(ctx, v.consumers); err != nil {
		return 0, fmt.Errorf("consumers: %w", err)
	}
	payload := make([]byte, v.size)
	recvAll := func(n int) error {
		var wg sync.WaitGroup
		errs := make([]error, len(cons))
		for i, c := range cons {
			wg.Go(func() {
				for range n {
					if _, err := c.Recv(ctx); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	send := func(n int) error {
		for range n {
			if err := p.Send(ctx, payload); err != nil {
				return err
			}
		}
		return nil
	}
	if err := errors.Join(send(streamWarmup), recvAll(streamWarmup)); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	t0 := time.Now()
	done := make(chan error, 1)
	go func() { done <- recvAll(v.datums) }()
	if err := send(v.datums); err != nil {
		cancel()
		<-done
		return 0, err
	}
	if err := <-done; err != nil {
		return 0, err
	}
	return mbps(v, time.Since(t0)), nil
}

// reversed closes consumers before the producer they would redial.
func reversed(nodes []*cluster.Node) []*cluster.Node {
	out := slices.Clone(nodes)
	slices.Reverse(out)
	return out
}

func mbps(v streamVariant, d time.Duration) float64 {
	return float64(v.consumers*v.datums*v.size) / d.Seconds() / 1e6
}

// rawStreams is the baseline's quic-go: a producer listening and one
// client connection per consumer, each with one stream, each on its own
// loopback sockets.
type rawStreams struct {
	pcs     []*net.UDPConn
	trs     []*quic.Transport
	ln      *quic.Listener
	conns   []*quic.Conn
	out, in []*quic.Stream // producer's and consumers' ends
}

func newRawStreams(ctx context.Context, n int) (_ *rawStreams, err error) {
	r := &rawStreams{}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	cert, err := bondBaseCert()
	if err != nil {
		return nil, err
	}
	listen := func() (*quic.Transport, error) {
		pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		tr := &quic.Transport{Conn: pc}
		r.pcs, r.trs = append(r.pcs, pc), append(r.trs, tr)
		return tr, nil
	}
	server, err := listen()
	if err != nil {
		return nil, err
	}
	if r.ln, err = server.Listen(&tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, NextProtos: []string{streamALPN}}, nil); err != nil {
		return nil, err
	}
	for range n {
		tr, err := listen()
		if err != nil {
			return nil, err
		}
		c, err := tr.Dial(ctx, r.pcs[0].LocalAddr(), &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true, NextProtos: []string{streamALPN}}, nil)
		if err != nil {
			return nil, err
		}
		r.conns = append(r.conns, c)
		str, err := c.OpenStream()
		if err != nil {
			return nil, err
		}
		if _, err := str.Write([]byte{0}); err != nil { // the stream reaches the peer with its first byte
			return nil, err
		}
		sc, err := r.ln.Accept(ctx)
		if err != nil {
			return nil, err
		}
		r.conns = append(r.conns, sc)
		sstr, err := sc.AcceptStream(ctx)
		if err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(sstr, make([]byte, 1)); err != nil {
			return nil, err
		}
		r.out, r.in = append(r.out, sstr), append(r.in, str)
	}
	return r, nil
}

func (r *rawStreams) close() {
	for _, c := range r.conns {
		c.CloseWithError(0, "")
	}
	if r.ln != nil {
		r.ln.Close()
	}
	for _, tr := range r.trs {
		tr.Close()
	}
	for _, pc := range r.pcs {
		pc.Close()
	}
}

// rawWriteFrames writes n frames of payload through a buffered writer.
func rawWriteFrames(w *bufio.Writer, payload []byte, n int, flushEach bool) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	for range n {
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := w.Write(payload); err != nil {
			return err
		}
		if flushEach {
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	return w.Flush()
}

// rawReadFrame reads one frame into buf, grown as needed.
func rawReadFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return buf, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// streamBase is one B5/B7 measurement of the baseline.
func streamBase(ctx context.Context, v streamVariant) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	r, err := newRawStreams(ctx, v.consumers)
	if err != nil {
		return 0, err
	}
	defer r.close()
	stop := context.AfterFunc(ctx, r.close)
	defer stop()
	payload := make([]byte, v.size)
	writers := make([]*bufio.Writer, len(r.out))
	readers := make([]*bufio.Reader, len(r.in))
	for i := range writers {
		writers[i] = bufio.NewWriterSize(r.out[i], 64<<10)
		readers[i] = bufio.NewReaderSize(r.in[i], 64<<10)
	}
	run := func(n int) error {
		var wg sync.WaitGroup
		errs := make([]error, 2*len(writers))
		for i := range writers {
			wg.Go(func() { errs[2*i] = rawWriteFrames(writers[i], payload, n, false) })
			wg.Go(func() {
				var buf []byte
				for range n {
					var err error
					if buf, err = rawReadFrame(readers[i], buf); err != nil {
						errs[2*i+1] = err
						return
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	if err := run(streamWarmup); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	t0 := time.Now()
	if err := run(v.datums); err != nil {
		return 0, err
	}
	return mbps(v, time.Since(t0)), nil
}

func streamMeasures(v streamVariant) (ours, base Measure) {
	return func(ctx context.Context) (float64, error) { return streamOurs(ctx, v) },
		func(ctx context.Context) (float64, error) { return streamBase(ctx, v) }
}

// BenchmarkStreamThroughput is B5 and B7: one b.Loop iteration is one
// round of each variant's two sides.
func BenchmarkStreamThroughput(b *testing.B) {
	for _, v := range streamVariants {
		b.Run(v.id+"/"+v.name, func(b *testing.B) {
			ours, base := streamMeasures(v)
			var pairs []Pair
			for round := 0; b.Loop(); round++ {
				pair, err := RunPair(context.Background(), round, ours, base)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("round %d: ours %.1f MB/s, base %.1f MB/s, ratio %.3f", round, pair.Ours, pair.Base, pair.Ratio())
				pairs = append(pairs, pair)
			}
			r := Summarize(streamSpec(v), pairs)
			r.Report(b)
			b.Log(r)
			results.Add(r)
		})
	}
}

// B6: ping-pong.

const streamPingPongs = 2000

var pingPongSpec = Spec{
	ID: "B6", Name: "streams/ping-pong", Variant: "16B",
	Baseline: "raw quic-go stream ping-pong, p50 round trip",
	Unit:     "us", Goal: "<= 1.3", Fsync: "n/a",
}

// pingPongOurs is one B6 measurement of ours: the p50 of n round trips.
func pingPongOurs(ctx context.Context, n int) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	nodes, err := streamNodes(ctx, 2)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, closeBondNodes(nodes[1], nodes[0])) }()
	ping := streams.Def[[]byte]{Name: "ping", Codec: passBytes{}}
	pong := streams.Def[[]byte]{Name: "pong", Codec: passBytes{}}
	pingP, err := streams.Produce(ctx, nodes[0], ping)
	if err != nil {
		return 0, err
	}
	pongP, err := streams.Produce(ctx, nodes[1], pong)
	if err != nil {
		return 0, err
	}
	pingC, err := streams.Consume(ctx, nodes[1], ping)
	if err != nil {
		return 0, err
	}
	pongC, err := streams.Consume(ctx, nodes[0], pong)
	if err != nil {
		return 0, err
	}
	if err := errors.Join(pingP.When().Online(ctx), pongP.When().Online(ctx)); err != nil {
		return 0, err
	}
	echoCtx, stopEcho := context.WithCancel(ctx)
	var echo sync.WaitGroup
	echo.Go(func() {
		for d := range pingC.All(echoCtx) {
			if pongP.Send(echoCtx, d) != nil {
				return
			}
		}
	})
	defer func() { stopEcho(); echo.Wait() }()
	payload := make([]byte, 16)
	rtts := make([]time.Duration, 0, n)
	for i := range n + streamWarmup {
		t0 := time.Now()
		if err := pingP.Send(ctx, payload); err != nil {
			return 0, err
		}
		if _, err := pongC.Recv(ctx); err != nil {
			return 0, err
		}
		if i >= streamWarmup {
			rtts = append(rtts, time.Since(t0))
		}
	}
	return p50Micros(rtts), nil
}

func p50Micros(rtts []time.Duration) float64 {
	slices.Sort(rtts)
	return Micros(rtts[len(rtts)/2])
}

// pingPongBase is one B6 measurement of the baseline.
func pingPongBase(ctx context.Context, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, streamTimeout)
	defer cancel()
	r, err := newRawStreams(ctx, 1)
	if err != nil {
		return 0, err
	}
	defer r.close()
	stop := context.AfterFunc(ctx, r.close)
	defer stop()
	var echo sync.WaitGroup
	echo.Go(func() {
		rd, w := bufio.NewReader(r.out[0]), bufio.NewWriter(r.out[0])
		var buf []byte
		for {
			var err error
			if buf, err = rawReadFrame(rd, buf); err != nil {
				return
			}
			if rawWriteFrames(w, buf, 1, false) != nil {
				return
			}
		}
	})
	defer echo.Wait()
	defer r.close() // ends the echo goroutine
	rd, w := bufio.NewReader(r.in[0]), bufio.NewWriter(r.in[0])
	payload := make([]byte, 16)
	rtts := make([]time.Duration, 0, n)
	var buf []byte
	for i := range n + streamWarmup {
		t0 := time.Now()
		if err := rawWriteFrames(w, payload, 1, false); err != nil {
			return 0, err
		}
		if buf, err = rawReadFrame(rd, buf); err != nil {
			return 0, err
		}
		if i >= streamWarmup {
			rtts = append(rtts, time.Since(t0))
		}
	}
	return p50Micros(rtts), nil
}

// BenchmarkStreamPingPong is B6.
func BenchmarkStreamPingPong(b *testing.B) {
	ours := func(ctx context.Context) (float64, error) { return pingPongOurs(ctx, streamPingPongs) }
	base := func(ctx context.Context) (float64, error) { return pingPongBase(ctx, streamPingPongs) }
	var pairs []Pair
	for round := 0; b.Loop(); round++ {
		pair, err := RunPair(context.Background(), round, ours, base)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("round %d: ours %.1f us, base %.1f us, ratio %.3f", round, pair.Ours, pair.Base, pair.Ratio())
		pairs = append(pairs, pair)
	}
	r := Summarize(pingPongSpec, pairs)
	r.Report(b)
	b.Log(r)
	results.Add(r)
}

// TestStreamBenchSmoke runs B5, B6 and B7 at a small size for one round:
// both sides must work and the ratio be a number; no timing is checked.
func TestStreamBenchSmoke(t *testing.T) {
	check := func(t *testing.T, spec Spec, ours, base Measure) {
		pairs, err := Interleave(t.Context(), 1, ours, base)
		if err != nil {
			t.Fatal(err)
		}
		r := Summarize(spec, pairs)
		if !(r.Ratio > 0) || math.IsInf(r.Ratio, 0) {
			t.Fatalf("ratio %v, want a positive finite number", r.Ratio)
		}
		t.Log(r)
	}
	t.Run("B5", func(t *testing.T) {
		v := streamVariant{id: "B5", name: "smoke", consumers: 1, size: 64, datums: 500}
		ours, base := streamMeasures(v)
		check(t, streamSpec(v), ours, base)
	})
	t.Run("B7", func(t *testing.T) {
		v := streamVariant{id: "B7", name: "smoke", consumers: 2, size: 64, datums: 200}
		ours, base := streamMeasures(v)
		check(t, streamSpec(v), ours, base)
	})
	t.Run("B6", func(t *testing.T) {
		check(t, pingPongSpec,
			func(ctx context.Context) (float64, error) { return pingPongOurs(ctx, 50) },
			func(ctx context.Context) (float64, error) { return pingPongBase(ctx, 50) })
	})
}

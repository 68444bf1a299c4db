package quicnet

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

func TestAdmissionCounts(t *testing.T) {
	a := newAdmission(3, 2)
	x, y := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	px1, err := a.admit(x)
	if err != nil {
		t.Fatal(err)
	}
	if !a.crowded() {
		t.Fatal("not crowded with 1 of 3 pending; a quarter of 3 rounds up to 1")
	}
	px2, _ := a.admit(x)
	if _, err := a.admit(x); !errors.Is(err, ErrTooManyFromAddress) {
		t.Fatalf("third from one address: %v, want ErrTooManyFromAddress", err)
	}
	py, err := a.admit(y)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.admit(netip.MustParseAddr("10.0.0.3")); !errors.Is(err, ErrTooManyUnauthenticated) {
		t.Fatalf("fourth in all: %v, want ErrTooManyUnauthenticated", err)
	}
	px1.release()
	px1.release() // idempotent
	if total, fromX := a.counts(x); total != 2 || fromX != 1 {
		t.Fatalf("after one release: total %d, from x %d; want 2, 1", total, fromX)
	}
	px2.release()
	py.release()
	if total, _ := a.counts(x); total != 0 || len(a.mu.perSource) != 0 {
		t.Fatalf("after every release: total %d, %d sources kept", total, len(a.mu.perSource))
	}
}

func TestAdmissionCrowded(t *testing.T) {
	a := newAdmission(8, 8)
	var held []*pending
	for i := range 3 {
		p, err := a.admit(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, p)
		if a.crowded() != (i+1 >= 2) {
			t.Fatalf("%d pending of 8: crowded %v, want crowded from 2 on", i+1, a.crowded())
		}
	}
	for _, p := range held {
		p.release()
	}
	if a.crowded() {
		t.Fatal("crowded with nothing pending")
	}
}

func TestSourceOf(t *testing.T) {
	for addr, want := range map[net.Addr]string{
		&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 9}:       "127.0.0.1",
		&net.UDPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 9}: "10.1.2.3",
		&net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 9}:     "2001:db8::1",
		fakeAddr("[2001:db8::2]:7"):                               "2001:db8::2",
		fakeAddr("mem:1"):                                         "invalid IP",
	} {
		if got := sourceOf(addr).String(); got != want {
			t.Errorf("sourceOf(%v) = %s, want %s", addr, got, want)
		}
	}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

// rawDialFrom is rawDial from a chosen local IP address (any address of
// 127/8 reaches loopback), so tests can stand for several hosts.
func rawDialFrom(t testing.TB, ep *Endpoint, local string, conf *tls.Config) (*quic.Conn, error) {
	t.Helper()
	pc, err := net.ListenPacket("udp", local+":0")
	if err != nil {
		t.Fatalf("listen udp: %v", err)
	}
	tr := &quic.Transport{Conn: pc}
	t.Cleanup(func() {
		tr.Close()
		pc.Close()
	})
	addr, err := net.ResolveUDPAddr("udp", ep.Addr())
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return tr.Dial(testCtx(t), addr, conf, &quic.Config{})
}

// wantRefused checks that a dial failed with the server's
// CONNECTION_REFUSED.
func wantRefused(t testing.TB, err error) {
	t.Helper()
	var te *quic.TransportError
	if !errors.As(err, &te) || te.ErrorCode != quic.ConnectionRefused || !te.Remote {
		t.Fatalf("dial = %v, want the server's CONNECTION_REFUSED", err)
	}
}

// TestUnauthenticatedPerAddressLimit fills one address's share of
// unauthenticated slots: the next connection from it is refused at once,
// another address still gets in, and a slot is freed as soon as its
// connection delivers its first frame.
func TestUnauthenticatedPerAddressLimit(t *testing.T) {
	noLeaks(t)
	b := listen(t, Config{MaxUnauthenticated: 16, MaxUnauthenticatedPerIP: 2})
	in := handOver(t, b, alpnTest)
	conf := rawTLS(mustCert(t), alpnTest)
	var conns []*quic.Conn
	for range 2 {
		c, err := rawDialFrom(t, b, "127.0.0.1", conf)
		if err != nil {
			t.Fatalf("dial within the limit: %v", err)
		}
		conns = append(conns, c)
	}
	_, err := rawDialFrom(t, b, "127.0.0.1", conf)
	wantRefused(t, err)
	// A client's first flight may span two packets, each refused.
	if got := b.Stats().RefusedPerIP.Load(); got == 0 {
		t.Fatal("RefusedPerIP = 0 after a refusal")
	}
	if _, err := rawDialFrom(t, b, "127.0.0.2", conf); err != nil {
		t.Fatalf("dial from another address: %v", err)
	}

	// One connection authenticates (sends its first frame): its slot is
	// free again.
	str, err := conns[0].OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	ping := transport.AppendFrame(preamble[:], []byte{0x08, 0x01}) // Ping{Nonce: 1}
	if _, err := str.Write(ping); err != nil {
		t.Fatal(err)
	}
	l := receive(t, in)
	if err := l.Recv(testCtx(t), &messages.Ping{}); err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if total, fromAddr := b.Unauthenticated("127.0.0.1:1"); total != 2 || fromAddr != 1 {
		t.Fatalf("after one first frame: %d unauthenticated, %d from 127.0.0.1; want 2 and 1", total, fromAddr)
	}
	if _, err := rawDialFrom(t, b, "127.0.0.1", conf); err != nil {
		t.Fatalf("dial after a slot was freed: %v", err)
	}
}

// TestUnauthenticatedTotalLimit fills every slot from different
// addresses; past a quarter of them, new connections go through QUIC's
// Retry first, which quic-go's client follows by itself.
func TestUnauthenticatedTotalLimit(t *testing.T) {
	noLeaks(t)
	b := listen(t, Config{MaxUnauthenticated: 3, MaxUnauthenticatedPerIP: 1})
	handOver(t, b, alpnTest)
	conf := rawTLS(mustCert(t), alpnTest)
	var conns []*quic.Conn
	for i := range 3 {
		c, err := rawDialFrom(t, b, netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i)}).String(), conf)
		if err != nil {
			t.Fatalf("dial %d within the limit: %v", i, err)
		}
		conns = append(conns, c)
	}
	_, err := rawDialFrom(t, b, "127.0.0.9", conf)
	wantRefused(t, err)
	if got := b.Stats().RefusedTotal.Load(); got == 0 {
		t.Fatal("RefusedTotal = 0 after a refusal")
	}
	// A connection that goes away frees its slot.
	conns[0].CloseWithError(0, "")
	if !eventually(waitLimit, func() bool { total, _ := b.Unauthenticated(""); return total == 2 }) {
		t.Fatal("a closed connection's slot was never freed")
	}
	if _, err := rawDialFrom(t, b, "127.0.0.9", conf); err != nil {
		t.Fatalf("dial after a slot was freed: %v", err)
	}
}

// TestFirstFrameDeadline opens the stream and sends the preamble but no
// frame: the endpoint closes the connection with CodeTimeout at the
// handshake timeout and frees its slot.
func TestFirstFrameDeadline(t *testing.T) {
	noLeaks(t)
	b := listen(t, Config{HandshakeTimeout: 300 * time.Millisecond})
	in := handOver(t, b, alpnTest)
	conn, err := rawDial(t, b, rawTLS(mustCert(t), alpnTest))
	if err != nil {
		t.Fatal(err)
	}
	str, err := conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	// A header announcing a frame, and only part of it.
	wire := binary.BigEndian.AppendUint32(preamble[:], 1000)
	if _, err := str.Write(append(wire, 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	l := receive(t, in)
	if err := l.Recv(testCtx(t), &messages.Ping{}); err == nil {
		t.Fatal("Recv of a frame that never completes succeeded")
	}
	wantAppClose(t, closeCause(t, conn), transport.CodeTimeout)
	if got := b.Stats().TimedOut.Load(); got != 1 {
		t.Fatalf("TimedOut = %d, want 1", got)
	}
	if total, _ := b.Unauthenticated(""); total != 0 {
		t.Fatalf("%d unauthenticated after the timeout, want 0", total)
	}
}

// TestOversizedFirstFrameCounted announces a first frame of exactly the
// maximum frame size: refused on the header, before any payload is read.
func TestOversizedFirstFrameCounted(t *testing.T) {
	noLeaks(t)
	b := listen(t, Config{})
	in := handOver(t, b, alpnTest)
	conn, err := rawDial(t, b, rawTLS(mustCert(t), alpnTest))
	if err != nil {
		t.Fatal(err)
	}
	str, err := conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := str.Write(binary.BigEndian.AppendUint32(preamble[:], transport.DefaultMaxFrameSize)); err != nil {
		t.Fatal(err)
	}
	l := receive(t, in)
	if _, err := l.RecvFrame(testCtx(t)); !errors.Is(err, transport.ErrFrameTooLarge) {
		t.Fatalf("RecvFrame = %v, want ErrFrameTooLarge", err)
	}
	wantAppClose(t, closeCause(t, conn), transport.CodeProtocolViolation)
	if got := b.Stats().Oversized.Load(); got != 1 {
		t.Fatalf("Oversized = %d, want 1", got)
	}
}

// TestFrameBufferGrowsWithData announces a large frame and sends a little
// of it: the reader holds about what arrived, not what was announced.
func TestFrameBufferGrowsWithData(t *testing.T) {
	const announced = 8 << 20
	wire := binary.BigEndian.AppendUint32(nil, announced)
	wire = append(wire, make([]byte, 1000)...)
	for _, own := range []bool{false, true} {
		var fr frameReader
		src := &choppyReader{data: wire}
		for {
			_, err := fr.next(src, 16<<20, own)
			if errors.Is(err, io.EOF) || errors.Is(err, transport.ErrBadFrame) {
				break
			}
		}
		if c := cap(fr.body); c > 64<<10 {
			t.Fatalf("own %v: %d bytes announced, 1000 sent, buffer of %d bytes", own, announced, c)
		}
	}
}

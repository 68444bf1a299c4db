package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/statemachine"
	"github.com/mosaikgo/mosaik/transport"
	"github.com/mosaikgo/mosaik/transport/quicnet"
)

// B11 bond/establish: the time to establish a new authenticated bond, as
// the p50 of many samples per round, each on a fresh connection, against
// a raw quic-go dial and TLS 1.3 handshake on the same loopback.
//
// The main figure (variant "bond") is the bond path itself: a dialler,
// one quicnet endpoint, does exactly what a bond actor's outgoing side
// does (Dial with ALPN /mosaik/groups/1, SharedSecret, HandshakeStart
// with the proof, read HandshakeEnd, VerifyEnd) against a real node that
// has joined the group, so the node's own /mosaik/groups/1 handler
// verifies the proof and its group actor spawns a bond actor, which
// answers. A sample is timed from Dial until VerifyEnd succeeds: at that
// point both ends hold a verified bond. Between samples, untimed, the
// dialler waits for the node's bond view to list the bond (the real
// acceptor took it), hangs up, and waits for the view to drop it, so each
// sample starts from no bond. Gossip plays no part: the node is alone in
// its network and the dialler is in no catalog (the group has no
// Authorize hook, so none is consulted).
//
// The baseline is what that path is built from: one quic-go Transport
// listening with a self-signed certificate (ed25519, the key type of
// mosaik's identities), another dialling it with InsecureSkipVerify and
// one ALPN, no client certificate, no session resumption; a sample is
// timed from Dial until the dial has returned and the listener has
// accepted the connection (both handshakes complete).
//
// So the ratio prices what a bond adds to a bare QUIC connection: the
// client certificate and its check (mutual authentication), mosaik's
// per-dial TLS config, the stream and its preamble, one round trip for
// HandshakeStart/HandshakeEnd with the proofs, and the acceptor's
// handler, group actor and bond actor.
//
// Two extra lines (variants "join" and "join-waits") measure end to end
// what a user pays to bond after Node.Join, with two cluster nodes that
// already see each other in their catalogs and a fresh group per sample:
// one node joins, the other waits until its catalog lists that
// membership, then is timed from its Join until both nodes' WaitBonds
// see the bond. In "join" the joiner is the lower peer id, so it dials at
// once (no gossip on the timed path, but Join, the catalog follower and
// both actors are on it); in "join-waits" it is the higher one, which by
// the bond rule waits for the member to dial, so the figure is mostly
// the gossip that carries the joiner's new membership to the member.
// They run against the same baseline, for scale; no goal applies.
//
// BenchmarkBondEstablishBreakdown (bond_breakdown_bench_test.go) splits
// the "bond" figure into steps, to show where the time goes.

// bondTimeout bounds one side of one round.
const bondTimeout = time.Minute

// bondBaseALPN is the baseline's protocol name.
const bondBaseALPN = "mosaik-bench/b11"

// bondRun numbers networks so that no round sees another's nodes.
var bondRun atomic.Uint64

func bondNetwork() string { return "bench-bond-" + strconv.FormatUint(bondRun.Add(1), 10) }

// bondGroup is the group every B11 sample bonds in, each with its own key.
func bondGroup() cluster.GroupConfig {
	return cluster.GroupConfig{
		Key:     groups.NewKey(),
		Machine: statemachine.NoOpMachine,
	}
}

// bondSplit records, for the latest round of the "bond" variant, the
// medians of the two parts of a sample: the QUIC dial (quicnet.Dial
// returning) and the bond handshake exchange after it.
type bondSplit struct {
	mu             sync.Mutex
	dial, exchange float64
}

func (s *bondSplit) set(dial, exchange float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dial, s.exchange = dial, exchange
}

func (s *bondSplit) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("dial %.0f us + bond handshake %.0f us", s.dial, s.exchange)
}

// bondAcceptor is a real node that has joined a group: the accepting side
// of every "bond" sample. It is alone in its network.
type bondAcceptor struct {
	node *cluster.Node
	grp  *cluster.Group
	key  groups.Key
}

func startBondAcceptor(ctx context.Context) (*bondAcceptor, error) {
	node, err := cluster.Start(ctx, cluster.Config{DataDir: cluster.InMemory, Network: bondNetwork(), Discovery: discovery.FastConfig()})
	if err != nil {
		return nil, fmt.Errorf("acceptor: start: %w", err)
	}
	cfg := bondGroup()
	grp, err := node.Join(ctx, cfg)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("acceptor: join: %w", err), closeBondNodes(node))
	}
	return &bondAcceptor{node: node, grp: grp, key: cfg.Key}, nil
}

func (a *bondAcceptor) close() error { return closeBondNodes(a.node) }

// bondDialer is the dialling side of the "bond" samples: one quicnet
// endpoint with an identity of its own, in no catalog.
type bondDialer struct {
	key id.SecretKey
	ep  *quicnet.Endpoint
}

func newBondDialer() (*bondDialer, error) {
	key := id.NewSecretKey()
	ep, err := quicnet.Listen(quicnet.Config{Key: key})
	if err != nil {
		return nil, fmt.Errorf("dialler: listen: %w", err)
	}
	return &bondDialer{key: key, ep: ep}, nil
}

func (d *bondDialer) close() error {
	if err := d.ep.Close(); err != nil {
		return fmt.Errorf("dialler: close: %w", err)
	}
	return nil
}

// handshake dials peer at addr for /mosaik/groups/1 and runs the dialling
// half of the bond handshake. It returns the open link and the times from
// its start to Dial's return (dial) and to VerifyEnd's success (total).
func (d *bondDialer) handshake(ctx context.Context, peer id.PeerID, addr string, network id.NetworkID, group id.GroupID, key groups.Key) (_ transport.Link, dial, total time.Duration, _ error) {
	t0 := time.Now()
	link, err := d.ep.Dial(ctx, peer, addr, transport.ALPNGroups)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("dial: %w", err)
	}
	dial = time.Since(t0)
	err = bondHandshake(ctx, link, network, group, key, d.key.PeerID())
	total = time.Since(t0)
	if err != nil {
		link.Close(transport.CodeBadHandshake, "handshake failed")
		return nil, 0, 0, err
	}
	return link, dial, total, nil
}

// bond establishes one bond with a and takes it down again. Only the
// establishment is timed. Untimed, it waits for a's group to list the bond
// (its real acceptor took it), hangs up, and waits for the group to drop
// it, so that the next sample is a new bond and not a duplicate.
func (d *bondDialer) bond(ctx context.Context, a *bondAcceptor) (dial, total time.Duration, err error) {
	link, dial, total, err := d.handshake(ctx, a.node.PeerID(), a.node.Addr(), a.node.NetworkID(), a.grp.ID(), a.key)
	if err != nil {
		return 0, 0, err
	}
	self := d.key.PeerID()
	if _, err := a.grp.WaitBonds(ctx, func(v cluster.BondsView) bool { return v.Has(self) }); err != nil {
		link.Close(transport.CodeGracefulShutdown, "bench failed")
		return 0, 0, fmt.Errorf("acceptor never listed the bond: %w", err)
	}
	link.Close(transport.CodeSuccess, "sample done")
	if _, err := a.grp.WaitBonds(ctx, func(v cluster.BondsView) bool { return !v.Has(self) }); err != nil {
		return 0, 0, fmt.Errorf("acceptor kept the bond: %w", err)
	}
	return dial, total, nil
}

// bondOurs is the "bond" side: samples bonds with one node's real
// acceptor. It returns the median in µs and closes everything it started.
func bondOurs(ctx context.Context, samples int, split *bondSplit) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, bondTimeout)
	defer cancel()
	acc, err := startBondAcceptor(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, acc.close()) }()
	dialer, err := newBondDialer()
	if err != nil {
		return 0, err
	}
	// Deferred after the acceptor's close, so it runs first.
	defer func() { err = errors.Join(err, dialer.close()) }()

	dials := make([]float64, 0, samples)
	exchanges := make([]float64, 0, samples)
	totals := make([]float64, 0, samples)
	for i := range samples {
		dial, total, err := dialer.bond(ctx, acc)
		if err != nil {
			return 0, fmt.Errorf("sample %d: %w", i, err)
		}
		dials = append(dials, Micros(dial))
		exchanges = append(exchanges, Micros(total-dial))
		totals = append(totals, Micros(total))
	}
	if split != nil {
		split.set(Median(dials), Median(exchanges))
	}
	return Median(totals), nil
}

// bondHandshake is the dialling half of the bond handshake, as the bond
// actor runs it (actors.outgoingHandshake, unexported): prove the key on
// this connection, then check the acceptor's proof.
func bondHandshake(ctx context.Context, link transport.Link, network id.NetworkID, group id.GroupID, key groups.Key, self id.PeerID) error {
	secret, err := link.SharedSecret(groups.SecretLabel(group))
	if err != nil {
		return err
	}
	start := groups.Start{Network: network, Group: group}
	if err := link.Send(ctx, start.Proto(key, secret, self)); err != nil {
		return fmt.Errorf("send handshake: %w", err)
	}
	var end messages.HandshakeEnd
	if err := link.Recv(ctx, &end); err != nil {
		return fmt.Errorf("read handshake: %w", err)
	}
	_, err = groups.VerifyEnd(&end, key, secret, link.Peer())
	return err
}

// bondJoinOurs is the "join" side (joinerDials) or the "join-waits" side:
// two discovered nodes, a fresh group per sample. It returns the median
// in µs and closes both nodes.
func bondJoinOurs(ctx context.Context, samples int, profile discovery.Config, joinerDials bool) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, bondTimeout)
	defer cancel()
	network := bondNetwork()
	a, err := cluster.Start(ctx, cluster.Config{DataDir: cluster.InMemory, Network: network, Discovery: profile})
	if err != nil {
		return 0, fmt.Errorf("node a: start: %w", err)
	}
	b, err := cluster.Start(ctx, cluster.Config{DataDir: cluster.InMemory, Network: network, Discovery: profile, Bootstrap: []string{a.GossipAddr()}})
	if err != nil {
		return 0, errors.Join(fmt.Errorf("node b: start: %w", err), closeBondNodes(a))
	}
	defer func() { err = errors.Join(err, closeBondNodes(b, a)) }()
	both := func(s *discovery.Snapshot) bool { return s.Len() >= 2 }
	for _, n := range []*cluster.Node{a, b} {
		if err := n.WaitCatalog(ctx, both); err != nil {
			return 0, err
		}
	}
	joiner, member := a, b
	if groups.Dials(b.PeerID(), a.PeerID()) == joinerDials {
		joiner, member = b, a
	}

	totals := make([]float64, 0, samples)
	for i := range samples {
		cfg := bondGroup()
		gm, err := member.Join(ctx, cfg)
		if err != nil {
			return 0, fmt.Errorf("sample %d: member: join: %w", i, err)
		}
		gid := gm.ID()
		if err := joiner.WaitCatalog(ctx, func(s *discovery.Snapshot) bool {
			e, ok := s.Get(member.PeerID())
			return ok && e.InGroup(gid)
		}); err != nil {
			return 0, fmt.Errorf("sample %d: membership never reached the joiner: %w", i, err)
		}
		t0 := time.Now()
		gj, err := joiner.Join(ctx, cfg)
		if err != nil {
			return 0, fmt.Errorf("sample %d: joiner: join: %w", i, err)
		}
		if _, err := gj.WaitBonds(ctx, func(v cluster.BondsView) bool { return v.Has(member.PeerID()) }); err != nil {
			return 0, fmt.Errorf("sample %d: joiner: %w", i, err)
		}
		if _, err := gm.WaitBonds(ctx, func(v cluster.BondsView) bool { return v.Has(joiner.PeerID()) }); err != nil {
			return 0, fmt.Errorf("sample %d: member: %w", i, err)
		}
		totals = append(totals, Micros(time.Since(t0)))
		var leaveJ, leaveM error
		var wg sync.WaitGroup
		wg.Go(func() { leaveJ = gj.Leave(ctx) })
		wg.Go(func() { leaveM = gm.Leave(ctx) })
		wg.Wait()
		if err := errors.Join(leaveJ, leaveM); err != nil {
			return 0, fmt.Errorf("sample %d: leave: %w", i, err)
		}
	}
	return Median(totals), nil
}

// closeBondNodes closes nodes one after the other, so that each but the
// last says farewell to a peer that is still up. A farewell that times out
// is counted (see departTimeouts), not failed.
func closeBondNodes(nodes ...*cluster.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), bondTimeout)
	defer cancel()
	var errs []error
	for _, n := range nodes {
		err := n.Close(ctx)
		switch {
		case err == nil:
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			departTimeouts.Add(1)
		default:
			errs = append(errs, fmt.Errorf("close %s: %w", n.PeerID().Short(), err))
		}
	}
	return errors.Join(errs...)
}

// quicPair is the baseline's plain quic-go: a listening Transport with a
// self-signed certificate and a dialling one, each on its own loopback
// socket, quic-go's default config. With mutual, the dialler presents a
// certificate too and the listener requires one (any), as mosaik's
// endpoints do; with echo, a goroutine per accepted connection answers
// one stream message (see [quicPair.exchange]).
type quicPair struct {
	spc, cpc       *net.UDPConn
	server, client *quic.Transport
	ln             *quic.Listener
	clientTLS      *tls.Config

	// ctx ends at close, releasing the echo goroutines, which wg counts.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// quicEchoSize is the message [quicPair.exchange] sends and reads back:
// about a HandshakeStart's frame.
const quicEchoSize = 104

func newQuicPair(mutual, echo bool) (_ *quicPair, err error) {
	serverCert, err := bondBaseCert()
	if err != nil {
		return nil, err
	}
	p := &quicPair{}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	listenUDP := func() (*net.UDPConn, error) {
		return net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	}
	if p.spc, err = listenUDP(); err != nil {
		return nil, err
	}
	if p.cpc, err = listenUDP(); err != nil {
		return nil, err
	}
	p.server, p.client = &quic.Transport{Conn: p.spc}, &quic.Transport{Conn: p.cpc}
	serverTLS := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{serverCert},
		NextProtos:   []string{bondBaseALPN},
	}
	p.clientTLS = &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		NextProtos:         []string{bondBaseALPN},
	}
	if mutual {
		clientCert, err := bondBaseCert()
		if err != nil {
			return nil, err
		}
		serverTLS.ClientAuth = tls.RequireAnyClientCert
		p.clientTLS.Certificates = []tls.Certificate{clientCert}
	}
	if p.ln, err = p.server.Listen(serverTLS, nil); err != nil {
		return nil, err
	}
	if echo {
		p.wg.Go(p.echoLoop)
	}
	return p, nil
}

// echoLoop accepts connections and answers each one's first stream
// message, then holds the connection until the dialler closes it.
func (p *quicPair) echoLoop() {
	for {
		conn, err := p.ln.Accept(p.ctx)
		if err != nil {
			return
		}
		p.wg.Go(func() {
			defer conn.CloseWithError(0, "")
			str, err := conn.AcceptStream(p.ctx)
			if err != nil {
				return
			}
			buf := make([]byte, quicEchoSize)
			if _, err := io.ReadFull(str, buf); err != nil {
				return
			}
			if _, err := str.Write(buf); err != nil {
				return
			}
			select {
			case <-conn.Context().Done():
			case <-p.ctx.Done():
			}
		})
	}
}

// connect is one baseline sample: dial, and accept on the listener, timed
// until both are done (both ends completed the handshake). Both ends are
// closed before it returns.
func (p *quicPair) connect(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	conn, err := p.client.Dial(ctx, p.spc.LocalAddr(), p.clientTLS, nil)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	sconn, err := p.ln.Accept(ctx)
	elapsed := time.Since(t0)
	conn.CloseWithError(0, "")
	if err != nil {
		return 0, fmt.Errorf("accept: %w", err)
	}
	sconn.CloseWithError(0, "")
	return elapsed, nil
}

// exchange is one sample of a pair made with echo: dial, open a stream,
// send quicEchoSize bytes and read them back, timed until they are back.
func (p *quicPair) exchange(ctx context.Context) (time.Duration, error) {
	t0 := time.Now()
	conn, err := p.client.Dial(ctx, p.spc.LocalAddr(), p.clientTLS, nil)
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStream()
	if err != nil {
		return 0, fmt.Errorf("open stream: %w", err)
	}
	buf := make([]byte, quicEchoSize)
	if _, err := str.Write(buf); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(str, buf); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	return time.Since(t0), nil
}

func (p *quicPair) close() error {
	p.cancel()
	var errs []error
	if p.ln != nil {
		errs = append(errs, p.ln.Close())
	}
	p.wg.Wait()
	for _, tr := range []*quic.Transport{p.client, p.server} {
		if tr != nil {
			errs = append(errs, tr.Close())
		}
	}
	for _, pc := range []*net.UDPConn{p.cpc, p.spc} {
		if pc != nil {
			errs = append(errs, pc.Close())
		}
	}
	return errors.Join(errs...)
}

// bondBase is the baseline side: samples raw quic-go connections, each
// timed from Dial until both ends completed the handshake. It returns the
// median in µs and closes everything it started.
func bondBase(ctx context.Context, samples int) (_ float64, err error) {
	ctx, cancel := context.WithTimeout(ctx, bondTimeout)
	defer cancel()
	p, err := newQuicPair(false, false)
	if err != nil {
		return 0, fmt.Errorf("baseline: %w", err)
	}
	defer func() { err = errors.Join(err, p.close()) }()
	totals := make([]float64, 0, samples)
	for i := range samples {
		d, err := p.connect(ctx)
		if err != nil {
			return 0, fmt.Errorf("sample %d: %w", i, err)
		}
		totals = append(totals, Micros(d))
	}
	return Median(totals), nil
}

// bondBaseCert is a self-signed certificate for the baseline, with an
// ed25519 key as mosaik's identities have.
func bondBaseCert() (tls.Certificate, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bench-b11"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("baseline certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, nil
}

// bondVariant is one line of B11.
type bondVariant struct {
	name    string
	goal    string
	samples int // ours per round; the baseline takes bondBaseSamples
	ours    func(ctx context.Context, samples int, split *bondSplit) (float64, error)
}

// bondBaseSamples is the baseline's samples per round in every variant.
const bondBaseSamples = 50

var bondVariants = []bondVariant{
	{"bond", "<= 1.3", 50, bondOurs},
	{"join", "n/a", 15, func(ctx context.Context, n int, _ *bondSplit) (float64, error) {
		return bondJoinOurs(ctx, n, discovery.DefaultConfig(), true)
	}},
	{"join-waits", "n/a", 10, func(ctx context.Context, n int, _ *bondSplit) (float64, error) {
		return bondJoinOurs(ctx, n, discovery.DefaultConfig(), false)
	}},
}

func bondSpec(variant, goal string) Spec {
	return Spec{
		ID:       "B11",
		Name:     "bond/establish",
		Variant:  variant,
		Baseline: "quic-go dial + TLS 1.3 handshake, p50",
		Unit:     "us",
		Goal:     goal,
		Fsync:    "n/a",
	}
}

// bondMeasures returns the two sides of one B11 variant.
func bondMeasures(v bondVariant, ourSamples, baseSamples int, split *bondSplit) (ours, base Measure) {
	ours = func(ctx context.Context) (float64, error) { return v.ours(ctx, ourSamples, split) }
	base = func(ctx context.Context) (float64, error) { return bondBase(ctx, baseSamples) }
	return ours, base
}

// BenchmarkBondEstablish is B11. Each b.Loop iteration is one round (ours
// and the baseline, alternating who goes first), each side taking the p50
// of its samples, so -benchtime Nx runs N rounds per variant. ns/op is
// the wall time of a whole round; read ratio, ours-us and base-us.
func BenchmarkBondEstablish(b *testing.B) {
	for _, v := range bondVariants {
		b.Run(v.name, func(b *testing.B) {
			var split bondSplit
			ours, base := bondMeasures(v, v.samples, bondBaseSamples, &split)
			var pairs []Pair
			timeoutsBefore := departTimeouts.Load()
			for round := 0; b.Loop(); round++ {
				pair, err := RunPair(context.Background(), round, ours, base)
				if err != nil {
					b.Fatal(err)
				}
				if v.name == "bond" {
					b.Logf("round %d: ours %.0f us (%s), base %.0f us, ratio %.3f", round, pair.Ours, &split, pair.Base, pair.Ratio())
				} else {
					b.Logf("round %d: ours %.0f us, base %.0f us, ratio %.3f", round, pair.Ours, pair.Base, pair.Ratio())
				}
				pairs = append(pairs, pair)
			}
			r := Summarize(bondSpec(v.name, v.goal), pairs)
			r.Report(b)
			b.Log(r)
			if d := departTimeouts.Load() - timeoutsBefore; d > 0 {
				b.Logf("%d node closes timed out saying farewell", d)
			}
			results.Add(r)
		})
	}
}

// TestBondEstablishSmoke runs each B11 variant for one round of a few
// samples, the end-to-end ones on the fast discovery profile, so that the
// benchmark's machinery keeps working. It checks that both sides bond and
// connect and that the ratio is a number, never how fast anything is.
func TestBondEstablishSmoke(t *testing.T) {
	smoke := []struct {
		v           bondVariant
		ours, base  int
		description string
	}{
		{bondVariants[0], 3, 3, "bond path"},
		{bondVariant{"join", "n/a", 1, func(ctx context.Context, n int, _ *bondSplit) (float64, error) {
			return bondJoinOurs(ctx, n, discovery.FastConfig(), true)
		}}, 1, 3, "end to end, joiner dials"},
		{bondVariant{"join-waits", "n/a", 1, func(ctx context.Context, n int, _ *bondSplit) (float64, error) {
			return bondJoinOurs(ctx, n, discovery.FastConfig(), false)
		}}, 1, 3, "end to end, member dials"},
	}
	for _, s := range smoke {
		t.Run(s.v.name, func(t *testing.T) {
			ours, base := bondMeasures(s.v, s.ours, s.base, nil)
			pairs, err := Interleave(t.Context(), 1, ours, base)
			if err != nil {
				t.Fatal(err)
			}
			r := Summarize(bondSpec(s.v.name, s.v.goal), pairs)
			if !(r.Ratio > 0) || math.IsInf(r.Ratio, 0) {
				t.Fatalf("%s: ratio %v, want a positive finite number", s.description, r.Ratio)
			}
			t.Log(r)
		})
	}
	t.Run("breakdown", testBondBreakdownSmoke)
}

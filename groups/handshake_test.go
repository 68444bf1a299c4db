package groups

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
	"github.com/mosaikgo/mosaik/transport"
)

// handshakeFixture is one acceptor that joined one group, a dialer, and two
// connections between them (conn is the one under test, other is any
// other connection: its secrets are what a replay carries).
type handshakeFixture struct {
	network, otherNet id.NetworkID
	key, wrongKey     Key
	group, unknown    id.GroupID
	dialer, acceptor  id.PeerID
	conn, other       SecretFunc
	authorized        []id.PeerID // nil: everyone
	authorizeCalls    int
}

func newHandshakeFixture() *handshakeFixture {
	f := &handshakeFixture{
		network:  id.Of("net"),
		otherNet: id.Of("other-net"),
		key:      KeyFromSecret("group key"),
		wrongKey: KeyFromSecret("wrong key"),
		dialer:   id.SecretKeyFromSeed("dialer").PeerID(),
		acceptor: id.SecretKeyFromSeed("acceptor").PeerID(),
		conn:     fakeConnection("conn-1"),
		other:    fakeConnection("conn-2"),
	}
	f.group = ID(f.key, ConsensusConfig{}, id.Of("machine"))
	f.unknown = ID(f.key, FastConsensus(), id.Of("machine"))
	return f
}

// fakeConnection stands in for a link's TLS exporter: equal for equal
// labels on one connection, different across connections and labels.
func fakeConnection(name string) SecretFunc {
	return func(label string) ([]byte, error) {
		return id.Hash([]byte(name + "/" + label)).Bytes(), nil
	}
}

func (f *handshakeFixture) lookup(g id.GroupID) (JoinedGroup, bool) {
	if g != f.group {
		return JoinedGroup{}, false
	}
	return JoinedGroup{Key: f.key, Authorize: func(p id.PeerID) error {
		f.authorizeCalls++
		if f.authorized != nil && !slices.Contains(f.authorized, p) {
			return fmt.Errorf("no ticket for %s", p.Short())
		}
		return nil
	}}, true
}

func (f *handshakeFixture) secret(conn SecretFunc) []byte {
	s, err := conn(SecretLabel(f.group))
	if err != nil {
		panic(err)
	}
	return s
}

// start is the honest dialer's HandshakeStart on conn.
func (f *handshakeFixture) start() *messages.HandshakeStart {
	return Start{
		Network:    f.network,
		Group:      f.group,
		KnownBonds: []id.PeerID{id.SecretKeyFromSeed("b1").PeerID(), id.SecretKeyFromSeed("b2").PeerID()},
		Genesis:    []byte("genesis"),
	}.Proto(f.key, f.secret(f.conn), f.dialer)
}

func codeOf(t *testing.T, err error) transport.CloseCode {
	t.Helper()
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("error %v is not a *Rejection", err)
	}
	return rej.Code
}

func TestVerifyStart(t *testing.T) {
	tests := []struct {
		name       string
		change     func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart
		want       transport.CloseCode // 0: accepted
		authorizes bool                // whether Authorize must have run
	}{
		{"honest dialer", nil, 0, true},
		{"no known bonds, no genesis", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.KnownBonds, m.Genesis = nil, nil
			return m
		}, 0, true},
		{"largest genesis", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Genesis = make([]byte, MaxGenesisSize)
			return m
		}, 0, true},

		{"other network", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.NetworkId = f.otherNet.Proto()
			return m
		}, transport.CodeDifferentNetwork, false},
		{"group not joined", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.GroupId = f.unknown.Proto()
			return m
		}, transport.CodeGroupNotFound, false},

		{"nil message", func(*handshakeFixture, *messages.HandshakeStart) *messages.HandshakeStart { return nil }, transport.CodeBadHandshake, false},
		{"empty message", func(*handshakeFixture, *messages.HandshakeStart) *messages.HandshakeStart {
			return &messages.HandshakeStart{}
		}, transport.CodeBadHandshake, false},
		{"short network id", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.NetworkId.Value = m.NetworkId.Value[:31]
			return m
		}, transport.CodeBadHandshake, false},
		{"missing group id", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.GroupId = nil
			return m
		}, transport.CodeBadHandshake, false},
		{"long group id", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.GroupId.Value = append(m.GroupId.Value, 0)
			return m
		}, transport.CodeBadHandshake, false},
		{"missing proof", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = nil
			return m
		}, transport.CodeBadHandshake, false},
		{"short proof", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = m.Proof[:16]
			return m
		}, transport.CodeBadHandshake, false},
		{"malformed known bond", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.KnownBonds = append(m.KnownBonds, &messages.PeerId{Value: []byte{1, 2, 3}})
			return m
		}, transport.CodeBadHandshake, false},
		{"nil known bond", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.KnownBonds = append(m.KnownBonds, nil)
			return m
		}, transport.CodeBadHandshake, false},
		{"genesis too large", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Genesis = make([]byte, MaxGenesisSize+1)
			return m
		}, transport.CodeBadHandshake, false},

		{"proof of the wrong key", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = proofBytes(Proof(f.wrongKey, f.secret(f.conn), f.dialer))
			return m
		}, transport.CodeInvalidProof, false},
		{"proof replayed from another connection", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = proofBytes(Proof(f.key, f.secret(f.other), f.dialer))
			return m
		}, transport.CodeInvalidProof, false},
		{"the acceptor's proof presented as the dialer's", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = proofBytes(Proof(f.key, f.secret(f.conn), f.acceptor))
			return m
		}, transport.CodeInvalidProof, false},
		{"proof bound to another label", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			s, _ := f.conn(SecretLabel(f.unknown))
			m.Proof = proofBytes(Proof(f.key, s, f.dialer))
			return m
		}, transport.CodeInvalidProof, false},
		{"the key's digest as proof", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = proofBytes(f.key.digest())
			return m
		}, transport.CodeInvalidProof, false},
		{"zeros as proof", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			m.Proof = make([]byte, id.DigestSize)
			return m
		}, transport.CodeInvalidProof, false},

		{"dialer not authorized", func(f *handshakeFixture, m *messages.HandshakeStart) *messages.HandshakeStart {
			f.authorized = []id.PeerID{f.acceptor}
			return m
		}, transport.CodeNotAllowed, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHandshakeFixture()
			m := f.start()
			if tc.change != nil {
				m = tc.change(f, m)
			}
			got, err := VerifyStart(m, f.network, f.lookup, f.conn, f.dialer)
			if (f.authorizeCalls > 0) != tc.authorizes {
				t.Errorf("Authorize called %d times", f.authorizeCalls)
			}
			if tc.want != 0 {
				if code := codeOf(t, err); code != tc.want {
					t.Fatalf("code %d (%v), want %d; err %v", code, code, tc.want, err)
				}
				if !errors.Is(err, &Rejection{Code: tc.want}) || errors.Is(err, &Rejection{Code: tc.want + 1}) {
					t.Fatal("errors.Is does not match by code")
				}
				if !strings.HasPrefix(err.Error(), "groups: ") {
					t.Fatalf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if got.Network != f.network || got.Group != f.group {
				t.Fatalf("parsed %+v", got)
			}
			wantBonds, _ := peersFromProto(m.KnownBonds)
			if !slices.Equal(got.KnownBonds, wantBonds) || !bytes.Equal(got.Genesis, m.Genesis) {
				t.Fatalf("parsed bonds %v genesis %q", got.KnownBonds, got.Genesis)
			}
			if len(got.Genesis) > 0 && &got.Genesis[0] == &m.Genesis[0] {
				t.Fatal("genesis aliases the message")
			}
		})
	}
}

func TestVerifyStartReasons(t *testing.T) {
	f := newHandshakeFixture()
	f.authorized = []id.PeerID{}
	_, err := VerifyStart(f.start(), f.network, f.lookup, f.conn, f.dialer)
	var rej *Rejection
	if !errors.As(err, &rej) || !strings.Contains(rej.Reason, "no ticket for "+f.dialer.Short()) {
		t.Fatalf("authorization error not passed on as the reason: %v", err)
	}
}

func TestVerifyStartSecretFailures(t *testing.T) {
	f := newHandshakeFixture()
	gone := func(string) ([]byte, error) { return nil, errors.New("link closed") }
	if _, err := VerifyStart(f.start(), f.network, f.lookup, gone, f.dialer); codeOf(t, err) != transport.CodeBadHandshake {
		t.Fatalf("secret failure: %v", err)
	}
	empty := func(string) ([]byte, error) { return nil, nil }
	m := Start{Network: f.network, Group: f.group}.Proto(f.key, nil, f.dialer)
	if _, err := VerifyStart(m, f.network, f.lookup, empty, f.dialer); codeOf(t, err) != transport.CodeInvalidProof {
		t.Fatalf("a proof bound to no connection was accepted: %v", err)
	}
}

func TestVerifyStartWithoutAuthorize(t *testing.T) {
	f := newHandshakeFixture()
	lookup := func(g id.GroupID) (JoinedGroup, bool) { return JoinedGroup{Key: f.key}, g == f.group }
	if _, err := VerifyStart(f.start(), f.network, lookup, f.conn, f.dialer); err != nil {
		t.Fatalf("nil Authorize refused: %v", err)
	}
	zeroKey := func(id.GroupID) (JoinedGroup, bool) { return JoinedGroup{}, true }
	m := Start{Network: f.network, Group: f.group}.Proto(Key{}, f.secret(f.conn), f.dialer)
	if _, err := VerifyStart(m, f.network, zeroKey, f.conn, f.dialer); codeOf(t, err) != transport.CodeInvalidProof {
		t.Fatalf("a group without a key admitted a peer: %v", err)
	}
}

func TestVerifyEnd(t *testing.T) {
	f := newHandshakeFixture()
	secret := f.secret(f.conn)
	end := func() *messages.HandshakeEnd {
		return End{KnownBonds: []id.PeerID{f.dialer}, Genesis: []byte("g")}.Proto(f.key, secret, f.acceptor)
	}
	tests := []struct {
		name   string
		change func(m *messages.HandshakeEnd) *messages.HandshakeEnd
		key    Key
		secret []byte
		want   transport.CloseCode
	}{
		{"honest acceptor", nil, f.key, secret, 0},
		{"nil", func(*messages.HandshakeEnd) *messages.HandshakeEnd { return nil }, f.key, secret, transport.CodeBadHandshake},
		{"no proof", func(m *messages.HandshakeEnd) *messages.HandshakeEnd { m.Proof = nil; return m }, f.key, secret, transport.CodeBadHandshake},
		{"bad known bond", func(m *messages.HandshakeEnd) *messages.HandshakeEnd {
			m.KnownBonds[0].Value = nil
			return m
		}, f.key, secret, transport.CodeBadHandshake},
		{"genesis too large", func(m *messages.HandshakeEnd) *messages.HandshakeEnd {
			m.Genesis = make([]byte, MaxGenesisSize+1)
			return m
		}, f.key, secret, transport.CodeBadHandshake},
		{"acceptor holds another key", nil, f.wrongKey, secret, transport.CodeInvalidProof},
		{"replayed from another connection", nil, f.key, f.secret(f.other), transport.CodeInvalidProof},
		{"the dialer's own proof echoed", func(m *messages.HandshakeEnd) *messages.HandshakeEnd {
			m.Proof = proofBytes(Proof(f.key, secret, f.dialer))
			return m
		}, f.key, secret, transport.CodeInvalidProof},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := end()
			if tc.change != nil {
				m = tc.change(m)
			}
			got, err := VerifyEnd(m, tc.key, tc.secret, f.acceptor)
			if tc.want != 0 {
				if code := codeOf(t, err); code != tc.want {
					t.Fatalf("code %d, want %d; err %v", code, tc.want, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !slices.Equal(got.KnownBonds, []id.PeerID{f.dialer}) || string(got.Genesis) != "g" {
				t.Fatalf("parsed %+v", got)
			}
		})
	}
}

// TestHandshakeOverTheWire runs both sides through encoded frames, as the
// actors will: dialer builds, acceptor decodes and verifies and answers,
// dialer decodes and verifies.
func TestHandshakeOverTheWire(t *testing.T) {
	f := newHandshakeFixture()
	dialerSecret := f.secret(f.conn)
	startFrame, err := proto.Marshal(Start{Network: f.network, Group: f.group}.Proto(f.key, dialerSecret, f.dialer))
	if err != nil {
		t.Fatal(err)
	}

	m, err := DecodeHandshakeStart(startFrame)
	if err != nil {
		t.Fatal(err)
	}
	start, err := VerifyStart(m, f.network, f.lookup, f.conn, f.dialer)
	if err != nil {
		t.Fatal(err)
	}
	if start.KnownBonds != nil || start.Genesis != nil {
		t.Fatalf("empty lists should parse as nil: %+v", start)
	}
	acceptorSecret, _ := f.conn(SecretLabel(start.Group))
	endFrame, err := proto.Marshal(End{KnownBonds: []id.PeerID{f.dialer}}.Proto(f.key, acceptorSecret, f.acceptor))
	if err != nil {
		t.Fatal(err)
	}

	e, err := DecodeHandshakeEnd(endFrame)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyEnd(e, f.key, dialerSecret, f.acceptor); err != nil {
		t.Fatal(err)
	}

	for _, garbage := range [][]byte{{0xff}, {0x0a, 0x05, 0x01}} {
		if _, err := DecodeHandshakeStart(garbage); codeOf(t, err) != transport.CodeBadHandshake {
			t.Errorf("DecodeHandshakeStart(%x): %v", garbage, err)
		}
		if _, err := DecodeHandshakeEnd(garbage); codeOf(t, err) != transport.CodeBadHandshake {
			t.Errorf("DecodeHandshakeEnd(%x): %v", garbage, err)
		}
	}
}

func TestSecretLabel(t *testing.T) {
	g := id.Of("g")
	if SecretLabel(g) != g.String() || SecretLabel(g) == SecretLabel(id.Of("h")) {
		t.Fatalf("SecretLabel(%s) = %q", g, SecretLabel(g))
	}
}

func TestRejectionError(t *testing.T) {
	err := error(&Rejection{Code: transport.CodeInvalidProof, Reason: "because"})
	if got := err.Error(); got != "groups: handshake rejected: 30405 invalid proof: because" {
		t.Fatalf("Error() = %q", got)
	}
	if errors.Is(err, errors.New("x")) {
		t.Fatal("matches an unrelated error")
	}
}

package discovery

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

// connSecrets stands for one connection: both ends derive the same value
// for a label, another connection a different one.
func connSecrets(conn string) SecretFunc {
	return func(label string) ([]byte, error) {
		d := id.Of(conn).Derive([]byte(label))
		return d[:], nil
	}
}

func TestAdmissionExchange(t *testing.T) {
	dialer, acceptor := id.SecretKeyFromSeed("dialer").PeerID(), id.SecretKeyFromSeed("acceptor").PeerID()
	closed := NewAdmission(testNet, []byte("network secret"))
	open := NewAdmission(testNet, nil)
	if closed.Open() || !open.Open() {
		t.Fatal("Open() does not follow the secret")
	}
	only := id.SecretKeyFromSeed("wanted").PeerID()

	for name, a := range map[string]Admission{"closed": closed, "open": open} {
		t.Run(name, func(t *testing.T) {
			conn := connSecrets("conn 1")
			req, err := a.Request(conn, dialer, SyncAsk{Only: only, Push: true})
			if err != nil {
				t.Fatal(err)
			}
			if a.Open() != (len(req.Proof) == 0) {
				t.Fatalf("proof of %d bytes on a network open=%v", len(req.Proof), a.Open())
			}
			ask, cs, err := a.CheckRequest(req, conn, dialer)
			if err != nil || ask.Only != only || !ask.Push {
				t.Fatalf("CheckRequest = %+v, %v", ask, err)
			}
			acc := a.Accept(cs, acceptor)
			if err := a.CheckAccept(acc, conn, acceptor); err != nil {
				t.Fatalf("CheckAccept: %v", err)
			}
		})
	}
}

func TestAdmissionRefusals(t *testing.T) {
	dialer, acceptor := id.SecretKeyFromSeed("dialer").PeerID(), id.SecretKeyFromSeed("acceptor").PeerID()
	a := NewAdmission(testNet, []byte("network secret"))
	conn := connSecrets("conn 1")
	good, err := a.Request(conn, dialer, SyncAsk{})
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret, _ := NewAdmission(testNet, []byte("another secret")).Request(conn, dialer, SyncAsk{})
	otherNet, _ := NewAdmission(id.Of("elsewhere"), []byte("network secret")).Request(conn, dialer, SyncAsk{})
	fromOpen, _ := NewAdmission(testNet, nil).Request(conn, dialer, SyncAsk{})
	badOnly := &messages.SyncRequest{NetworkId: testNet.Proto(), Proof: good.Proof, Only: &messages.PeerId{Value: []byte{1}}}
	tests := []struct {
		name   string
		req    *messages.SyncRequest
		conn   SecretFunc
		dialer id.PeerID
		want   error
	}{
		{"replayed on another connection", good, connSecrets("conn 2"), dialer, ErrNotAdmitted},
		{"presented by another peer", good, conn, acceptor, ErrNotAdmitted},
		{"wrong secret", wrongSecret, conn, dialer, ErrNotAdmitted},
		{"no proof (an open node)", fromOpen, conn, dialer, ErrNotAdmitted},
		{"other network", otherNet, conn, dialer, ErrWrongNetwork},
		{"no network", &messages.SyncRequest{Proof: good.Proof}, conn, dialer, ErrMalformed},
		{"bad only", badOnly, conn, dialer, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := a.CheckRequest(tc.req, tc.conn, tc.dialer); !errors.Is(err, tc.want) {
				t.Fatalf("CheckRequest = %v, want %v", err, tc.want)
			}
		})
	}
	// The dialer holds the acceptor to the same rule: an echo of its own
	// proof, or none, is refused.
	if err := a.CheckAccept(&messages.SyncAccept{Proof: good.Proof}, conn, acceptor); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("echoed proof accepted: %v", err)
	}
	if err := a.CheckAccept(&messages.SyncAccept{}, conn, acceptor); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("missing proof accepted: %v", err)
	}
	failing := func(string) ([]byte, error) { return nil, errors.New("no exporter") }
	if _, _, err := a.CheckRequest(good, failing, dialer); err == nil {
		t.Fatal("a connection without a secret passed")
	}
	if _, err := a.Request(func(string) ([]byte, error) { return nil, nil }, dialer, SyncAsk{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.CheckRequest(good, func(string) ([]byte, error) { return nil, nil }, dialer); !errors.Is(err, ErrNotAdmitted) {
		t.Fatalf("an empty connection secret passed: %v", err)
	}
}

// TestAdmissionKeyIsNetworkBound: one secret shared by two networks gives
// proofs that do not cross between them.
func TestAdmissionKeyIsNetworkBound(t *testing.T) {
	conn, _ := connSecrets("c")(SyncLabel)
	p := id.SecretKeyFromSeed("p").PeerID()
	x := NewAdmission(id.Of("x"), []byte("s")).Proof(conn, p)
	y := NewAdmission(id.Of("y"), []byte("s")).Proof(conn, p)
	if bytes.Equal(x, y) || len(x) != 32 {
		t.Fatalf("proofs of two networks: %x and %x", x, y)
	}
}

// FuzzSyncRequest feeds arbitrary bytes as the first frame of a sync link,
// to an acceptor of a network with a secret and to one without: refusals
// are the documented errors, and a closed network admits only a request
// whose proof verifies.
func FuzzSyncRequest(f *testing.F) {
	f.Add([]byte{0x1a, 0x22, 0x0a, 0x20})
	dialer := id.SecretKeyFromSeed("fuzz dialer").PeerID()
	conn := connSecrets("fuzz conn")
	closed := NewAdmission(testNet, []byte("fuzz secret"))
	open := NewAdmission(testNet, nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		var m messages.SyncRequest
		if unmarshalErr := proto.Unmarshal(in, &m); unmarshalErr != nil {
			return
		}
		for _, a := range []Admission{closed, open} {
			ask, _, err := a.CheckRequest(&m, conn, dialer)
			if err != nil {
				if !errors.Is(err, ErrNotAdmitted) && !errors.Is(err, ErrWrongNetwork) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("undocumented error %v", err)
				}
				continue
			}
			if !a.Open() {
				cs, _ := conn(SyncLabel)
				if !bytes.Equal(m.GetProof(), a.Proof(cs, dialer)) {
					t.Fatal("a closed network admitted a request without the proof")
				}
			}
			if m.GetOnly() != nil && ask.Only.IsZero() {
				t.Fatal("a request for one peer lost the peer")
			}
		}
	})
}

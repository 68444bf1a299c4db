package quicnet

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// errNotMosaikCert reports a peer certificate that carries no ed25519 key,
// so it cannot name a mosaik peer.
var errNotMosaikCert = errors.New("quicnet: peer certificate holds no ed25519 key")

// errNoALPN refuses a client hello that offers no protocol: without one
// there is no handler to route to.
var errNoALPN = errors.New("quicnet: client offered no ALPN")

// selfSignedCert wraps key in the certificate TLS insists on. Nothing about
// it is checked but its public key: peers compare that with the PeerID they
// expect, and TLS 1.3's CertificateVerify proves we hold the private half.
// So the validity window is wide (clocks between nodes need not agree) and
// no CA is involved.
func selfSignedCert(key id.SecretKey) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quicnet: certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: key.PeerID().String()},
		NotBefore:    now.Add(-24 * time.Hour),
		NotAfter:     now.Add(100 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	priv := key.PrivateKey()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quicnet: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("quicnet: parse own certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv, Leaf: leaf}, nil
}

// peerOf reads the PeerID out of the certificate the other side presented.
func peerOf(cs tls.ConnectionState) (id.PeerID, error) {
	if len(cs.PeerCertificates) == 0 {
		return id.PeerID{}, fmt.Errorf("%w: none presented", errNotMosaikCert)
	}
	pub, ok := cs.PeerCertificates[0].PublicKey.(ed25519.PublicKey)
	if !ok {
		return id.PeerID{}, fmt.Errorf("%w: got %T", errNotMosaikCert, cs.PeerCertificates[0].PublicKey)
	}
	return id.PeerIDFromBytes(pub)
}

// clientTLS is the config for one dial. mismatch is set when the server
// proves a key other than want, so that Dial can report ErrPeerMismatch
// whatever quic-go makes of the failed handshake.
func clientTLS(cert tls.Certificate, want id.PeerID, alpn string, mismatch *atomic.Bool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{alpn},
		// No CA vouches for mosaik peers: VerifyConnection does the one
		// check that matters, the key against the expected PeerID.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			got, err := peerOf(cs)
			if err != nil {
				mismatch.Store(true)
				return fmt.Errorf("%w: %w", transport.ErrPeerMismatch, err)
			}
			if got != want {
				mismatch.Store(true)
				return fmt.Errorf("%w: expected %s, got %s", transport.ErrPeerMismatch, want.Short(), got.Short())
			}
			return nil
		},
	}
}

// serverTLS is the listener's config. It echoes the client's first ALPN
// rather than listing ours, so that routing, and the refusal of unknown
// protocols with CodeInvalidALPN, happens after the handshake where an
// application close code can carry it.
func serverTLS(cert tls.Certificate) *tls.Config {
	base := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		// Any certificate, because the dialer's identity is its key, not a
		// CA's signature; VerifyConnection insists the key is ed25519.
		ClientAuth: tls.RequireAnyClientCert,
		// Resumption would skip the client certificate; every link
		// authenticates afresh.
		SessionTicketsDisabled: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			_, err := peerOf(cs)
			return err
		},
	}
	conf := base.Clone()
	conf.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if len(hello.SupportedProtos) == 0 {
			return nil, errNoALPN
		}
		c := base.Clone()
		c.NextProtos = hello.SupportedProtos[:1]
		return c, nil
	}
	return conf
}

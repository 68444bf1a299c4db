package adversary

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// preamble opens every mosaik link's stream ("msk" and the framing
// version); see package quicnet. It is the wire format, so an outsider
// knows it.
var preamble = []byte{'m', 's', 'k', 1}

// Outsider is a host on the victim's network that holds no key of it: it
// speaks QUIC and TLS with a certificate of its own making, as anyone
// can, and writes whatever bytes it likes. One Outsider is one UDP socket
// on one local address; several on different loopback addresses
// (127.0.0.2, ...) stand for several hosts.
//
// An Outsider is safe for concurrent use. Close ends every connection it
// opened.
type Outsider struct {
	pc   net.PacketConn
	tr   *quic.Transport
	cert tls.Certificate
	peer id.PeerID
}

// NewOutsider binds a UDP socket on local (an IP address; port 0).
func NewOutsider(local string) (*Outsider, error) {
	pc, err := net.ListenPacket("udp", net.JoinHostPort(local, "0"))
	if err != nil {
		return nil, fmt.Errorf("adversary: listen on %s: %w", local, err)
	}
	cert, peer, err := selfSigned()
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	return &Outsider{pc: pc, tr: &quic.Transport{Conn: pc}, cert: cert, peer: peer}, nil
}

// PeerID is the identity the outsider's certificate proves: a key of its
// own making.
func (o *Outsider) PeerID() id.PeerID { return o.peer }

// Secret is the connection's TLS exporter value for label, which a mosaik
// peer's proofs are bound to; the outsider can compute it for its own
// connections like anyone.
func Secret(conn *quic.Conn, label string) ([]byte, error) {
	cs := conn.ConnectionState().TLS
	return cs.ExportKeyingMaterial(label, nil, 32)
}

// Close closes every connection and the socket.
func (o *Outsider) Close() error {
	return errors.Join(o.tr.Close(), o.pc.Close())
}

// selfSigned makes the certificate of a fresh ed25519 key, the kind a
// mosaik node presents, so that the victim's TLS accepts it.
func selfSigned() (tls.Certificate, id.PeerID, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, id.PeerID{}, err
	}
	peer, err := id.PeerIDFromBytes(pub)
	if err != nil {
		return tls.Certificate{}, id.PeerID{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "outsider"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return tls.Certificate{}, id.PeerID{}, fmt.Errorf("adversary: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}, peer, nil
}

// Connect completes a QUIC and TLS handshake with the node at addr
// (host:port of its transport) for alpn, and opens nothing more.
func (o *Outsider) Connect(ctx context.Context, addr, alpn string) (*quic.Conn, error) {
	udp, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("adversary: %q: %w", addr, err)
	}
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{o.cert},
		InsecureSkipVerify: true, // an outsider trusts whoever answers
		NextProtos:         []string{alpn},
	}
	// A short idle timeout: a victim's close that the network lost is
	// noticed soon.
	return o.tr.Dial(ctx, udp, conf, &quic.Config{HandshakeIdleTimeout: 5 * time.Second, MaxIdleTimeout: 5 * time.Second})
}

// Link is a raw mosaik link opened by an outsider: a connection and its
// stream, past the preamble. Frames are written and read by hand.
type Link struct {
	Conn   *quic.Conn
	Stream *quic.Stream
}

// Open connects and opens the link's stream with the preamble.
func (o *Outsider) Open(ctx context.Context, addr, alpn string) (*Link, error) {
	conn, err := o.Connect(ctx, addr, alpn)
	if err != nil {
		return nil, err
	}
	str, err := conn.OpenStream()
	if err != nil {
		_ = conn.CloseWithError(0, "")
		return nil, fmt.Errorf("adversary: open stream: %w", err)
	}
	if _, err := str.Write(preamble); err != nil {
		_ = conn.CloseWithError(0, "")
		return nil, fmt.Errorf("adversary: preamble: %w", err)
	}
	return &Link{Conn: conn, Stream: str}, nil
}

// WriteFrame writes payload as one frame.
func (l *Link) WriteFrame(payload []byte) error {
	_, err := l.Stream.Write(transport.AppendFrame(nil, payload))
	return err
}

// WriteHeader writes a frame header announcing n bytes, and nothing of
// them.
func (l *Link) WriteHeader(n uint32) error {
	_, err := l.Stream.Write(binary.BigEndian.AppendUint32(nil, n))
	return err
}

// WriteBody writes n bytes of zeros, as fast as the victim's flow control
// lets it, and stops early when the link ends.
func (l *Link) WriteBody(n int) error {
	buf := make([]byte, min(n, 64<<10))
	for n > 0 {
		k, err := l.Stream.Write(buf[:min(n, len(buf))])
		n -= k
		if err != nil {
			return err
		}
	}
	return nil
}

// ReadFrame reads one frame of at most max bytes.
func (l *Link) ReadFrame(ctx context.Context, max int) ([]byte, error) {
	if d, ok := ctx.Deadline(); ok {
		_ = l.Stream.SetReadDeadline(d)
	}
	return transport.ReadFrame(l.Stream, max)
}

// Close closes the connection.
func (l *Link) Close() { _ = l.Conn.CloseWithError(0, "") }

// CloseCode waits until the victim ends the connection, or ctx does, and
// returns the application close code it sent (ok false if it ended
// otherwise).
func CloseCode(ctx context.Context, conn *quic.Conn) (code transport.CloseCode, ok bool) {
	select {
	case <-conn.Context().Done():
	case <-ctx.Done():
		return 0, false
	}
	var ae *quic.ApplicationError
	if errors.As(context.Cause(conn.Context()), &ae) && ae.Remote {
		return transport.CloseCode(ae.ErrorCode), true
	}
	return 0, false
}

// Drain reads and discards what the victim sends until the link ends.
func (l *Link) Drain() { _, _ = io.Copy(io.Discard, l.Stream) }

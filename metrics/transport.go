package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

// CountTraffic returns ep with the payload bytes of every frame its links
// send and receive counted in mosaik_network_egress_bytes_total and
// mosaik_network_ingress_bytes_total, and the links themselves in
// mosaik_network_connections_opened_total: links it dials and links its
// handlers are given. Frame headers and the transport's own overhead
// (QUIC, TLS) are not counted. On a nil *Node it returns ep itself.
//
// The returned endpoint behaves exactly as ep does (it passes every call
// through) and owns ep: closing it closes ep.
func (n *Node) CountTraffic(ep transport.Endpoint) transport.Endpoint {
	if n == nil {
		return ep
	}
	return &countedEndpoint{Endpoint: ep, sent: n.netBytesSent, recv: n.netBytesRecv, opened: n.netOpened}
}

type countedEndpoint struct {
	transport.Endpoint
	sent, recv, opened prometheus.Counter
}

func (e *countedEndpoint) Handle(alpn string, h transport.Handler) error {
	return e.Endpoint.Handle(alpn, func(l transport.Link) {
		e.opened.Inc()
		h(e.wrap(l))
	})
}

func (e *countedEndpoint) Dial(ctx context.Context, peer id.PeerID, addr string, alpn string) (transport.Link, error) {
	l, err := e.Endpoint.Dial(ctx, peer, addr, alpn)
	if err != nil {
		return nil, err
	}
	e.opened.Inc()
	return e.wrap(l), nil
}

func (e *countedEndpoint) wrap(l transport.Link) transport.Link {
	return &countedLink{Link: l, sent: e.sent, recv: e.recv}
}

// countedLink counts what gets through: a frame that failed to send or
// to arrive is not traffic.
type countedLink struct {
	transport.Link
	sent, recv prometheus.Counter
}

func (l *countedLink) Send(ctx context.Context, msg proto.Message) error {
	err := l.Link.Send(ctx, msg)
	if err == nil {
		l.sent.Add(float64(proto.Size(msg)))
	}
	return err
}

// Recv counts the decoded message's encoded size, which is the frame's
// payload size for every message the other side encoded with proto.
func (l *countedLink) Recv(ctx context.Context, msg proto.Message) error {
	err := l.Link.Recv(ctx, msg)
	if err == nil {
		l.recv.Add(float64(proto.Size(msg)))
	}
	return err
}

func (l *countedLink) SendFrame(ctx context.Context, payload []byte) error {
	err := l.Link.SendFrame(ctx, payload)
	if err == nil {
		l.sent.Add(float64(len(payload)))
	}
	return err
}

func (l *countedLink) RecvFrame(ctx context.Context) ([]byte, error) {
	payload, err := l.Link.RecvFrame(ctx)
	if err == nil {
		l.recv.Add(float64(len(payload)))
	}
	return payload, err
}

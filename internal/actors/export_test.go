package actors

import (
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// DialNow makes g's actor dial peer at once if it has no bond with it,
// bypassing the rule that only the lower peer dials, so that tests can
// make both sides of a pair dial simultaneously.
func DialNow(g *Group, peer id.PeerID, addr string) {
	g.owner.sys.Root().Send(g.pid, &dialNow{peer: peer, addr: addr})
}

// SetHandshakeTimeout shortens the acceptor's handshake timeout for a
// test and returns a function that restores it.
func SetHandshakeTimeout(d time.Duration) (restore func()) {
	old := handshakeTimeout
	handshakeTimeout = d
	return func() { handshakeTimeout = old }
}

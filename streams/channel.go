package streams

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// ChannelState is where a channel between a producer and a consumer is.
type ChannelState int

const (
	// Connecting: dialling, handshaking, or waiting to retry.
	Connecting ChannelState = iota
	// Connected: datums flow.
	Connected
	// Terminated: the channel ended for good (refused, closed, given up).
	Terminated
)

func (s ChannelState) String() string {
	switch s {
	case Connected:
		return "connected"
	case Terminated:
		return "terminated"
	}
	return "connecting"
}

// ChannelInfo describes one channel as one side sees it.
type ChannelInfo struct {
	// Peer is the other side: a consumer in Producer.Consumers, a
	// producer in Consumer.Producers.
	Peer id.PeerID
	// Entry is the peer's catalog entry as last seen.
	Entry discovery.Entry
	State ChannelState
	// Datums and Bytes count what went through this channel on this side:
	// written to the link by a producer, handed to the receive queue by a
	// consumer. Bytes are payload bytes: the encoded datums, exactly,
	// without framing.
	Datums, Bytes uint64
	// Dropped counts datums a producer dropped for this consumer because
	// its queue was full (only with DropLagging).
	Dropped uint64
	// ConnectedAt is when the channel last connected; zero if never.
	ConnectedAt time.Time
	// Uptime is how long the channel has been connected now; zero unless
	// Connected.
	Uptime time.Duration
	// RTT is the round trip measured on the channel's last handshake.
	RTT    time.Duration
	HasRTT bool
	// Err tells why the channel last ended; nil while it never did.
	Err error
}

// channelRecord is the shared record of one channel: counters written by
// the goroutine moving its bytes, the rest by its actor, read by anyone.
type channelRecord struct {
	peer    id.PeerID
	datums  atomic.Uint64
	bytes   atomic.Uint64
	dropped atomic.Uint64

	mu struct {
		sync.Mutex
		state       ChannelState
		entry       discovery.Entry
		connectedAt time.Time
		rtt         time.Duration
		hasRTT      bool
		err         error
	}
}

func newChannelRecord(peer id.PeerID, entry discovery.Entry) *channelRecord {
	r := &channelRecord{peer: peer}
	r.mu.entry = entry
	return r
}

func (r *channelRecord) setEntry(e discovery.Entry) {
	r.mu.Lock()
	r.mu.entry = e
	r.mu.Unlock()
}

func (r *channelRecord) setRTT(d time.Duration) {
	r.mu.Lock()
	r.mu.rtt, r.mu.hasRTT = d, true
	r.mu.Unlock()
}

func (r *channelRecord) setState(s ChannelState, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s == Connected && r.mu.state != Connected {
		r.mu.connectedAt = time.Now()
	}
	r.mu.state = s
	if err != nil {
		r.mu.err = err
	}
}

func (r *channelRecord) state() ChannelState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.state
}

func (r *channelRecord) peerInfo(criteria []byte) PeerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return PeerInfo{Entry: r.mu.entry, RTT: r.mu.rtt, HasRTT: r.mu.hasRTT, Criteria: criteria}
}

// info is the record's current state.
func (r *channelRecord) info() ChannelInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	ci := ChannelInfo{
		Peer: r.peer, Entry: r.mu.entry, State: r.mu.state,
		Datums: r.datums.Load(), Bytes: r.bytes.Load(), Dropped: r.dropped.Load(),
		ConnectedAt: r.mu.connectedAt, RTT: r.mu.rtt, HasRTT: r.mu.hasRTT, Err: r.mu.err,
	}
	if ci.State == Connected {
		ci.Uptime = time.Since(ci.ConnectedAt)
	}
	return ci
}

// sideView is what one side (a producer or a consumer) publishes after
// every change of its channels, for When and the listings.
type sideView struct {
	channels  []*channelRecord
	online    bool
	connected int
	closed    bool
}

func infos(rs []*channelRecord) []ChannelInfo {
	out := make([]ChannelInfo, len(rs))
	for i, r := range rs {
		out[i] = r.info()
	}
	return out
}

// Stats are a side's totals over all its channels, past ones included.
type Stats struct {
	Datums, Bytes, Dropped uint64
	// Undelivered counts datums a producer sent while no consumer was
	// connected (handed to its UndeliveredSink if it has one).
	Undelivered uint64
}

package streams

import (
	"slices"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
)

// PeerInfo is what a requirement sees of the other side of a channel: its
// signed catalog entry and the channel's round trip, when one was measured.
type PeerInfo struct {
	Entry discovery.Entry
	// RTT is the round trip measured on the channel's handshake; HasRTT is
	// false before any was measured.
	RTT    time.Duration
	HasRTT bool
	// Criteria is what the consumer sent in its subscription (producer
	// side only; empty on the consumer side).
	Criteria []byte
}

// Predicate is a requirement on the other side of a channel. It runs on an
// actor's goroutine, must be fast and must not block. Requirements in a
// list chain with AND.
type Predicate func(PeerInfo) bool

// HasTags requires every one of tags in the peer's entry.
func HasTags(tags ...id.Tag) Predicate {
	return func(p PeerInfo) bool {
		for _, t := range tags {
			if !p.Entry.HasTag(t) {
				return false
			}
		}
		return true
	}
}

// RTTBelow requires a measured round trip below d. There is no optimism: a
// peer whose round trip was never measured is not below d.
func RTTBelow(d time.Duration) Predicate {
	return func(p PeerInfo) bool { return p.HasRTT && p.RTT < d }
}

// RTTAbove requires a measured round trip of at least d; an unmeasured
// one is not above d either.
func RTTAbove(d time.Duration) Predicate {
	return func(p PeerInfo) bool { return p.HasRTT && p.RTT >= d }
}

// requirements is the AND of a side's predicates and ticket validators.
type requirements struct {
	preds   []Predicate
	tickets []discovery.TicketValidator
}

// check reports whether p passes, and until when its tickets hold (Never
// without validators). It is a pure function of its inputs: validators
// are deterministic for a given time and the predicates must be too.
func (r requirements) check(p PeerInfo) (discovery.Expiration, bool) {
	for _, pred := range r.preds {
		if !pred(p) {
			return discovery.Never(), false
		}
	}
	if len(r.tickets) == 0 {
		return discovery.Never(), true
	}
	exp, err := p.Entry.ValidateTickets(r.tickets)
	if err != nil {
		return discovery.Never(), false
	}
	return exp, true
}

// admission is the producer's verdict on one subscription.
type admission struct {
	accept bool
	code   uint32 // the close code when refused
	reason string
	expiry discovery.Expiration
}

// admissionInput is everything the producer knows when it decides.
type admissionInput struct {
	known        bool // the consumer's entry, as new as it says, is in the catalog
	peer         PeerInfo
	connected    int // consumers connected now
	maxConsumers int // 0: unlimited
	require      requirements
}

// decideAdmission is the producer's handshake decision after the network
// and stream checks: unknown peer (401), capacity (10_509), requirements
// and tickets (10_403), in this order, so that a consumer the producer
// does not know yet learns that first and syncs its catalog.
func decideAdmission(in admissionInput) admission {
	switch {
	case !in.known:
		return admission{code: codeUnknownPeer, reason: "consumer not in the producer's catalog"}
	case in.maxConsumers > 0 && in.connected >= in.maxConsumers:
		return admission{code: codeNoCapacity, reason: "producer has its maximum of consumers"}
	}
	exp, ok := in.require.check(in.peer)
	if !ok {
		return admission{code: codeNotAllowed, reason: "consumer does not meet the producer's requirements"}
	}
	return admission{accept: true, expiry: exp}
}

// producerCandidates lists the peers in a catalog that produce the stream,
// and their entries, skipping the local node (a node never consumes its
// own producer over the network).
func producerCandidates(peers []discovery.Entry, self id.PeerID, stream id.StreamID) map[id.PeerID]discovery.Entry {
	out := make(map[id.PeerID]discovery.Entry)
	for _, e := range peers {
		if e.Peer == self {
			continue
		}
		for _, s := range e.Streams {
			if s == stream {
				out[e.Peer] = e
				break
			}
		}
	}
	return out
}

// mayPass reports whether p could pass r once a round trip is measured:
// it passes as is, or with some round trip. A consumer dials such a
// producer to measure the round trip on the handshake, and decides there.
func (r requirements) mayPass(p PeerInfo) bool {
	if p.HasRTT {
		_, ok := r.check(p)
		return ok
	}
	for _, guess := range []PeerInfo{p, {RTT: 0, HasRTT: true}, {RTT: time.Hour, HasRTT: true}} {
		guess.Entry, guess.Criteria = p.Entry, p.Criteria
		if _, ok := r.check(guess); ok {
			return true
		}
	}
	return false
}

// termMark remembers a producer whose channel ended for good, with the
// versions of its entry and of ours at that moment: the consumer tries it
// again only once either changes (the producer restarted or changed its
// tags, or we changed ours).
type termMark struct{ producer, local uint64 }

// planInput is what a consumer knows when the catalog changes.
type planInput struct {
	candidates map[id.PeerID]discovery.Entry // producers of the stream in the catalog
	running    map[id.PeerID]PeerInfo        // channels not terminated, with what they measured
	terminated map[id.PeerID]termMark
	local      uint64 // our entry's version
	require    requirements
}

// planChannels decides which producers to subscribe to and which channels
// to end: a running channel ends when its producer left the catalog,
// stopped producing, or fails the requirements with what was measured; a
// candidate gets a channel when it may pass and did not end for good
// under the same versions. It also returns the terminated marks that no
// longer hold.
func planChannels(in planInput) (start, stop, forget []id.PeerID) {
	for peer, info := range in.running {
		e, ok := in.candidates[peer]
		if !ok {
			stop = append(stop, peer)
			continue
		}
		info.Entry = e
		if !in.require.mayPass(info) {
			stop = append(stop, peer)
		}
	}
	for peer, e := range in.candidates {
		if _, ok := in.running[peer]; ok {
			continue
		}
		if mark, ok := in.terminated[peer]; ok {
			if mark.producer == e.Version && mark.local == in.local {
				continue
			}
			forget = append(forget, peer)
		}
		if in.require.mayPass(PeerInfo{Entry: e}) {
			start = append(start, peer)
		}
	}
	for peer := range in.terminated {
		if _, ok := in.candidates[peer]; !ok {
			forget = append(forget, peer)
		}
	}
	slices.SortFunc(start, id.PeerID.Compare)
	slices.SortFunc(stop, id.PeerID.Compare)
	slices.SortFunc(forget, id.PeerID.Compare)
	return start, stop, forget
}

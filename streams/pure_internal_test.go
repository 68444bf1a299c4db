package streams

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/discovery"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/transport"
)

func peer(b byte) id.PeerID { var p id.PeerID; p[0] = b; return p }

func TestChannelConditionsMet(t *testing.T) {
	gold := id.Of("gold")
	ch := func(state ChannelState, tags ...id.Tag) ChannelInfo {
		return ChannelInfo{State: state, Entry: discovery.Entry{Tags: tags}}
	}
	two := []ChannelInfo{ch(Connected, gold), ch(Connected), ch(Connecting, gold), ch(Terminated, gold)}
	for _, tc := range []struct {
		name string
		c    ChannelConditions
		chs  []ChannelInfo
		want bool
	}{
		{"zero of none", MinimumOf(0), nil, true},
		{"one of none", MinimumOf(1), nil, false},
		{"two connected of four", MinimumOf(2), two, true},
		{"three: connecting and terminated do not count", MinimumOf(3), two, false},
		{"tags narrow", MinimumOf(2).WithTags(gold), two, false},
		{"tags narrow, one", MinimumOf(1).WithTags(gold), two, true},
		{"predicate", MinimumOf(1).WithPredicate(func(c ChannelInfo) bool { return len(c.Entry.Tags) == 0 }), two, true},
		{"predicates chain with AND", MinimumOf(1).WithTags(gold).WithPredicate(func(c ChannelInfo) bool { return len(c.Entry.Tags) == 0 }), two, false},
		{"unmet", Unmet(), two, false},
		{"negative minimum is zero", MinimumOf(-3), nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Met(tc.chs); got != tc.want {
				t.Fatalf("Met = %v, want %v (%s)", got, tc.want, tc.c)
			}
		})
	}
	if !(ChannelConditions{}).IsZero() || (ChannelConditions{}).or(MinimumOf(1)).Met(nil) {
		t.Fatal("the zero conditions must take the side's default")
	}
}

func TestRequirements(t *testing.T) {
	gold, fast := id.Of("gold"), id.Of("fast")
	e := discovery.Entry{Tags: []id.Tag{gold}}
	for _, tc := range []struct {
		name  string
		preds []Predicate
		info  PeerInfo
		want  bool
		may   bool
	}{
		{"none", nil, PeerInfo{}, true, true},
		{"tag present", []Predicate{HasTags(gold)}, PeerInfo{Entry: e}, true, true},
		{"tag missing", []Predicate{HasTags(gold, fast)}, PeerInfo{Entry: e}, false, false},
		{"rtt unmeasured is not below", []Predicate{RTTBelow(time.Second)}, PeerInfo{Entry: e}, false, true},
		{"rtt below", []Predicate{RTTBelow(time.Second)}, PeerInfo{RTT: time.Millisecond, HasRTT: true}, true, true},
		{"rtt not below", []Predicate{RTTBelow(time.Millisecond)}, PeerInfo{RTT: time.Second, HasRTT: true}, false, false},
		{"rtt above unmeasured", []Predicate{RTTAbove(time.Millisecond)}, PeerInfo{}, false, true},
		{"chained: tag and rtt", []Predicate{HasTags(gold), RTTBelow(time.Second)}, PeerInfo{Entry: e, RTT: time.Millisecond, HasRTT: true}, true, true},
		{"chained: tag fails first", []Predicate{HasTags(fast), RTTBelow(time.Second)}, PeerInfo{Entry: e}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := requirements{preds: tc.preds}
			if _, got := r.check(tc.info); got != tc.want {
				t.Fatalf("check = %v, want %v", got, tc.want)
			}
			if got := r.mayPass(tc.info); got != tc.may {
				t.Fatalf("mayPass = %v, want %v", got, tc.may)
			}
		})
	}
}

func TestDecideAdmission(t *testing.T) {
	gold := id.Of("gold")
	ok := PeerInfo{Entry: discovery.Entry{Tags: []id.Tag{gold}}, RTT: time.Millisecond, HasRTT: true}
	need := requirements{preds: []Predicate{HasTags(gold)}}
	for _, tc := range []struct {
		name string
		in   admissionInput
		code uint32
	}{
		{"admitted", admissionInput{known: true, peer: ok, require: need}, 0},
		{"unknown first", admissionInput{known: false, peer: ok, connected: 5, maxConsumers: 1}, codeUnknownPeer},
		{"capacity", admissionInput{known: true, peer: ok, connected: 3, maxConsumers: 3}, codeNoCapacity},
		{"below capacity", admissionInput{known: true, peer: ok, connected: 2, maxConsumers: 3}, 0},
		{"unlimited", admissionInput{known: true, peer: ok, connected: 1000}, 0},
		{"capacity before requirements", admissionInput{known: true, peer: PeerInfo{}, connected: 1, maxConsumers: 1, require: need}, codeNoCapacity},
		{"requirements", admissionInput{known: true, peer: PeerInfo{}, require: need}, codeNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := decideAdmission(tc.in)
			if v.accept != (tc.code == 0) || (!v.accept && v.code != tc.code) {
				t.Fatalf("verdict %+v, want code %d", v, tc.code)
			}
		})
	}
}

func TestPlanChannels(t *testing.T) {
	gold := id.Of("gold")
	a, b, c := peer(1), peer(2), peer(3)
	entry := func(p id.PeerID, v uint64, tags ...id.Tag) discovery.Entry {
		return discovery.Entry{Peer: p, Version: v, Tags: tags}
	}
	needGold := requirements{preds: []Predicate{HasTags(gold)}}
	fast := requirements{preds: []Predicate{RTTBelow(time.Millisecond)}}
	for _, tc := range []struct {
		name                string
		in                  planInput
		start, stop, forget []id.PeerID
	}{
		{"new producers start", planInput{candidates: map[id.PeerID]discovery.Entry{a: entry(a, 1), b: entry(b, 1)}}, []id.PeerID{a, b}, nil, nil},
		{"running ones stay", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 1)},
			running:    map[id.PeerID]PeerInfo{a: {}},
		}, nil, nil, nil},
		{"gone producer stops", planInput{running: map[id.PeerID]PeerInfo{a: {}}}, nil, []id.PeerID{a}, nil},
		{"producer losing a required tag stops", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 2)},
			running:    map[id.PeerID]PeerInfo{a: {}}, require: needGold,
		}, nil, []id.PeerID{a}, nil},
		{"only qualifying producers start", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 1, gold), b: entry(b, 1)}, require: needGold,
		}, []id.PeerID{a}, nil, nil},
		{"unmeasured rtt: dial to measure", planInput{candidates: map[id.PeerID]discovery.Entry{a: entry(a, 1)}, require: fast}, []id.PeerID{a}, nil, nil},
		{"measured slow rtt stops", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 1)},
			running:    map[id.PeerID]PeerInfo{a: {RTT: time.Second, HasRTT: true}}, require: fast,
		}, nil, []id.PeerID{a}, nil},
		{"terminated stays out under the same versions", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 4)}, local: 7,
			terminated: map[id.PeerID]termMark{a: {producer: 4, local: 7}},
		}, nil, nil, nil},
		{"terminated retried after the producer's entry changed", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 5)}, local: 7,
			terminated: map[id.PeerID]termMark{a: {producer: 4, local: 7}},
		}, []id.PeerID{a}, nil, []id.PeerID{a}},
		{"terminated retried after our entry changed", planInput{
			candidates: map[id.PeerID]discovery.Entry{a: entry(a, 4)}, local: 8,
			terminated: map[id.PeerID]termMark{a: {producer: 4, local: 7}},
		}, []id.PeerID{a}, nil, []id.PeerID{a}},
		{"terminated and gone is forgotten", planInput{terminated: map[id.PeerID]termMark{c: {}}}, nil, nil, []id.PeerID{c}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, stop, forget := planChannels(tc.in)
			if !slices.Equal(start, tc.start) || !slices.Equal(stop, tc.stop) || !slices.Equal(forget, tc.forget) {
				t.Fatalf("plan = start %v stop %v forget %v; want %v %v %v", start, stop, forget, tc.start, tc.stop, tc.forget)
			}
		})
	}
}

func TestProducerCandidates(t *testing.T) {
	s, other := id.Of("s"), id.Of("other")
	self := peer(9)
	got := producerCandidates([]discovery.Entry{
		{Peer: peer(1), Streams: []id.Digest{other, s}},
		{Peer: peer(2), Streams: []id.Digest{ConsumerMark(s)}}, // a consumer, not a producer
		{Peer: self, Streams: []id.Digest{s}},
		{Peer: peer(3)},
	}, self, s)
	if len(got) != 1 {
		t.Fatalf("candidates %v, want only peer 1", got)
	}
	if _, ok := got[peer(1)]; !ok {
		t.Fatalf("candidates %v, want peer 1", got)
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{}.withDefaults()
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, w := range want {
		if got := b.Delay(i, 0); got != w*time.Millisecond {
			t.Fatalf("Delay(%d) = %v, want %v", i, got, w*time.Millisecond)
		}
	}
	if got := b.Delay(1, 0.999); got <= 75*time.Millisecond || got > 100*time.Millisecond {
		t.Fatalf("jittered Delay(1) = %v, want in (75ms, 100ms]", got)
	}
	if got := b.Delay(1000, 0); got != 5*time.Second {
		t.Fatalf("Delay(1000) = %v", got)
	}
	if b.Exhausted(299*time.Second) || !b.Exhausted(300*time.Second) {
		t.Fatal("MaxElapsed defaults to 300 s")
	}
}

func TestClassifyClose(t *testing.T) {
	closed := func(c transport.CloseCode) error {
		return fmt.Errorf("read: %w", &transport.CloseError{Code: c, Remote: true})
	}
	for _, tc := range []struct {
		err  error
		want closeOutcome
	}{
		{closed(transport.CodeStreamNotAllowed), terminal},
		{closed(transport.CodeGracefulShutdown), terminal},
		{closed(transport.CodeStreamNotFound), terminal},
		{closed(transport.CodeDifferentNetwork), terminal},
		{closed(transport.CodeProtocolViolation), terminal},
		{fmt.Errorf("x: %w", errDecode), terminal},
		{transport.ErrBadFrame, terminal},
		{closed(transport.CodeUnknownPeer), resyncNow},
		{closed(transport.CodeTooSlow), retryLater},
		{closed(transport.CodeNoCapacity), retryLater},
		{transport.ErrTimeout, retryLater},
		{transport.ErrUnreachable, retryLater},
		{errors.New("anything else"), retryLater},
	} {
		if got := classifyClose(tc.err); got != tc.want {
			t.Errorf("classifyClose(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestBatchRoundTrip(t *testing.T) {
	for _, payloads := range [][][]byte{
		nil,
		{{}},
		{[]byte("a"), []byte("bc"), make([]byte, 300)},
		{make([]byte, 70000)},
	} {
		buf := appendBatch(nil, payloads)
		if len(buf) != batchSize(payloads) {
			t.Fatalf("batchSize %d, encoded %d", batchSize(payloads), len(buf))
		}
		var got [][]byte
		if err := decodeBatch(buf, func(d []byte) error { got = append(got, d); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(payloads) {
			t.Fatalf("decoded %d datums, want %d", len(got), len(payloads))
		}
		for i := range got {
			if string(got[i]) != string(payloads[i]) {
				t.Fatalf("datum %d differs", i)
			}
		}
	}
	for _, bad := range [][]byte{{0x0a}, {0x0a, 5, 1}, {0x08}, {0x08, 1}, {0xff}} {
		if err := decodeBatch(bad, func([]byte) error { return nil }); !errors.Is(err, errDecode) {
			t.Errorf("decodeBatch(%x) = %v, want errDecode", bad, err)
		}
	}
}

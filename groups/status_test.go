package groups

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/messages"
)

func TestStatusOf(t *testing.T) {
	gid := id.Of("group")
	online := View{Phase: PhaseRunning, Genesis: genesisN(1), Replica: 7, Running: true,
		Leader: peerN(2), Term: 4, Voters: 3, Voter: true, Joined: true}
	offline := View{Phase: PhaseSeeking, Reason: ReasonSeeking}
	for _, tc := range []struct {
		name string
		v    View
		want Status
	}{
		{"online voter", online, Status{Group: gid, Phase: "running", Genesis: genesisN(1), Replica: 7,
			Leader: peerN(2), Term: 4, Voters: 3, Voter: true, Joined: true, Online: true, Applied: 10, Bonds: 2}},
		{"seeking", offline, Status{Group: gid, Phase: "seeking", Reason: ReasonSeeking, Applied: 10, Bonds: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StatusOf(gid, tc.v, false, 10, 2); got != tc.want {
				t.Fatalf("StatusOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, s := range []Status{
		{Group: id.Of("g")},
		{Group: id.Of("g"), Phase: "running", Genesis: genesisN(3), Replica: 9, Leader: peerN(1), Term: 12,
			Voters: 3, Voter: true, Joined: true, Online: true, Observer: false, Applied: 1 << 40, Bonds: 2},
		{Group: id.Of("g"), Phase: "reforming", Reason: ReasonReforming, Observer: true},
	} {
		b, err := proto.Marshal(s.Proto())
		if err != nil {
			t.Fatal(err)
		}
		var m messages.GroupStatus
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		got, err := StatusFromProto(&m)
		if err != nil || got != s {
			t.Fatalf("round trip of %+v gave %+v, %v", s, got, err)
		}
	}
}

func TestStatusFromProtoRefuses(t *testing.T) {
	good := Status{Group: id.Of("g"), Leader: peerN(1), Genesis: genesisN(1)}.Proto()
	for _, tc := range []struct {
		name    string
		breakIt func(*messages.GroupStatus)
	}{
		{"no group", func(m *messages.GroupStatus) { m.GroupId = nil }},
		{"short group", func(m *messages.GroupStatus) { m.GroupId.Value = m.GroupId.Value[:5] }},
		{"short genesis", func(m *messages.GroupStatus) { m.Genesis = m.Genesis[:3] }},
		{"short leader", func(m *messages.GroupStatus) { m.Leader.Value = m.Leader.Value[:1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := proto.Clone(good).(*messages.GroupStatus)
			tc.breakIt(m)
			if _, err := StatusFromProto(m); !errors.Is(err, ErrBadStatus) {
				t.Fatalf("err = %v, want ErrBadStatus", err)
			}
		})
	}
}

func TestStatusTextIsPrintable(t *testing.T) {
	m := Status{Group: id.Of("g")}.Proto()
	m.Phase = "run\x1b[2Jning"
	m.Reason = strings.Repeat("x", 10_000) + "\n"
	m.Reason = "bad \xff utf8 \n" + m.Reason
	s, err := StatusFromProto(m)
	if err != nil {
		t.Fatal(err)
	}
	if s.Phase != "run?[2Jning" {
		t.Errorf("phase %q", s.Phase)
	}
	if len(s.Reason) > maxStatusText || strings.ContainsAny(s.Reason, "\n\xff") {
		t.Errorf("reason not cut or not cleaned: %d bytes, %q...", len(s.Reason), s.Reason[:20])
	}
}

// FuzzGroupStatus feeds arbitrary bytes as one group's status in a
// sync answer: nothing panics, every refusal is ErrBadStatus, and what is
// accepted is printable and encodes back to an equal status.
func FuzzGroupStatus(f *testing.F) {
	for _, s := range []Status{
		{Group: id.Of("g")},
		{Group: id.Of("g"), Phase: "running", Genesis: genesisN(3), Leader: peerN(1), Term: 2, Reason: "x"},
	} {
		b, _ := proto.Marshal(s.Proto())
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m messages.GroupStatus
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		s, err := StatusFromProto(&m)
		if err != nil {
			if !errors.Is(err, ErrBadStatus) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if len(s.Phase) > 4*maxStatusText || len(s.Reason) > 4*maxStatusText {
			t.Fatalf("unbounded text: %d, %d bytes", len(s.Phase), len(s.Reason))
		}
		again, err := StatusFromProto(s.Proto())
		if err != nil || again != s {
			t.Fatalf("%+v encodes back as %+v, %v", s, again, err)
		}
	})
}

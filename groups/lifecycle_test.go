package groups

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

// The lifecycle's interaction tests are scripts in testdata/lifecycle, in
// the style of etcd-io/raft's datadriven tests: each block is a command
// that feeds the member one event, then "----", then the actions the step
// must return, one per line, and a blank line. Go test -run
// TestLifecycleScripts -rewrite writes the actions the machine returns
// into the files instead of checking them (read the diff before you
// commit it).
//
// Names in scripts: members A..G are peers that sort in that order; g1,
// g2, ... are geneses that sort by number (g100 and up are the ones the
// member draws); replicas are plain numbers (1001 and up are the ones the
// member draws). Times are durations since the member started.
//
// Commands (arguments are key=value unless noted):
//
//	new self=B [observer] [strict] [replace-after=5s]
//	record none | error | g1/12 [non-voting]
//	started [error]                     the StartReplica just asked for
//	tick t=1s [status fields]           Tick with the member's replica status:
//	status t=1s [status fields]         StatusChanged, likewise
//	    applied=N leader=R term=N voters=A/11,B/12 ccid=N missing
//	catalog t=1s A=g1/11 B=g1/12/observer C=- D=-/observer
//	up t=1s A B ...                     bonds came up
//	down t=1s A ...                     bonds went down
//	progress t=1s from=A g=g1 r=11 applied=N term=N [leader] [knows]
//	    [committee=ccid/voters;voters/non-voting;non-voting[/settled]] [parent=g0]
//	join-request t=1s from=C g=g1 r=13
//	join-answer t=1s from=A g=g1 [accepted] [leader=A]
//	membership t=1s ccid=N voters=A/11,B/12 non-voting=C/13 [error] [g=g9: of another shard]
//	change-done t=1s [error]            the ChangeConfig just asked for
//	state-read t=1s applied=N | error
//	install-done t=1s [error]
//	data-removed t=1s g=g1
//	machine-failed t=1s
//	leave t=1s

var rewrite = flag.Bool("rewrite", false, "rewrite the lifecycle scripts' expected actions")

func TestLifecycleScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/lifecycle/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScript(t, file)
		})
	}
}

// scriptPeer is member A (1) to G (7).
func scriptPeer(name string) (id.PeerID, error) {
	if len(name) != 1 || name[0] < 'A' || name[0] > 'G' {
		return id.PeerID{}, fmt.Errorf("no member %q (A..G)", name)
	}
	return peerN(int(name[0]-'A') + 1), nil
}

func peerName(p id.PeerID) string {
	for n := 1; n <= 7; n++ {
		if peerN(n) == p {
			return string(rune('A' + n - 1))
		}
	}
	if p.IsZero() {
		return "none"
	}
	return p.Short()
}

func scriptGenesis(name string) (Genesis, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "g"))
	if err != nil || !strings.HasPrefix(name, "g") || n < 1 || n > 255 {
		return Genesis{}, fmt.Errorf("no genesis %q (g1..g255)", name)
	}
	return genesisN(n), nil
}

func genesisName(g Genesis) string {
	if g.IsZero() {
		return "none"
	}
	return fmt.Sprintf("g%d", g[0])
}

// script is one running script: the member, and what its last steps asked
// for, so that result events can refer to them.
type script struct {
	l        *Lifecycle
	self     id.PeerID
	geneses  int
	replicas uint64
	started  *StartReplica
	change   *ChangeConfig
}

func runScript(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(strings.TrimRight(string(raw), "\n")+"\n", "\n\n")
	var out strings.Builder
	s := &script{}
	changed := false
	for _, block := range blocks {
		block = strings.TrimLeft(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		var comments, cmd []string
		lines := strings.Split(strings.TrimRight(block, "\n"), "\n")
		i := 0
		for ; i < len(lines) && strings.HasPrefix(lines[i], "#"); i++ {
			comments = append(comments, lines[i])
		}
		for ; i < len(lines) && lines[i] != "----"; i++ {
			cmd = append(cmd, lines[i])
		}
		want := ""
		if i < len(lines) {
			want = strings.Join(lines[i+1:], "\n")
		}
		for _, c := range comments {
			out.WriteString(c + "\n")
		}
		if len(cmd) == 0 {
			out.WriteString("\n")
			continue
		}
		got, err := s.run(strings.Join(cmd, " "))
		if err != nil {
			t.Fatalf("%s: %q: %v", file, cmd[0], err)
		}
		if got != want {
			changed = true
			if !*rewrite {
				t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", file, strings.Join(cmd, " "), indent(got), indent(want))
			}
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n\n", strings.Join(cmd, "\n"), got)
	}
	if *rewrite && changed {
		if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func indent(s string) string { return "    " + strings.ReplaceAll(s, "\n", "\n    ") }

// args splits "cmd k=v flag ..." into the command, its key-value pairs and
// its flags (in order).
func args(line string) (string, map[string]string, []string) {
	fields := strings.Fields(line)
	kv := map[string]string{}
	var flags []string
	for _, f := range fields[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		} else {
			flags = append(flags, f)
		}
	}
	return fields[0], kv, flags
}

func (s *script) run(line string) (string, error) {
	cmd, kv, flags := args(line)
	has := func(f string) bool { return slices.Contains(flags, f) }
	now, err := time.ParseDuration(orDefault(kv["t"], "0s"))
	if err != nil {
		return "", err
	}
	if cmd == "new" {
		self, err := scriptPeer(kv["self"])
		if err != nil {
			return "", err
		}
		cfg := LifecycleConfig{
			Self:         self,
			Consensus:    FastConsensus(),
			Observer:     has("observer"),
			StrictQuorum: has("strict"),
			NewGenesis: func() (Genesis, error) {
				s.geneses++
				return genesisN(99 + s.geneses), nil
			},
			NewReplica: func() uint64 {
				s.replicas++
				return 1000 + s.replicas
			},
		}
		if d := kv["replace-after"]; d != "" {
			if cfg.ReplaceAfter, err = time.ParseDuration(d); err != nil {
				return "", err
			}
		}
		s.self, s.l = self, NewLifecycle(cfg)
		return s.render(s.l.Start()), nil
	}
	if s.l == nil {
		return "", errors.New("no member: start with new")
	}
	ev, err := s.event(cmd, kv, flags)
	if err != nil {
		return "", err
	}
	return s.render(s.l.Step(now, ev)), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// event builds the event a command stands for.
func (s *script) event(cmd string, kv map[string]string, flags []string) (Event, error) {
	has := func(f string) bool { return slices.Contains(flags, f) }
	var errFlag error
	if has("error") {
		errFlag = errors.New("injected")
	}
	switch cmd {
	case "record":
		switch {
		case has("none"):
			return RecordLoaded{}, nil
		case has("error"):
			return RecordLoaded{Err: errors.New("damaged record")}, nil
		}
		g, r, err := genesisReplica(flags[0])
		if err != nil {
			return nil, err
		}
		return RecordLoaded{Record: &Record{Genesis: g, Replica: r, NonVoting: has("non-voting")}}, nil
	case "started":
		if s.started == nil {
			return nil, errors.New("no StartReplica was asked for")
		}
		return ReplicaStarted{Genesis: s.started.Genesis, Replica: s.started.Replica, Err: errFlag}, nil
	case "tick", "status":
		st, err := s.status(kv, flags)
		if err != nil {
			return nil, err
		}
		if cmd == "tick" {
			return Tick{Status: st}, nil
		}
		return StatusChanged{Status: st}, nil
	case "catalog":
		var ev CatalogChanged
		for _, name := range slices.Sorted(maps.Keys(kv)) {
			if name == "t" {
				continue
			}
			p, err := scriptPeer(name)
			if err != nil {
				return nil, err
			}
			m := CatalogMember{Peer: p}
			parts := strings.Split(kv[name], "/")
			if parts[0] != "-" {
				if len(parts) < 2 {
					return nil, fmt.Errorf("%s=%s is not genesis/replica[/observer] or -[/observer]", name, kv[name])
				}
				if m.Genesis, m.Replica, err = genesisReplica(parts[0] + "/" + parts[1]); err != nil {
					return nil, err
				}
				parts = parts[1:]
			}
			m.Observer = slices.Contains(parts[1:], "observer")
			ev.Members = append(ev.Members, m)
		}
		return ev, nil
	case "up", "down":
		if len(flags) != 1 {
			return nil, errors.New("up and down take one member")
		}
		p, err := scriptPeer(flags[0])
		if err != nil {
			return nil, err
		}
		if cmd == "up" {
			return BondUp{Peer: p}, nil
		}
		return BondDown{Peer: p}, nil
	case "progress":
		from, err := scriptPeer(kv["from"])
		if err != nil {
			return nil, err
		}
		p := Progress{Leader: has("leader"), KnowsLeader: has("knows") || has("leader")}
		if g := kv["g"]; g != "" {
			if p.Genesis, err = scriptGenesis(g); err != nil {
				return nil, err
			}
		}
		if g := kv["parent"]; g != "" {
			if p.Parent, err = scriptGenesis(g); err != nil {
				return nil, err
			}
		}
		p.Replica, _ = strconv.ParseUint(kv["r"], 10, 64)
		p.Applied, _ = strconv.ParseUint(kv["applied"], 10, 64)
		p.Term, _ = strconv.ParseUint(kv["term"], 10, 64)
		if c := kv["committee"]; c != "" {
			if p.Committee, err = parseCommittee(c); err != nil {
				return nil, err
			}
		}
		return ProgressHeard{From: from, Progress: p}, nil
	case "join-request":
		from, err := scriptPeer(kv["from"])
		if err != nil {
			return nil, err
		}
		g, err := scriptGenesis(kv["g"])
		if err != nil {
			return nil, err
		}
		r, _ := strconv.ParseUint(kv["r"], 10, 64)
		return JoinRequested{From: from, Genesis: g, Replica: r}, nil
	case "join-answer":
		from, err := scriptPeer(kv["from"])
		if err != nil {
			return nil, err
		}
		g, err := scriptGenesis(kv["g"])
		if err != nil {
			return nil, err
		}
		_, r := s.l.Replica()
		ev := JoinAnswered{From: from, Genesis: g, Replica: r, Accepted: has("accepted")}
		if s.l.Phase() == PhaseSeeking {
			ev.Replica = s.l.replica // the one the member asked with
		}
		if l := kv["leader"]; l != "" {
			if ev.Leader, err = scriptPeer(l); err != nil {
				return nil, err
			}
		}
		return ev, nil
	case "membership":
		g, _ := s.l.Replica()
		if name := kv["g"]; name != "" {
			var err error
			if g, err = scriptGenesis(name); err != nil {
				return nil, err
			}
		}
		if errFlag != nil {
			return MembershipRead{Genesis: g, Err: errFlag}, nil
		}
		m := Membership{}
		m.ConfigChangeID, _ = strconv.ParseUint(kv["ccid"], 10, 64)
		var err error
		if m.Voters, err = replicaPeers(kv["voters"]); err != nil {
			return nil, err
		}
		if m.NonVoting, err = replicaPeers(kv["non-voting"]); err != nil {
			return nil, err
		}
		return MembershipRead{Genesis: g, Membership: m}, nil
	case "change-done":
		if s.change == nil {
			return nil, errors.New("no ChangeConfig was asked for")
		}
		g, _ := s.l.Replica()
		return ChangeDone{Genesis: g, Change: s.change.Change, Err: errFlag}, nil
	case "state-read":
		g, _ := s.l.Replica()
		if errFlag != nil {
			return StateRead{Genesis: g, Err: errFlag}, nil
		}
		applied, _ := strconv.ParseUint(kv["applied"], 10, 64)
		return StateRead{Genesis: g, State: []byte("state"), Applied: applied}, nil
	case "install-done":
		g, _ := s.l.Replica()
		return InstallDone{Genesis: g, Err: errFlag}, nil
	case "data-removed":
		g, err := scriptGenesis(kv["g"])
		if err != nil {
			return nil, err
		}
		return DataRemoved{Genesis: g}, nil
	case "machine-failed":
		return MachineFailed{Err: errors.New("machine panicked")}, nil
	case "leave":
		return Leave{}, nil
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

// status reads a replica status for the member's current shard.
func (s *script) status(kv map[string]string, flags []string) (ReplicaStatus, error) {
	g, _ := s.l.Replica()
	st := ReplicaStatus{Genesis: g, Found: !slices.Contains(flags, "missing")}
	st.Applied, _ = strconv.ParseUint(kv["applied"], 10, 64)
	st.LeaderReplica, _ = strconv.ParseUint(kv["leader"], 10, 64)
	st.Term, _ = strconv.ParseUint(kv["term"], 10, 64)
	st.ConfigChangeID, _ = strconv.ParseUint(kv["ccid"], 10, 64)
	var err error
	st.Voters, err = replicaPeers(kv["voters"])
	return st, err
}

// genesisReplica reads "g1/12".
func genesisReplica(v string) (Genesis, uint64, error) {
	gs, rs, ok := strings.Cut(v, "/")
	if !ok {
		return Genesis{}, 0, fmt.Errorf("%q is not genesis/replica", v)
	}
	g, err := scriptGenesis(gs)
	if err != nil {
		return Genesis{}, 0, err
	}
	r, err := strconv.ParseUint(rs, 10, 64)
	return g, r, err
}

// replicaPeers reads "A/11,B/12".
func replicaPeers(v string) (map[uint64]id.PeerID, error) {
	if v == "" {
		return nil, nil
	}
	out := map[uint64]id.PeerID{}
	for _, part := range strings.Split(v, ",") {
		name, rs, ok := strings.Cut(part, "/")
		if !ok {
			return nil, fmt.Errorf("%q is not member/replica", part)
		}
		p, err := scriptPeer(name)
		if err != nil {
			return nil, err
		}
		r, err := strconv.ParseUint(rs, 10, 64)
		if err != nil {
			return nil, err
		}
		out[r] = p
	}
	return out, nil
}

// parseCommittee reads "ccid/voters;.../non-voting;...[/settled]".
func parseCommittee(v string) (*Committee, error) {
	parts := strings.Split(v, "/")
	if len(parts) < 3 {
		return nil, fmt.Errorf("committee %q is not ccid/voters/non-voting[/settled]", v)
	}
	c := &Committee{Settled: len(parts) > 3 && parts[3] == "settled"}
	var err error
	if c.ConfigChangeID, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return nil, err
	}
	list := func(s string) ([]uint64, error) {
		var out []uint64
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' }) {
			r, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	if c.Voters, err = list(parts[1]); err != nil {
		return nil, err
	}
	if c.NonVoting, err = list(parts[2]); err != nil {
		return nil, err
	}
	return c, nil
}

// render prints actions, one per line, and remembers those that later
// commands refer to.
func (s *script) render(actions []Action) string {
	var lines []string
	for _, a := range actions {
		switch a := a.(type) {
		case LoadRecord:
			lines = append(lines, "load-record")
		case StartReplica:
			s.started = &a
			mode := "restart"
			switch {
			case a.Bootstrap:
				mode = "bootstrap"
			case a.Join:
				mode = "join"
			}
			if a.NonVoting {
				mode += " non-voting"
			}
			lines = append(lines, fmt.Sprintf("start %s/%d %s", genesisName(a.Genesis), a.Replica, mode))
		case StopReplica:
			lines = append(lines, fmt.Sprintf("stop %s/%d", genesisName(a.Genesis), a.Replica))
		case RemoveData:
			lines = append(lines, fmt.Sprintf("remove-data %s/%d", genesisName(a.Genesis), a.Replica))
		case DropRecord:
			lines = append(lines, "drop-record")
		case Advertise:
			if a.Genesis.IsZero() {
				lines = append(lines, "advertise none")
			} else {
				lines = append(lines, fmt.Sprintf("advertise %s/%d", genesisName(a.Genesis), a.Replica))
			}
		case SendProgress:
			lines = append(lines, "send "+progressText(a.Progress))
		case SendJoinRequest:
			to := make([]string, len(a.To))
			for i, p := range a.To {
				to[i] = peerName(p)
			}
			lines = append(lines, fmt.Sprintf("send join-request to=%s %s/%d", strings.Join(to, ","), genesisName(a.Genesis), a.Replica))
		case SendJoinReply:
			line := fmt.Sprintf("send join-reply to=%s %s/%d", peerName(a.To), genesisName(a.Genesis), a.Replica)
			if a.Accepted {
				line += " accepted"
			} else {
				line += fmt.Sprintf(" refused %q", a.Reason)
			}
			if !a.Leader.IsZero() {
				line += " leader=" + peerName(a.Leader)
			}
			lines = append(lines, line)
		case ReadMembership:
			lines = append(lines, "read-membership")
		case ChangeConfig:
			s.change = &a
			lines = append(lines, fmt.Sprintf("change %s %s/%d ccid=%d", a.Change.Kind, peerName(a.Change.Peer), a.Change.Replica, a.ConfigChangeID))
		case ReadState:
			lines = append(lines, "read-state")
		case ProposeInstall:
			lines = append(lines, fmt.Sprintf("propose-install base=%d", a.Base))
		case Campaign:
			lines = append(lines, fmt.Sprintf("campaign %s/%d", genesisName(a.Genesis), a.Replica))
		case ReportRivalLoss:
			lines = append(lines, fmt.Sprintf("rival-loss lost=%s winner=%s", genesisName(a.Lost), genesisName(a.Winner)))
		case Publish:
			lines = append(lines, "view "+viewText(a.View))
		default:
			lines = append(lines, fmt.Sprintf("%T", a))
		}
	}
	if len(lines) == 0 {
		return "(nothing)"
	}
	return strings.Join(lines, "\n")
}

func progressText(p Progress) string {
	t := fmt.Sprintf("progress %s/%d applied=%d term=%d", genesisName(p.Genesis), p.Replica, p.Applied, p.Term)
	if p.Leader {
		t += " leader"
	} else if p.KnowsLeader {
		t += " knows"
	}
	if c := p.Committee; c != nil {
		t += fmt.Sprintf(" committee=%d/%s/%s", c.ConfigChangeID, replicaList(c.Voters), replicaList(c.NonVoting))
		if c.Settled {
			t += "/settled"
		}
	}
	if !p.Parent.IsZero() {
		t += " parent=" + genesisName(p.Parent)
	}
	return t
}

func replicaList(rs []uint64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatUint(r, 10)
	}
	return strings.Join(parts, ";")
}

func viewText(v View) string {
	t := v.Phase.String()
	if !v.Genesis.IsZero() {
		t += fmt.Sprintf(" %s/%d", genesisName(v.Genesis), v.Replica)
	}
	if v.Running {
		t += " running"
	}
	if !v.Leader.IsZero() {
		t += " leader=" + peerName(v.Leader)
	}
	if v.Term != 0 {
		t += fmt.Sprintf(" term=%d", v.Term)
	}
	if v.Voters != 0 {
		t += fmt.Sprintf(" voters=%d", v.Voters)
	}
	if v.Voter {
		t += " voter"
	}
	if v.Joined {
		t += " joined"
	}
	if v.Online() {
		t += " ONLINE"
	}
	if v.Reason != "" {
		t += fmt.Sprintf(" (%s)", v.Reason)
	}
	if v.Failed != nil {
		t += fmt.Sprintf(" failed: %v", v.Failed)
	}
	return t
}

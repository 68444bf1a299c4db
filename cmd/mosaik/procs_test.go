//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/groups"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/testkit"
)

// proc is a mosaik process under test, its output read line by line.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stderr lockedBuffer
	read   chan struct{} // closed once stdout reached EOF

	mu    sync.Mutex
	lines []string
}

// startProc runs bin with args. The process is killed at cleanup if the
// test did not stop it.
func startProc(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), read: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		defer close(p.read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.read
			_ = p.cmd.Wait()
		}
	})
	return p
}

func (p *proc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine waits for a line matching re and returns its submatches.
func (p *proc) waitLine(ctx context.Context, re *regexp.Regexp) []string {
	p.t.Helper()
	var m []string
	err := testkit.WaitFor(ctx, func() bool {
		for _, l := range p.output() {
			if m = re.FindStringSubmatch(l); m != nil {
				return true
			}
		}
		return false
	})
	if err != nil {
		p.t.Fatalf("%s never printed a line matching %s: %v\n%s", p.name, re, err, p.dump())
	}
	return m
}

// stop sends SIGTERM and checks the process closes cleanly with exit 0.
func (p *proc) stop(ctx context.Context) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	select {
	case <-p.read:
	case <-ctx.Done():
		p.t.Fatalf("%s did not stop after SIGTERM\n%s", p.name, p.dump())
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("%s: %v\n%s", p.name, err, p.dump())
	}
	if out := p.output(); len(out) == 0 || out[len(out)-1] != "closed" {
		p.t.Fatalf("%s did not close gracefully\n%s", p.name, p.dump())
	}
}

func (p *proc) dump() string {
	return fmt.Sprintf("--- %s stdout:\n%s\n--- stderr:\n%s", p.name, strings.Join(p.output(), "\n"), p.stderr.String())
}

// buildMosaik builds the command into a temporary directory.
func buildMosaik(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mosaik")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var (
	seedLine      = regexp.MustCompile(`^seed: (\S+)$`)
	peerLine      = regexp.MustCompile(`^mosaik join: peer ([0-9a-f]{64}),`)
	statusPattern = regexp.MustCompile(`status (\w+) (\w+)\s+term=(\d+) leader=(\S+) committed=(\d+) bonds=(\d+)`)
)

// lastStatus returns the leader, committed index and bond count of the
// last status line.
func lastStatus(p *proc) (leader string, committed, bonds int, ok bool) {
	out := p.output()
	for i := len(out) - 1; i >= 0; i-- {
		if m := statusPattern.FindStringSubmatch(out[i]); m != nil {
			committed, _ = strconv.Atoi(m[5])
			bonds, _ = strconv.Atoi(m[6])
			return m[4], committed, bonds, true
		}
	}
	return "", 0, 0, false
}

// TestProcesses runs the command as separate processes on loopback: a
// beacon, and two nodes that find each other through it and form the
// counter group. status and ping against the beacon see all three.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildMosaik(t)
	network := "cmd/mosaik/procs/" + id.RandomDigest().Short()
	common := []string{"-network", network, "-profile", "fast"}

	beacon := startProc(t, bin, "beacon", append([]string{"beacon", "-secret", "procs test beacon", "-tag", "beacon"}, common...)...)
	seed := beacon.waitLine(ctx, seedLine)[1]
	joinArgs := append([]string{"join", "-seed", seed, "-rate", "5", "-interval", "250ms"}, common...)
	joiners := []*proc{startProc(t, bin, "join 1", joinArgs...), startProc(t, bin, "join 2", joinArgs...)}
	var peers []string
	for _, j := range joiners {
		peers = append(peers, j.waitLine(ctx, peerLine)[1])
	}

	// Both report the same leader, one of them, a bond to the other, and
	// a committed index that keeps growing past what each submitted alone.
	err := testkit.WaitFor(ctx, func() bool {
		l1, c1, b1, ok1 := lastStatus(joiners[0])
		l2, c2, b2, ok2 := lastStatus(joiners[1])
		isMember := l1 == peers[0][:10] || l1 == peers[1][:10]
		return ok1 && ok2 && l1 == l2 && isMember && b1 == 1 && b2 == 1 && c1 >= 20 && c2 >= 20
	})
	if err != nil {
		t.Fatalf("no group across processes: %v\n%s\n%s", err, joiners[0].dump(), joiners[1].dump())
	}

	status, err := exec.CommandContext(ctx, bin, append([]string{"status"}, append(common, seed)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("status: %v\n%s", err, status)
	}
	beaconID := id.SecretKeyFromSeed("procs test beacon").PeerID()
	for _, w := range []string{"is peer " + beaconID.Short(), "groups " + beaconID.Short() + " is in: 0", "catalog: 3 entries",
		"groups: 1", "2 member(s)", "  " + peers[0][:10] + "  replica ", "  " + peers[1][:10] + "  replica "} {
		if !strings.Contains(string(status), w) {
			t.Errorf("status lacks %q:\n%s", w, status)
		}
	}

	// status -json of the beacon names the joiners' gossip addresses; a
	// joiner's own status shows the leader both agree on, with term and
	// applied index.
	var beaconView statusJSON
	runJSON(t, ctx, bin, &beaconView, append([]string{"status", "-json"}, append(common, seed)...)...)
	if beaconView.Peer != beaconID || len(beaconView.Catalog) != 3 || len(beaconView.Groups) != 1 || len(beaconView.Joined) != 0 {
		t.Fatalf("status -json of the beacon: %+v", beaconView)
	}
	var joinerGossip string
	for _, e := range beaconView.Catalog {
		if e.Peer.String() == peers[0] {
			joinerGossip = e.Gossip
		}
	}
	leader, _, _, _ := lastStatus(joiners[0])
	var joinerView statusJSON
	runJSON(t, ctx, bin, &joinerView, append([]string{"status", "-json"}, append(common, joinerGossip)...)...)
	if len(joinerView.Joined) != 1 {
		t.Fatalf("joiner 1 reports %d groups: %+v", len(joinerView.Joined), joinerView)
	}
	m := joinerView.Joined[0]
	if !strings.HasPrefix(m.Leader, leader) || m.Term == 0 || m.Applied == 0 || !m.Online || m.Bonds != 1 || m.Phase != "running" {
		t.Errorf("joiner 1's view of its group: %+v; leader %s", m, leader)
	}
	ping, err := exec.CommandContext(ctx, bin, append([]string{"ping"}, append(common, seed)...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ping: %v\n%s", err, ping)
	}
	var pj pingJSON
	runJSON(t, ctx, bin, &pj, append([]string{"ping", "-json"}, append(common, seed)...)...)
	if pj.Entry.Peer != beaconID || pj.Entry.Gossip != seed || pj.RTT <= 0 {
		t.Errorf("ping -json: %+v", pj)
	}
	for _, w := range []string{"peer     " + beaconID.String(), "gossip   " + seed, "tags     " + id.Of("beacon").Short(), "groups   none"} {
		if !strings.Contains(string(ping), w) {
			t.Errorf("ping lacks %q:\n%s", w, ping)
		}
	}

	for _, p := range append(joiners, beacon) {
		p.stop(ctx)
	}
}

// runJSON runs the command and decodes its standard output into v.
func runJSON(t *testing.T, ctx context.Context, bin string, v any, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s printed no JSON object: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestProcessesSurviveKill9 is the two-member failover as an operator
// meets it: two `mosaik join` processes form the counter group through a
// beacon, the leader's process is killed with SIGKILL (no farewell), and
// the survivor serves again within groups.FailoverBound (it re-forms the
// group alone: a group of two has one voter); a third joiner then joins
// it.
func TestProcessesSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildMosaik(t)
	network := "cmd/mosaik/kill9/" + id.RandomDigest().Short()
	common := []string{"-network", network, "-profile", "fast"}

	beacon := startProc(t, bin, "beacon", append([]string{"beacon", "-secret", "kill9 test beacon"}, common...)...)
	seed := beacon.waitLine(ctx, seedLine)[1]
	joinArgs := append([]string{"join", "-seed", seed, "-rate", "5", "-interval", "100ms"}, common...)
	joiners := []*proc{startProc(t, bin, "join 1", joinArgs...), startProc(t, bin, "join 2", joinArgs...)}
	peers := make([]string, len(joiners))
	for i, j := range joiners {
		peers[i] = j.waitLine(ctx, peerLine)[1][:10]
	}
	var leader string
	err := testkit.WaitFor(ctx, func() bool {
		l1, c1, _, ok1 := lastStatus(joiners[0])
		l2, _, _, ok2 := lastStatus(joiners[1])
		leader = l1
		return ok1 && ok2 && l1 == l2 && (l1 == peers[0] || l1 == peers[1]) && c1 >= 10
	})
	if err != nil {
		t.Fatalf("no group: %v\n%s\n%s", err, joiners[0].dump(), joiners[1].dump())
	}
	dead, survivor := 0, 1
	if leader == peers[1] {
		dead, survivor = 1, 0
	}
	if err := joiners[dead].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_, before, _, _ := lastStatus(joiners[survivor])

	// The survivor leads a shard of its own and commits again.
	bound := groups.FailoverBound(groups.FastConsensus()) + 5*time.Second
	fctx, fcancel := context.WithTimeout(ctx, bound)
	defer fcancel()
	if err := testkit.WaitFor(fctx, func() bool {
		l, c, _, ok := lastStatus(joiners[survivor])
		return ok && l == peers[survivor] && c > before+5
	}); err != nil {
		t.Fatalf("the survivor does not serve %v after the kill: %v\n%s", bound, err, joiners[survivor].dump())
	}
	t.Logf("the survivor serves again %v after the kill (bound %v)", time.Since(killed).Round(10*time.Millisecond), bound-5*time.Second)

	// A third joiner joins it.
	third := startProc(t, bin, "join 3", joinArgs...)
	third.waitLine(ctx, peerLine)
	if err := testkit.WaitFor(ctx, func() bool {
		l, c, b, ok := lastStatus(third)
		return ok && l == peers[survivor] && b == 1 && c > 0
	}); err != nil {
		t.Fatalf("the third joiner never followed the survivor: %v\n%s\n%s", err, third.dump(), joiners[survivor].dump())
	}
	for _, p := range []*proc{third, joiners[survivor], beacon} {
		p.stop(ctx)
	}
}

var gossipLine = regexp.MustCompile(`^transport: \S+  gossip: (\S+)$`)

// restartRig runs `mosaik join` processes with stable identities and data
// directories on one network, through a beacon, so that a process killed
// with SIGKILL can be started again as the same member.
type restartRig struct {
	t      *testing.T
	bin    string
	common []string
	seed   string
	data   []string // member i's -data directory
}

func newRestartRig(t *testing.T, ctx context.Context, bin, name string, members int) *restartRig {
	t.Helper()
	r := &restartRig{t: t, bin: bin, common: []string{"-network", "cmd/mosaik/" + name + "/" + id.RandomDigest().Short(), "-profile", "fast"}}
	for range members {
		r.data = append(r.data, t.TempDir())
	}
	beacon := startProc(t, bin, "beacon", append([]string{"beacon", "-secret", name + " beacon"}, r.common...)...)
	r.seed = beacon.waitLine(ctx, seedLine)[1]
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		beacon.stop(ctx)
	})
	return r
}

func (r *restartRig) secret(i int) string { return fmt.Sprintf("restart member %d", i) }

// peer is member i's short peer id, as status lines print it.
func (r *restartRig) peer(i int) string { return id.SecretKeyFromSeed(r.secret(i)).PeerID().Short() }

// start runs member i: the same -secret and -data on every start.
func (r *restartRig) start(ctx context.Context, i int) *proc {
	r.t.Helper()
	args := append([]string{"join", "-seed", r.seed, "-rate", "5", "-interval", "100ms",
		"-secret", r.secret(i), "-data", r.data[i]}, r.common...)
	p := startProc(r.t, r.bin, fmt.Sprintf("member %d", i), args...)
	if got := p.waitLine(ctx, peerLine)[1]; got[:10] != r.peer(i) {
		r.t.Fatalf("member %d is peer %s, want %s", i, got, r.peer(i))
	}
	return p
}

// view is the member's own view of the counter group, from `mosaik status
// -json` against its gossip address; ok is false when the probe failed or
// the member is in no group.
func (r *restartRig) view(ctx context.Context, p *proc) (m memberJSON, ok bool) {
	var gossip string
	for _, l := range p.output() {
		if g := gossipLine.FindStringSubmatch(l); g != nil {
			gossip = g[1]
		}
	}
	if gossip == "" {
		return memberJSON{}, false
	}
	args := append([]string{"status", "-json", "-timeout", "3s"}, append(r.common, gossip)...)
	// A probe still running well past its -timeout is stuck: SIGQUIT
	// makes it print its goroutines.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var st statusJSON
	if err == nil {
		err = json.Unmarshal(out, &st)
	}
	if err != nil || len(st.Joined) != 1 {
		r.t.Logf("status -json of %s: %v\n%s\n%s", p.name, err, out, stderr.String())
		return memberJSON{}, false
	}
	return st.Joined[0], true
}

// kill9 kills the process with SIGKILL and reaps it.
func kill9(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	<-p.read
	_ = p.cmd.Wait() // "signal: killed"
}

// agreed waits until every one of ps names the same leader, one of
// leaders, with bonds to all the others and at least minCommitted
// applied, and returns that leader.
func agreed(t *testing.T, ctx context.Context, ps []*proc, leaders []string, minCommitted int) string {
	t.Helper()
	var leader string
	err := testkit.WaitFor(ctx, func() bool {
		leader = ""
		for _, p := range ps {
			l, c, b, ok := lastStatus(p)
			if !ok || b != len(ps)-1 || c < minCommitted || (leader != "" && l != leader) {
				return false
			}
			leader = l
		}
		return slices.Contains(leaders, leader)
	})
	if err != nil {
		var dumps []string
		for _, p := range ps {
			dumps = append(dumps, p.dump())
		}
		t.Fatalf("no agreement on a leader among %v: %v\n%s", leaders, err, strings.Join(dumps, "\n"))
	}
	return leader
}

// maxCommitted is the highest committed index ps last printed.
func maxCommitted(ps ...*proc) int {
	m := 0
	for _, p := range ps {
		_, c, _, _ := lastStatus(p)
		m = max(m, c)
	}
	return m
}

// TestProcessesRestartAfterKill9 is a member restart as an operator does
// it: a `mosaik join` process with a stable -secret and a -data
// directory is killed with SIGKILL at an awkward moment and started
// again from its data directory. It must find its way back into the
// group, follow its leader and apply what the group commits.
func TestProcessesRestartAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs processes")
	}
	bin := buildMosaik(t)

	// The third member is killed as soon as it shows that the group
	// accepted it, and restarted at once.
	t.Run("right-after-join", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		r := newRestartRig(t, ctx, bin, "restart-join", 3)
		first := []*proc{r.start(ctx, 0), r.start(ctx, 1)}
		fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
		defer fcancel()
		leader := agreed(t, fctx, first, []string{r.peer(0), r.peer(1)}, 10)

		// The earliest sign that the group accepted the joiner is its
		// replica record, <data>/groups/<group id>.json
		// (docs/operations.md): the member writes it once the leader
		// accepted its join request, added its replica as a non-voting
		// one, and the replica started. It is on disk before the first
		// status line that names the leader (status lines come every
		// 200 ms), and the replica has then applied little or nothing and
		// is not a voter yet. The status line is the fallback, should the
		// record be missed.
		third := r.start(ctx, 2)
		var moment string
		err := testkit.WaitFor(fctx, func() bool {
			if recs, _ := filepath.Glob(filepath.Join(r.data[2], "groups", "*.json")); len(recs) > 0 {
				rec, _ := os.ReadFile(recs[0])
				moment = "replica record written: " + string(rec)
				return true
			}
			for _, l := range third.output() {
				if m := statusPattern.FindStringSubmatch(l); m != nil && m[4] != "-" {
					moment = "status line naming the leader: " + l
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("the third member never showed it was accepted: %v\n%s", err, third.dump())
		}
		kill9(t, third)
		atRestart := maxCommitted(first...)
		var last string
		if out := third.output(); len(out) > 0 {
			last = out[len(out)-1]
		}
		t.Logf("killed the third member at: %s; its last line: %q; the group had committed %d", moment, last, atRestart)

		third = r.start(ctx, 2)
		restarted := time.Now()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		if err := testkit.WaitFor(rctx, func() bool {
			l, c, b, ok := lastStatus(third)
			return ok && l == leader && b == 2 && c > atRestart+10
		}); err != nil {
			t.Fatalf("the restarted member does not follow %s: %v\n%s\n%s\n%s", leader, err, third.dump(), first[0].dump(), first[1].dump())
		}
		t.Logf("the restarted member follows the leader and applies past %d %v after its restart",
			atRestart, time.Since(restarted).Round(10*time.Millisecond))
		// It becomes a voter: the committee of three is whole again.
		var m memberJSON
		if err := testkit.WaitFor(rctx, func() bool {
			var ok bool
			m, ok = r.view(rctx, third)
			return ok && m.Phase == "running" && m.Voter && m.Online && m.Voters == 3
		}); err != nil {
			t.Fatalf("the restarted member never votes in a committee of three: %v; its view %+v\n%s", err, m, third.dump())
		}
		for _, p := range append(first, third) {
			p.stop(ctx)
		}
	})

	// A follower is killed, kept down until the leader has removed its
	// replica from the committee, and restarted: it must notice that its
	// replica is gone, wipe it and join again with a new one.
	t.Run("after-replacement", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		r := newRestartRig(t, ctx, bin, "restart-replaced", 3)
		members := []*proc{r.start(ctx, 0), r.start(ctx, 1), r.start(ctx, 2)}
		fctx, fcancel := context.WithTimeout(ctx, 30*time.Second)
		defer fcancel()
		leader := agreed(t, fctx, members, []string{r.peer(0), r.peer(1), r.peer(2)}, 10)
		lead := slices.IndexFunc([]int{0, 1, 2}, func(i int) bool { return r.peer(i) == leader })
		victim := (lead + 1) % 3
		survivors := []*proc{members[lead], members[3-lead-victim]}
		var before memberJSON
		if err := testkit.WaitFor(fctx, func() bool {
			var ok bool
			before, ok = r.view(fctx, members[victim])
			return ok && before.Voter && before.Voters == 3 && before.Replica != 0
		}); err != nil {
			t.Fatalf("member %d never votes in a committee of three: %v; its view %+v", victim, err, before)
		}

		kill9(t, members[victim])
		killed := time.Now()
		// The leader removes the dead voter once its bond has been down
		// for ReplaceAfter: its committee shrinks to two, and at once to
		// one (committees are kept odd; the surviving follower goes on as
		// a non-voting member until a third one is back). status -json
		// against the leader shows the committee's size.
		replaceAfter := groups.DefaultReplaceAfter(groups.FastConsensus())
		wctx, wcancel := context.WithTimeout(ctx, replaceAfter+20*time.Second)
		defer wcancel()
		var lv memberJSON
		if err := testkit.WaitFor(wctx, func() bool {
			var ok bool
			lv, ok = r.view(wctx, members[lead])
			return ok && lv.Voters < 3
		}); err != nil {
			t.Fatalf("the leader never removed the killed member's replica: %v; its view %+v\n%s", err, lv, members[lead].dump())
		}
		if !strings.HasPrefix(lv.Leader, leader) {
			t.Fatalf("the leader changed to %s while a follower was down", lv.Leader)
		}
		atRestart := maxCommitted(survivors...)
		t.Logf("the leader removed replica %d %v after the kill (ReplaceAfter %v), %d voter(s) left; the group had committed %d",
			before.Replica, time.Since(killed).Round(10*time.Millisecond), replaceAfter, lv.Voters, atRestart)

		back := r.start(ctx, victim)
		restarted := time.Now()
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		if err := testkit.WaitFor(rctx, func() bool {
			l, c, b, ok := lastStatus(back)
			return ok && l == leader && b == 2 && c > atRestart+10
		}); err != nil {
			t.Fatalf("the restarted member does not follow %s: %v\n%s\n%s\n%s", leader, err, back.dump(), survivors[0].dump(), survivors[1].dump())
		}
		t.Logf("the restarted member follows the leader and applies past %d %v after its restart",
			atRestart, time.Since(restarted).Round(10*time.Millisecond))
		// It runs a new replica, not the removed one, and votes again.
		var after memberJSON
		if err := testkit.WaitFor(rctx, func() bool {
			var ok bool
			after, ok = r.view(rctx, back)
			return ok && after.Phase == "running" && after.Voter && after.Online && after.Voters == 3
		}); err != nil {
			t.Fatalf("the restarted member never votes in a committee of three: %v; its view %+v\n%s", err, after, back.dump())
		}
		if after.Replica == before.Replica {
			t.Fatalf("the restarted member runs its removed replica %d again", before.Replica)
		}
		wiped := slices.ContainsFunc(back.output(), func(l string) bool { return strings.Contains(l, groups.ReasonWiping) })
		t.Logf("replica %d replaced by %d (wiping seen in a status line: %v)", before.Replica, after.Replica, wiped)
		for _, p := range append(survivors, back) {
			p.stop(ctx)
		}
	})
}

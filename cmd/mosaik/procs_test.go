//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
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
	stderr bytes.Buffer
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

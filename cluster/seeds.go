package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrSeedUnreachable is matched (errors.Is) by the error of a seed that
// could not be reached within Config.SeedTimeout, and by Start's error
// when Config.RequireSeed is set and no seed was reached.
var ErrSeedUnreachable = errors.New("cluster: seed unreachable")

// SeedState is where the node stands with one bootstrap seed.
type SeedState int

const (
	// SeedNone: no attempt yet.
	SeedNone SeedState = iota
	// SeedJoining: attempts are under way, within SeedTimeout.
	SeedJoining
	// SeedReached: a join through the seed succeeded.
	SeedReached
	// SeedUnreachable: no attempt succeeded within SeedTimeout. The node
	// keeps trying, less often; the state turns to SeedReached if one
	// succeeds later.
	SeedUnreachable
)

func (s SeedState) String() string {
	switch s {
	case SeedNone:
		return "none"
	case SeedJoining:
		return "joining"
	case SeedReached:
		return "reached"
	case SeedUnreachable:
		return "unreachable"
	}
	return fmt.Sprintf("SeedState(%d)", int(s))
}

// SeedStatus is one bootstrap seed as the node sees it.
type SeedStatus struct {
	Addr     string
	State    SeedState
	Attempts int
	// Err is the last attempt's failure (a *SeedError), nil once reached.
	Err error
}

// SeedError is a failed attempt to join through a seed. Its message is
// one line, with a hint at the likely cause when the failure says enough.
type SeedError struct {
	Addr string
	Err  error
	// Hint names a likely cause ("nothing listens on that TCP port"), or
	// is empty.
	Hint string
}

func (e *SeedError) Error() string {
	msg := fmt.Sprintf("cluster: seed %s: %s", e.Addr, oneLine(e.Err))
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *SeedError) Unwrap() error { return e.Err }

// Is makes every SeedError match ErrSeedUnreachable.
func (e *SeedError) Is(target error) bool { return target == ErrSeedUnreachable }

// SeedsError is Start's error when RequireSeed is set and no seed was
// reached, and WaitSeeds' when every seed is unreachable.
type SeedsError struct{ Seeds []*SeedError }

func (e *SeedsError) Error() string {
	parts := make([]string, len(e.Seeds))
	for i, s := range e.Seeds {
		parts[i] = strings.TrimPrefix(s.Error(), "cluster: ")
	}
	return "cluster: no seed reachable: " + strings.Join(parts, "; ")
}

func (e *SeedsError) Unwrap() []error {
	out := make([]error, len(e.Seeds))
	for i, s := range e.Seeds {
		out[i] = s
	}
	return out
}

// oneLine flattens an error message to one line. memberlist's Join
// returns a multierror ("1 error occurred:\n\t* Failed to join ...").
func oneLine(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return msg
	}
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasSuffix(line, "error occurred:") || strings.HasSuffix(line, "errors occurred:") {
			continue
		}
		parts = append(parts, strings.TrimPrefix(line, "* "))
	}
	return strings.Join(parts, "; ")
}

// seedHint names the likely cause of a failed join, from the error.
func seedHint(err error) string {
	msg := strings.ToLower(oneLine(err))
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns) || strings.Contains(msg, "no such host") || strings.Contains(msg, "server misbehaving"):
		return "the host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		return "nothing listens on that TCP port: is it the seed's gossip address, not its QUIC address?"
	case strings.Contains(msg, "encrypt") || strings.Contains(msg, "decrypt") || strings.Contains(msg, "installed keys"):
		return "the seed uses another gossip secret"
	case errors.Is(err, io.EOF) || strings.Contains(msg, "eof") || strings.Contains(msg, "connection reset"):
		return "the seed hung up: it may run another network (-network) or another gossip secret"
	case strings.Contains(msg, "timeout") || strings.Contains(msg, "deadline exceeded"):
		return "no answer: a firewall, or no host at that address"
	}
	return ""
}

// seedRetry is the pause after the attempt-th failed attempt: it doubles
// from 250 ms up to 2 s while the seed may still be coming up, and stays at
// 15 s once it is declared unreachable.
func seedRetry(attempt int, unreachable bool) time.Duration {
	if unreachable {
		return 15 * time.Second
	}
	d := 250 * time.Millisecond
	for i := 1; i < attempt && d < 2*time.Second; i++ {
		d *= 2
	}
	return min(d, 2*time.Second)
}

// seedTracker holds the seeds' statuses; changed is closed and replaced
// on every change, for WaitSeeds.
type seedTracker struct {
	mu       sync.Mutex
	statuses []SeedStatus
	changed  chan struct{}
}

func newSeedTracker(addrs []string) *seedTracker {
	t := &seedTracker{changed: make(chan struct{})}
	for _, a := range addrs {
		t.statuses = append(t.statuses, SeedStatus{Addr: a})
	}
	return t
}

// update changes seed i and reports how many seeds are unreachable.
func (t *seedTracker) update(i int, change func(*SeedStatus)) (unreachable int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	change(&t.statuses[i])
	close(t.changed)
	t.changed = make(chan struct{})
	for _, s := range t.statuses {
		if s.State == SeedUnreachable {
			unreachable++
		}
	}
	return unreachable
}

func (t *seedTracker) snapshot() ([]SeedStatus, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]SeedStatus(nil), t.statuses...), t.changed
}

// seedsOutcome is what WaitSeeds reports for a snapshot: done once a seed
// is reached (err nil) or every seed is unreachable (err a *SeedsError).
func seedsOutcome(statuses []SeedStatus) (done bool, err error) {
	if len(statuses) == 0 {
		return true, nil
	}
	var failed []*SeedError
	for _, s := range statuses {
		switch s.State {
		case SeedReached:
			return true, nil
		case SeedUnreachable:
			var se *SeedError
			if !errors.As(s.Err, &se) {
				se = &SeedError{Addr: s.Addr, Err: errors.New("not reached")}
			}
			failed = append(failed, se)
		}
	}
	if len(failed) == len(statuses) {
		return true, &SeedsError{Seeds: failed}
	}
	return false, nil
}

// Seeds reports each of Config.Bootstrap's seeds: none, joining, reached
// or unreachable, with the last failure.
func (n *Node) Seeds() []SeedStatus {
	s, _ := n.seeds.snapshot()
	return s
}

// WaitSeeds waits until a seed is reached (nil), or every seed is
// unreachable (a *SeedsError, matching ErrSeedUnreachable), or ctx ends.
// Without seeds it returns nil at once.
func (n *Node) WaitSeeds(ctx context.Context) error {
	for {
		statuses, changed := n.seeds.snapshot()
		if done, err := seedsOutcome(statuses); done {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for seeds: %w", ctx.Err())
		case <-n.closed:
			return ErrClosed
		}
	}
}

// probeSeed joins through seed i until it succeeds or the node closes,
// declaring it unreachable (Warn, metric) once SeedTimeout has passed
// without success. It runs on a goroutine the node owns; memberlist's
// Join returns once memberlist is shut down.
func (n *Node) probeSeed(i int) {
	addr := n.cfg.Bootstrap[i]
	deadline := time.Now().Add(n.cfg.SeedTimeout)
	unreachable := false
	for attempt := 1; ; attempt++ {
		n.seeds.update(i, func(s *SeedStatus) {
			s.Attempts = attempt
			if s.State == SeedNone {
				s.State = SeedJoining
			}
		})
		_, err := n.ml.Join([]string{addr})
		if n.isClosed() {
			return
		}
		if err == nil {
			down := n.seeds.update(i, func(s *SeedStatus) { s.State, s.Err = SeedReached, nil })
			n.metrics.SetSeedsUnreachable(down)
			if unreachable {
				n.log.Info("seed reached after all", "seed", addr, "attempts", attempt)
			} else {
				n.log.Debug("seed reached", "seed", addr, "attempts", attempt)
			}
			return
		}
		serr := &SeedError{Addr: addr, Err: err, Hint: seedHint(err)}
		if !unreachable && !time.Now().Before(deadline) {
			unreachable = true
			down := n.seeds.update(i, func(s *SeedStatus) { s.State, s.Err = SeedUnreachable, serr })
			n.metrics.SetSeedsUnreachable(down)
			n.log.Warn("seed unreachable; the node runs alone until a peer finds it", "seed", addr,
				"after", n.cfg.SeedTimeout, "attempts", attempt, "err", oneLine(err), "hint", serr.Hint)
		} else {
			n.seeds.update(i, func(s *SeedStatus) { s.Err = serr })
			n.log.Debug("seed attempt failed", "seed", addr, "attempt", attempt, "err", oneLine(err))
		}
		wait := seedRetry(attempt, unreachable)
		if !unreachable {
			wait = max(min(wait, time.Until(deadline)), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.closed:
			t.Stop()
			return
		}
	}
}

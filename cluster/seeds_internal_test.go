package cluster

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mosaikgo/mosaik/id"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"1 error occurred:\n\t* Failed to join 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused\n\n",
			"Failed to join 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"2 errors occurred:\n\t* a\n\t* b\n\n", "a; b"},
	} {
		if got := oneLine(errors.New(tc.in)); got != tc.want {
			t.Errorf("oneLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSeedHint(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, "nothing listens"},
		{errors.New("1 error occurred:\n\t* Failed to join x: dial tcp: connect: connection refused\n"), "nothing listens"},
		{&net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}, "does not resolve"},
		{errors.New("Failed to join x: lookup nowhere.invalid: no such host"), "does not resolve"},
		{fmt.Errorf("push pull: %w", io.EOF), "another network"},
		{errors.New("Remote state is encrypted and encryption is not configured"), "gossip secret"},
		{errors.New("dial tcp 10.0.0.1:7946: i/o timeout"), "no answer"},
		{errors.New("something new"), ""},
	} {
		got := seedHint(tc.err)
		if (tc.want == "" && got != "") || !strings.Contains(got, tc.want) {
			t.Errorf("seedHint(%v) = %q, want it to say %q", tc.err, got, tc.want)
		}
	}
}

func TestSeedRetry(t *testing.T) {
	for _, tc := range []struct {
		attempt     int
		unreachable bool
		want        time.Duration
	}{
		{1, false, 250 * time.Millisecond},
		{2, false, 500 * time.Millisecond},
		{4, false, 2 * time.Second},
		{10, false, 2 * time.Second},
		{3, true, 15 * time.Second},
	} {
		if got := seedRetry(tc.attempt, tc.unreachable); got != tc.want {
			t.Errorf("seedRetry(%d, %v) = %v, want %v", tc.attempt, tc.unreachable, got, tc.want)
		}
	}
}

func TestSeedsOutcome(t *testing.T) {
	down := func(addr string) SeedStatus {
		return SeedStatus{Addr: addr, State: SeedUnreachable, Err: &SeedError{Addr: addr, Err: errors.New("refused")}}
	}
	for _, tc := range []struct {
		name     string
		statuses []SeedStatus
		done     bool
		failed   bool
	}{
		{"no seeds", nil, true, false},
		{"joining", []SeedStatus{{State: SeedJoining}}, false, false},
		{"one reached", []SeedStatus{down("a"), {State: SeedReached}}, true, false},
		{"one of two down", []SeedStatus{down("a"), {State: SeedJoining}}, false, false},
		{"all down", []SeedStatus{down("a"), down("b")}, true, true},
	} {
		done, err := seedsOutcome(tc.statuses)
		if done != tc.done || (err != nil) != tc.failed {
			t.Errorf("%s: done %v err %v", tc.name, done, err)
		}
		if err != nil {
			if !errors.Is(err, ErrSeedUnreachable) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error %q must match ErrSeedUnreachable and be one line", tc.name, err)
			}
		}
	}
}

func TestDefaultDataDir(t *testing.T) {
	network := id.Of("shop")
	peer := id.SecretKeyFromSeed("p").PeerID()
	tail := filepath.Join("mosaik", network.Short(), peer.Short())
	for _, tc := range []struct {
		name     string
		cache    string
		cacheErr error
		want     string
		fallback bool
	}{
		{"cache", "/home/u/.cache", nil, filepath.Join("/home/u/.cache", tail), false},
		{"no cache", "", errors.New("neither $XDG_CACHE_HOME nor $HOME are defined"), filepath.Join("/tmp", tail), true},
		{"empty cache", "", nil, filepath.Join("/tmp", tail), true},
	} {
		got, fallback := defaultDataDir(tc.cache, tc.cacheErr, "/tmp", network, peer)
		if got != tc.want || fallback != tc.fallback {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got, fallback, tc.want, tc.fallback)
		}
	}
}

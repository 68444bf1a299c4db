// Package datadir_test damages each kind of file a node keeps in its data
// directory and checks that the node or the group refuses it with an
// error matching actors.ErrCorruptDataDir: no panic, no silent reset to an
// empty state, and nothing else in the directory removed.
package datadir_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/id"
	"github.com/mosaikgo/mosaik/internal/actors"
	"github.com/mosaikgo/mosaik/internal/counter"
	"github.com/mosaikgo/mosaik/testkit"
)

// TestMain checks for goroutines left behind, except one: when opening a
// damaged log database fails, dragonboat does not close the pebble
// databases it had opened, whose disk-health ticker then runs for good.
// It is one goroutine per failed start, and a node that cannot start is
// normally the end of its process.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := testkit.FindLeaks(goleak.IgnoreTopFunction("github.com/cockroachdb/pebble/vfs.(*diskHealthCheckingFS).startTickerLocked.func1")); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// written is how many commands each directory holds; the group snapshots
// every 5, so there are snapshot files and log after them.
const written = 23

func groupConfig() cluster.GroupConfig {
	cfg := counter.Group("datadir")
	cfg.SnapshotEntries = 5
	return cfg
}

func start(t *testing.T, dir string) (*cluster.Node, error) {
	t.Helper()
	return cluster.Start(context.Background(), cluster.Config{Network: "datadir", Key: id.SecretKeyFromSeed("datadir"), DataDir: dir})
}

// fill writes a directory: one node, one group, `written` commands.
func fill(t *testing.T, dir string) {
	t.Helper()
	n, err := start(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testkit.Context(t)
	g, err := n.Join(ctx, groupConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WaitConsensus(ctx, actors.Consensus.Online); err != nil {
		t.Fatal(err)
	}
	for range written {
		if _, err := counter.Add(ctx, g, 1); err != nil {
			t.Fatal(err)
		}
	}
	// The log database writes its first table when a snapshot's log
	// compaction flushes it, in the background: on a loaded machine the
	// node could close before that, leaving no table to damage.
	if err := testkit.WaitFor(ctx, func() bool {
		tables, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.sst"))
		deeper, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*.sst"))
		return len(tables)+len(deeper) > 0
	}); err != nil {
		t.Fatalf("no log table written: %v", err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// files maps every file under dir to its content.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pick returns the largest file whose name matches pattern: the one that
// holds the most (the log database has a manifest per shard of its own,
// most of them empty).
func pick(t *testing.T, all map[string][]byte, pattern string) string {
	t.Helper()
	var best string
	for p, b := range all {
		if ok, _ := filepath.Match(pattern, filepath.Base(p)); ok && (best == "" || len(b) > len(all[best]) || (len(b) == len(all[best]) && p < best)) {
			best = p
		}
	}
	if best == "" {
		t.Fatalf("no file matches %s", pattern)
	}
	return best
}

// ours reports whether a file is one of mosaik's or a snapshot: the files
// a failed start must leave as they were. (The Raft log database may
// rewrite its own files when it opens.)
func ours(p string) bool {
	return strings.Contains(p, string(filepath.Separator)+"groups"+string(filepath.Separator)) ||
		strings.HasSuffix(p, ".gbsnap") || strings.HasSuffix(p, "snapshot.metadata") ||
		strings.HasSuffix(p, "NODEHOST.ID") || strings.HasSuffix(p, "dragonboat.ds")
}

func TestDamagedDataDirectories(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		damage  func([]byte) []byte
		// onStart: the node refuses to start; else the group fails.
		onStart bool
		// orIntact: the damage may also be repaired by the log database
		// itself (a torn manifest tail), if every command is still there.
		orIntact bool
	}{
		{"garbage NODEHOST.ID", "NODEHOST.ID", func([]byte) []byte { return []byte("garbage") }, true, false},
		{"truncated dragonboat.ds", "dragonboat.ds", half, true, false},
		{"truncated log manifest", "MANIFEST-*", half, true, true},
		{"empty replica record", "*.json", func([]byte) []byte { return nil }, false, false},
		{"half-written replica record", "*.json", half, false, false},
		{"flipped byte in a log table", "*.sst", flip(0), false, false},
		{"truncated snapshot", "*.gbsnap", half, false, false},
		{"flipped byte in a snapshot's data", "*.gbsnap", flip(1024 + 3), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fill(t, dir)
			before := files(t, dir)
			victim := pick(t, before, tc.pattern)
			damaged := tc.damage(bytes.Clone(before[victim]))
			if err := os.WriteFile(victim, damaged, 0o600); err != nil {
				t.Fatal(err)
			}

			n, err := start(t, dir)
			switch {
			case tc.onStart && tc.orIntact && err == nil:
				// Repaired and started: the node ran, and may have
				// written new snapshots; what matters is that nothing
				// was lost.
				checkIntact(t, n)
				return
			case tc.onStart:
				if !errors.Is(err, actors.ErrCorruptDataDir) {
					t.Fatalf("start: %v, want ErrCorruptDataDir", err)
				}
			default:
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				g, err := n.Join(ctx, groupConfig())
				if err != nil {
					t.Fatal(err)
				}
				c, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Failed != nil || c.Online() })
				if err != nil || !errors.Is(c.Failed, actors.ErrCorruptDataDir) {
					total, _, _ := counter.Total(ctx, g, false)
					t.Fatalf("the group: %+v (total %d), %v; want it failed with ErrCorruptDataDir", c, total, err)
				}
				if tc.pattern == "*.json" || tc.pattern == "*.gbsnap" {
					if !strings.Contains(c.Failed.Error(), victim) {
						t.Errorf("the error does not name the file %s: %v", victim, c.Failed)
					}
				}
				if err := n.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			after := files(t, dir)
			for p, b := range before {
				if p == victim || !ours(p) {
					continue
				}
				if got, ok := after[p]; !ok || !bytes.Equal(got, b) {
					t.Errorf("%s was changed or removed", p)
				}
			}
			if got := after[victim]; !bytes.Equal(got, damaged) {
				t.Errorf("the damaged %s was rewritten", victim)
			}
		})
	}
}

// checkIntact checks that a node started on a damaged directory still
// holds every command, and closes it.
func checkIntact(t *testing.T, n *cluster.Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g, err := n.Join(ctx, groupConfig())
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.WaitConsensus(ctx, func(c actors.Consensus) bool { return c.Failed != nil || c.Online() })
	if err != nil {
		t.Fatal(err)
	}
	if c.Failed != nil && !errors.Is(c.Failed, actors.ErrCorruptDataDir) {
		t.Fatalf("the group failed with %v, want ErrCorruptDataDir", c.Failed)
	}
	if c.Failed == nil {
		if total, _, err := counter.Total(ctx, g, false); err != nil || total != written {
			t.Fatalf("the node started with %d commands (%v), want all %d or a refusal", total, err, written)
		}
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func half(b []byte) []byte { return b[:len(b)/2] }

// flip inverts the byte at off (or in the middle, for 0).
func flip(off int) func([]byte) []byte {
	return func(b []byte) []byte {
		if off == 0 || off >= len(b) {
			off = len(b) / 2
		}
		b[off] ^= 0xff
		return b
	}
}

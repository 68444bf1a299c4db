package cluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mosaikgo/mosaik/cluster"
	"github.com/mosaikgo/mosaik/testkit"
)

// TestDefaultDataDirLeavesWorkingDirectoryAlone: nodes without a DataDir
// keep their Raft data under the user's cache directory, keyed by network
// and peer, and write nothing where they run.
func TestDefaultDataDirLeavesWorkingDirectoryAlone(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	cache := t.TempDir()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CACHE_HOME", cache)

	c := testkit.NewCluster(t, 2, testkit.Options{
		Configure: func(_ int, cfg *cluster.Config) { cfg.DataDir = "" },
	})
	ctx := testkit.Context(t)
	gs := c.JoinAll(groupConfig("datadir"))
	if _, err := testkit.WaitLeader(ctx, gs); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		n := c.Node(i)
		want := filepath.Join(cache, "mosaik", n.NetworkID().Short(), n.PeerID().Short())
		if n.DataDir() != want {
			t.Fatalf("node %d: DataDir %q, want %q", i, n.DataDir(), want)
		}
		if entries, err := os.ReadDir(want); err != nil || len(entries) == 0 {
			t.Fatalf("node %d: data directory %s: %d entries, %v", i, want, len(entries), err)
		}
	}
	entries, err := os.ReadDir(wd)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Fatalf("the working directory holds %s", strings.Join(names, ", "))
	}
}

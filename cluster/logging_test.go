package cluster_test

import (
	"bytes"
	"log"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mosaikgo/mosaik/testkit"
)

// syncBuffer is a bytes.Buffer safe for the standard logger's writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLoggingLeavesTheProgramsLoggersAlone: a program that sets up its
// own log output keeps it, in its own format, after nodes start, form a
// group and stop; the nodes' Config.Logger gets mosaik's events and the
// libraries' lines, with levels.
func TestLoggingLeavesTheProgramsLoggersAlone(t *testing.T) {
	if log.Flags() != log.LstdFlags || log.Prefix() != "" {
		t.Fatalf("importing cluster changed the standard logger: flags %d prefix %q", log.Flags(), log.Prefix())
	}
	own := &syncBuffer{}
	prevOut := log.Writer()
	log.SetOutput(own) // the program's own choice, before any node starts
	defer log.SetOutput(prevOut)
	prevDefault := slog.Default()

	rec := testkit.NewLogRecorder()
	c := testkit.NewCluster(t, 2, testkit.Options{Logger: rec.Logger()})
	ctx := testkit.Context(t)
	gs := c.JoinAll(groupConfig("logging"))
	if _, err := testkit.WaitLeader(ctx, gs); err != nil {
		t.Fatal(err)
	}
	if err := testkit.WaitFor(ctx, func() bool { return len(rec.Find(slog.LevelInfo, "group leader elected")) > 0 }); err != nil {
		t.Fatalf("no leader elected record: %v", err)
	}

	if log.Writer() != own {
		t.Fatalf("log.Writer() is now %T", log.Writer())
	}
	if slog.Default() != prevDefault {
		t.Fatal("slog.Default() was replaced")
	}
	log.Printf("the program's own line")
	stdFormat := regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} `)
	found := false
	for line := range strings.Lines(own.String()) {
		if !stdFormat.MatchString(line) {
			t.Errorf("line not in the standard format: %q", line)
		}
		found = found || strings.Contains(line, "the program's own line")
	}
	if !found {
		t.Fatalf("own line missing from %q", own.String())
	}

	elected := rec.Find(slog.LevelInfo, "group leader elected")
	if elected[0].Attrs["node"] == "" || elected[0].Attrs["group"] == "" {
		t.Errorf("leader record lacks node or group: %v", elected[0].Attrs)
	}
	for _, lib := range []string{"memberlist", "dragonboat"} {
		if len(rec.Find(slog.LevelDebug, "", "lib", lib)) == 0 {
			t.Errorf("no records from %s", lib)
		}
	}
}

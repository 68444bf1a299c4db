package logroute

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/lni/dragonboat/v4/logger"
)

// recorder is a slog.Handler that keeps every record.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.recs {
		out = append(out, rec.Level.String()+" "+rec.Message)
	}
	return out
}

func TestImportRestoresStdlog(t *testing.T) {
	if log.Writer() != os.Stderr || log.Flags() != log.LstdFlags {
		t.Fatalf("log writer %T flags %d: capnslog's takeover not undone", log.Writer(), log.Flags())
	}
}

func TestGossipLevel(t *testing.T) {
	for _, tc := range []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[ERR] memberlist: Failed to send ping: boom\n", slog.LevelWarn, "Failed to send ping: boom"},
		{"[WARN] memberlist: Refuting a suspect message", slog.LevelInfo, "Refuting a suspect message"},
		{"[INFO] memberlist: Suspect x has failed", slog.LevelDebug, "Suspect x has failed"},
		{"[DEBUG] memberlist: Stream connection from=1.2.3.4", slog.LevelDebug, "Stream connection from=1.2.3.4"},
		{"no prefix at all", slog.LevelInfo, "no prefix at all"},
	} {
		level, msg := GossipLevel(tc.line)
		if level != tc.level || msg != tc.msg {
			t.Errorf("GossipLevel(%q) = %v %q, want %v %q", tc.line, level, msg, tc.level, tc.msg)
		}
	}
}

func TestWriterSplitsLines(t *testing.T) {
	rec := &recorder{}
	var seen []string
	w := Writer(slog.New(rec), func(_ slog.Level, msg string) { seen = append(seen, msg) })
	l := log.New(w, "", 0)
	l.Print("[WARN] memberlist: one")
	l.Print("[ERR] memberlist: two")
	got := strings.Join(rec.messages(), "|")
	if got != "INFO one|WARN two" || len(seen) != 2 {
		t.Fatalf("records %q, observed %q", got, seen)
	}
}

func TestDragonboatLevel(t *testing.T) {
	for _, tc := range []struct {
		pkg  string
		in   logger.LogLevel
		want slog.Level
	}{
		{"raft", logger.DEBUG, slog.LevelDebug},
		{"raft", logger.INFO, slog.LevelDebug},
		{"raft", logger.WARNING, slog.LevelDebug},
		{"config", logger.WARNING, slog.LevelInfo},
		{"raft", logger.ERROR, slog.LevelError},
		{"raft", logger.CRITICAL, slog.LevelError},
		{"transport", logger.ERROR, slog.LevelDebug},
	} {
		if got := DragonboatLevel(tc.pkg, tc.in); got != tc.want {
			t.Errorf("DragonboatLevel(%s, %d) = %v, want %v", tc.pkg, tc.in, got, tc.want)
		}
	}
}

func TestRouterForwardsToEveryLiveSink(t *testing.T) {
	r, err := Dragonboat()
	if err != nil {
		t.Fatal(err)
	}
	a, b := &recorder{}, &recorder{}
	removeA := r.Add(slog.New(a))
	removeB := r.Add(slog.New(b))
	l := logger.GetLogger("logroute-test")
	l.Warningf("disk %s", "slow")
	removeA()
	l.Errorf("gone %d", 1)
	removeB()
	l.Errorf("nobody")
	if got := strings.Join(a.messages(), "|"); got != "INFO disk slow" {
		t.Errorf("first sink got %q", got)
	}
	if got := strings.Join(b.messages(), "|"); got != "INFO disk slow|ERROR gone 1" {
		t.Errorf("second sink got %q", got)
	}
	l.SetLevel(logger.ERROR)
	c := &recorder{}
	defer r.Add(slog.New(c))()
	l.Warningf("below the package level")
	if got := c.messages(); len(got) != 0 {
		t.Errorf("SetLevel ignored: %q", got)
	}
}

func TestAtLeastFollowsDefault(t *testing.T) {
	var buf bytes.Buffer
	cur := slog.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l := slog.New(AtLeast(slog.LevelWarn, func() slog.Handler { return cur })).With("node", "n1")
	l.Info("quiet")
	l.Warn("loud")
	l.WithGroup("g").Error("grouped", "k", 1)
	out := buf.String()
	if strings.Contains(out, "quiet") || !strings.Contains(out, "loud") || !strings.Contains(out, "node=n1") || !strings.Contains(out, "g.k=1") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestDemote(t *testing.T) {
	rec := &recorder{}
	l := slog.New(Demote(rec))
	l.Info("dead letter")
	l.Error("crash")
	if got := strings.Join(rec.messages(), "|"); got != "DEBUG dead letter|ERROR crash" {
		t.Fatalf("got %q", got)
	}
}

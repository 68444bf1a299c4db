package testkit

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
)

// LogRecorder is a slog.Handler that keeps every record, for tests that
// check what a node logs: pass Logger() as Options.Logger or
// cluster.Config.Logger. It is safe for concurrent use.
type LogRecorder struct {
	mu    *sync.Mutex
	recs  *[]LogRecord
	attrs []slog.Attr
	group string
}

// LogRecord is one recorded record, its attributes flattened to strings
// (a group's attributes as "group.key").
type LogRecord struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

// NewLogRecorder returns an empty recorder.
func NewLogRecorder() *LogRecorder {
	return &LogRecorder{mu: new(sync.Mutex), recs: new([]LogRecord)}
}

// Logger is a logger writing to the recorder, at every level.
func (r *LogRecorder) Logger() *slog.Logger { return slog.New(r) }

// Records returns a copy of what was recorded so far.
func (r *LogRecorder) Records() []LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(*r.recs)
}

// Find returns the records at level or above whose message contains
// substr and whose attributes include every key=value of attrs (given as
// pairs).
func (r *LogRecorder) Find(level slog.Level, substr string, attrs ...string) []LogRecord {
	var out []LogRecord
next:
	for _, rec := range r.Records() {
		if rec.Level < level || !strings.Contains(rec.Message, substr) {
			continue
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if rec.Attrs[attrs[i]] != attrs[i+1] {
				continue next
			}
		}
		out = append(out, rec)
	}
	return out
}

// Enabled implements slog.Handler: every level.
func (r *LogRecorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (r *LogRecorder) Handle(_ context.Context, rec slog.Record) error {
	out := LogRecord{Level: rec.Level, Message: rec.Message, Attrs: map[string]string{}}
	for _, a := range r.attrs {
		out.Attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		key := a.Key
		if r.group != "" {
			key = r.group + "." + key
		}
		out.Attrs[key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, out)
	return nil
}

// WithAttrs implements slog.Handler.
func (r *LogRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	for _, a := range as {
		if r.group != "" {
			a.Key = r.group + "." + a.Key
		}
		c.attrs = append(slices.Clip(c.attrs), a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (r *LogRecorder) WithGroup(name string) slog.Handler {
	c := *r
	if name != "" {
		if c.group != "" {
			name = c.group + "." + name
		}
		c.group = name
	}
	return &c
}

package logroute

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
)

// GossipLevel parses one of memberlist's log lines ("[WARN] memberlist:
// ...") into a level and the message without its prefix. memberlist logs
// routine failures of other peers (a dead peer's refused connection, a
// lost probe) as errors and warnings, and what mosaik already reports
// about this node itself: each level is lowered one step (ERR is Warn,
// WARN is Info, INFO and DEBUG are Debug). A line without a known prefix
// is Info.
func GossipLevel(line string) (slog.Level, string) {
	line = strings.TrimSpace(line)
	level := slog.LevelInfo
	for _, p := range []struct {
		prefix string
		level  slog.Level
	}{
		{"[ERR]", slog.LevelWarn},
		{"[ERROR]", slog.LevelWarn},
		{"[WARN]", slog.LevelInfo},
		{"[INFO]", slog.LevelDebug},
		{"[DEBUG]", slog.LevelDebug},
		{"[TRACE]", slog.LevelDebug},
	} {
		if rest, ok := strings.CutPrefix(line, p.prefix); ok {
			level, line = p.level, strings.TrimSpace(rest)
			break
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	return level, line
}

// Writer is an io.Writer for a *log.Logger (flags 0) whose lines are
// memberlist's: each line becomes a record of l at its parsed level, with
// lib=memberlist. observe, when set, also sees each parsed line (for
// detecting a wrong gossip secret); it must not block.
func Writer(l *slog.Logger, observe func(slog.Level, string)) *LineWriter {
	return &LineWriter{l: l, observe: observe}
}

// LineWriter is what Writer returns.
type LineWriter struct {
	l       *slog.Logger
	observe func(slog.Level, string)
}

func (w *LineWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		level, msg := GossipLevel(string(line))
		if w.observe != nil {
			w.observe(level, msg)
		}
		if w.l.Enabled(context.Background(), level) {
			w.l.LogAttrs(context.Background(), level, msg, slog.String("lib", "memberlist"))
		}
	}
	return len(p), nil
}

// Demote wraps h so that records at Info become Debug: protoactor-go logs
// every dead letter and actor restart at Info.
func Demote(h slog.Handler) slog.Handler { return demote{h} }

type demote struct{ h slog.Handler }

func (d demote) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, lower(l)) }
func (d demote) Handle(ctx context.Context, r slog.Record) error {
	r.Level = lower(r.Level)
	return d.h.Handle(ctx, r)
}
func (d demote) WithAttrs(as []slog.Attr) slog.Handler { return demote{d.h.WithAttrs(as)} }
func (d demote) WithGroup(name string) slog.Handler    { return demote{d.h.WithGroup(name)} }

func lower(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

// AtLeast wraps the handler h returns, at each record, so that only
// records at min or above pass. With h = slog.Default().Handler, a node's
// default logger follows the program's default logger, even one set after
// the node started.
func AtLeast(min slog.Level, h func() slog.Handler) slog.Handler {
	return atLeast{min: min, h: h}
}

type atLeast struct {
	min   slog.Level
	h     func() slog.Handler
	attrs []slog.Attr
	group string
}

func (a atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= a.min && a.h().Enabled(ctx, l)
}

func (a atLeast) Handle(ctx context.Context, r slog.Record) error {
	return a.bind().Handle(ctx, r)
}

func (a atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	if a.group != "" {
		// Rare in mosaik (it uses no groups); keep it simple and correct.
		return a.fixed().WithAttrs(as)
	}
	a.attrs = append(a.attrs[:len(a.attrs):len(a.attrs)], as...)
	return a
}

func (a atLeast) WithGroup(name string) slog.Handler {
	if a.group != "" || name == "" {
		return a.fixed().WithGroup(name)
	}
	a.group = name
	return a
}

// bind applies the attributes (all added before the group) and the group
// to the current handler.
func (a atLeast) bind() slog.Handler {
	h := a.h()
	if len(a.attrs) > 0 {
		h = h.WithAttrs(a.attrs)
	}
	if a.group != "" {
		h = h.WithGroup(a.group)
	}
	return h
}

// fixed binds the current handler for the rare nested cases.
func (a atLeast) fixed() slog.Handler { return &minHandler{min: a.min, h: a.bind()} }

type minHandler struct {
	min slog.Level
	h   slog.Handler
}

func (m *minHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m *minHandler) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m *minHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &minHandler{min: m.min, h: m.h.WithAttrs(as)}
}
func (m *minHandler) WithGroup(name string) slog.Handler {
	return &minHandler{min: m.min, h: m.h.WithGroup(name)}
}

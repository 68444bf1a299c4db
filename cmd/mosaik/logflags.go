package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// logFlags are the flags of a command that runs nodes: how much of the
// nodes' log (cluster.Config.Logger) goes to stderr.
type logFlags struct {
	verbose bool
	level   logLevel
}

// logLevel is a -log-level value; off silences the log.
type logLevel struct {
	level slog.Level
	off   bool
	set   bool // given on the command line
}

func (l *logLevel) String() string {
	if l.off {
		return "off"
	}
	return strings.ToLower(l.level.String())
}

func (l *logLevel) Set(v string) error {
	level, off, err := parseLogLevel(v)
	if err != nil {
		return err
	}
	*l = logLevel{level: level, off: off, set: true}
	return nil
}

// parseLogLevel reads a level name: debug, info, warn (or warning),
// error, off.
func parseLogLevel(v string) (level slog.Level, off bool, err error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug":
		return slog.LevelDebug, false, nil
	case "info":
		return slog.LevelInfo, false, nil
	case "warn", "warning":
		return slog.LevelWarn, false, nil
	case "error":
		return slog.LevelError, false, nil
	case "off", "none":
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("unknown log level %q (want debug, info, warn, error or off)", v)
}

func (f *logFlags) register(fs *flag.FlagSet) {
	f.level = logLevel{level: slog.LevelWarn}
	fs.BoolVar(&f.verbose, "v", false, "verbose: log the nodes' events at info level (-log-level info)")
	fs.Var(&f.level, "log-level", "`level` of the nodes' log on stderr: debug (libraries' lines too), info, warn, error or off")
}

// explicit reports whether the user asked for a log level.
func (f *logFlags) explicit() bool { return f.verbose || f.level.set }

// logger is the nodes' logger: text lines on w at the chosen level. -v
// lowers the level to info unless -log-level says otherwise.
func (f *logFlags) logger(w io.Writer) *slog.Logger {
	if f.level.off {
		return slog.New(slog.DiscardHandler)
	}
	level := f.level.level
	if f.verbose && !f.level.set {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

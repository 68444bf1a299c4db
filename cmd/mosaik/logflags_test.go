package main

import (
	"bytes"
	"flag"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLogLevel(t *testing.T) {
	for _, tc := range []struct {
		in    string
		level slog.Level
		off   bool
		bad   bool
	}{
		{"debug", slog.LevelDebug, false, false},
		{"INFO", slog.LevelInfo, false, false},
		{"warn", slog.LevelWarn, false, false},
		{"warning", slog.LevelWarn, false, false},
		{"error", slog.LevelError, false, false},
		{"off", 0, true, false},
		{"loud", 0, false, true},
	} {
		level, off, err := parseLogLevel(tc.in)
		if (err != nil) != tc.bad || level != tc.level || off != tc.off {
			t.Errorf("parseLogLevel(%q) = %v %v %v", tc.in, level, off, err)
		}
	}
}

func TestLogFlags(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		info, dbg bool
	}{
		{nil, false, false},
		{[]string{"-v"}, true, false},
		{[]string{"-log-level", "debug"}, true, true},
		{[]string{"-v", "-log-level", "error"}, false, false},
		{[]string{"-log-level", "off"}, false, false},
	} {
		var f logFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f.register(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		l := f.logger(&buf)
		l.Debug("dbg")
		l.Info("info")
		out := buf.String()
		if strings.Contains(out, "msg=info") != tc.info || strings.Contains(out, "msg=dbg") != tc.dbg {
			t.Errorf("%q: output %q", tc.args, out)
		}
	}
}

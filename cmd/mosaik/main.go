package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/charmbracelet/x/term"
	"github.com/mattn/go-isatty"
)

// Exit codes, as Go tools use them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// env is what a subcommand may touch of the process: its output streams,
// its environment and whether stdout is a terminal. Tests pass their own.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	terminal       bool       // stdout is a terminal: the demo may draw its live view
	width          func() int // the terminal's columns; 0 when unknown
}

// command is one subcommand. Adding one is one entry in commands.
type command struct {
	name    string
	args    string // what follows the flags in the usage line, if anything
	summary string
	// run parses args with fs, which dispatch makes with the command's
	// name and usage, and runs the command.
	run func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
}

// commands lists the subcommands in the order help shows them.
var commands = []command{
	{name: "demo", summary: "run a local cluster, kill its leader and watch the failover", run: runDemo},
	{name: "beacon", summary: "run a long-lived bootstrap node that others use as their seed", run: runBeacon},
	{name: "join", summary: "run a node that joins the demo counter group and adds to it", run: runJoin},
	{name: "ping", args: "ADDR", summary: "fetch a node's signed peer entry by its gossip address", run: runPing},
	{name: "status", args: "ADDR", summary: "print a node's view of its groups (leader, term, applied), its streams, its catalog and the groups in it", run: runStatus},
	{name: "ticket", args: "key|jwt", summary: "make an issuer key, or a JWT ticket for a peer (docs/tickets.md)", run: runTicket},
}

func main() {
	log.SetFlags(log.LstdFlags)
	log.SetOutput(dropLines{w: os.Stderr, noise: harmlessLogLines})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal asks for a clean shutdown; a second one kills.
	context.AfterFunc(ctx, stop)
	e := &env{
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		getenv:   os.Getenv,
		terminal: isatty.IsTerminal(os.Stdout.Fd()),
		width: func() int {
			w, _, err := term.GetSize(os.Stdout.Fd())
			if err != nil {
				return 0
			}
			return w
		},
	}
	os.Exit(dispatch(ctx, e, os.Args[1:]))
}

// harmlessLogLines are log lines that say nothing to a user. pebble, under
// dragonboat, logs through the standard logger, and with an in-memory data
// directory (cluster.InMemory, what every subcommand uses by default)
// it reports every disk usage check its in-memory file system cannot
// answer.
var harmlessLogLines = []string{"background error: vfs: not supported"}

// dropLines writes log lines to w, except those containing one of noise.
// The standard logger writes each line with one Write.
type dropLines struct {
	w     io.Writer
	noise []string
}

func (d dropLines) Write(p []byte) (int, error) {
	for _, n := range d.noise {
		if bytes.Contains(p, []byte(n)) {
			return len(p), nil
		}
	}
	return d.w.Write(p)
}

// dispatch runs the subcommand args names and returns the exit code.
func dispatch(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(rest) == 1 {
			// "mosaik help demo" is "mosaik demo -h".
			return dispatch(ctx, e, []string{rest[0], "-h"})
		}
		usage(e.stdout)
		return exitOK
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(e.stderr, "mosaik: unknown command %q\n\n", name)
		usage(e.stderr)
		return exitUsage
	}
	err := cmd.run(ctx, e, newFlagSet(e, cmd), rest)
	var uerr usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &uerr):
		// The flag set has already printed the problem and the usage.
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "mosaik %s: %v\n", cmd.name, err)
		return exitError
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "mosaik runs and inspects mosaik nodes.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "usage: mosaik <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "mosaik <command> -h" for a command's flags.`)
}

// usageError reports bad flags or arguments, already explained on stderr.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// newFlagSet returns the flag set of a subcommand, printing its usage line,
// summary and flags on -h or on an error.
func newFlagSet(e *env, cmd command) *flag.FlagSet {
	fs := flag.NewFlagSet("mosaik "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		line := "usage: mosaik " + cmd.name + " [flags]"
		if cmd.args != "" {
			line += " " + cmd.args
		}
		fmt.Fprintln(w, line)
		fmt.Fprintln(w)
		fmt.Fprintln(w, cmd.summary+".")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "flags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and checks how many positional arguments
// remain. Errors come back as flag.ErrHelp or a usageError.
func parseFlags(fs *flag.FlagSet, args []string, positional int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() != positional {
		return badUsage(fs, fmt.Errorf("want %d argument(s), got %d: %q", positional, fs.NArg(), fs.Args()))
	}
	return nil
}

// badUsage explains a bad flag value or argument, shows the usage, and
// returns err as a usageError; nil stays nil.
func badUsage(fs *flag.FlagSet, err error) error {
	if err == nil {
		return nil
	}
	fmt.Fprintf(fs.Output(), "%s: %v\n\n", fs.Name(), err)
	fs.Usage()
	return usageError{err}
}

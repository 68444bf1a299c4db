package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mosaikgo/mosaik/bench"
)

// config is the command line.
type config struct {
	store string   // results store, read and (with add) rewritten
	add   []string // runs to merge into the store
	out   string   // the page
	plots string   // directory for the PNGs
}

// addFlag collects repeated -add flags.
type addFlag struct{ into *[]string }

func (a addFlag) String() string {
	if a.into == nil {
		return ""
	}
	return strings.Join(*a.into, ",")
}

func (a addFlag) Set(v string) error {
	*a.into = append(*a.into, v)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fset := flag.NewFlagSet("report", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.StringVar(&c.store, "in", "docs/perf/results.json", "results store: a JSON array of runs (missing: empty)")
	fset.Var(addFlag{&c.add}, "add", "a run written by -results-json, to merge into the store (repeatable)")
	fset.StringVar(&c.out, "out", "docs/performance.md", "page whose generated block is replaced (missing: created)")
	fset.StringVar(&c.plots, "plots", "docs/perf", "directory for the PNG plots")
	if err := fset.Parse(args); err != nil {
		return config{}, err
	}
	if fset.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fset.Args())
	}
	return c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// run merges, renders and writes.
func run(c config) error {
	runs, err := loadStore(c.store)
	if err != nil {
		return err
	}
	if len(c.add) > 0 {
		var added []bench.Run
		for _, path := range c.add {
			r, err := loadRun(path)
			if err != nil {
				return err
			}
			added = append(added, r)
		}
		runs = merge(runs, added...)
		if err := os.MkdirAll(filepath.Dir(c.store), 0o755); err != nil {
			return err
		}
		if err := saveStore(c.store, runs); err != nil {
			return err
		}
	}
	links, err := writePlots(runs, c.plots, filepath.Dir(c.out))
	if err != nil {
		return err
	}
	block := renderBlock(runs, func(id string) string { return links[id] })
	return writePage(c.out, block)
}

// writePlots draws every family's plot into dir and returns, per id, the
// plot's path relative to pageDir with forward slashes, for the page.
func writePlots(runs []bench.Run, dir, pageDir string) (map[string]string, error) {
	links := map[string]string{}
	fams := families(runs)
	if len(fams) == 0 {
		return links, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range fams {
		path := filepath.Join(dir, plotFile(f.id))
		if err := plotFamily(f, path); err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(pageDir, path)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", f.id, err)
		}
		links[f.id] = filepath.ToSlash(rel)
	}
	return links, nil
}

// plotFile names a family's PNG; ids are short words ("B2f"), anything
// else in them becomes "_".
func plotFile(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, id) + ".png"
}

// writePage replaces the generated block of the page at path, or creates
// the page with the block alone.
func writePage(path, block string) error {
	old, err := os.ReadFile(path)
	var page string
	switch {
	case errors.Is(err, fs.ErrNotExist):
		page = newPage(block)
	case err != nil:
		return fmt.Errorf("page: %w", err)
	default:
		page, err = replaceBlock(string(old), block)
		if err != nil {
			return fmt.Errorf("page %s: %w", path, err)
		}
	}
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		return fmt.Errorf("page: %w", err)
	}
	return nil
}

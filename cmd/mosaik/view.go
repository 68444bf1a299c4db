package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/mosaikgo/mosaik/id"
)

// styles colour the live view. Built on a renderer, so that a view
// rendered for a file carries no escape codes.
type styles struct {
	title, dim, header lipgloss.Style
	roles              map[role]lipgloss.Style
	cell               lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	fg := func(c string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(c)) }
	return styles{
		title:  r.NewStyle().Bold(true),
		dim:    fg("8"),
		header: r.NewStyle().Bold(true).Underline(true),
		roles: map[role]lipgloss.Style{
			roleLeader:   fg("10").Bold(true),
			roleFollower: fg("14"),
			roleOffline:  fg("11"),
			roleKilled:   fg("9").Bold(true),
		},
		cell: r.NewStyle(),
	}
}

// plainStyles renders without colour, whatever stdout is.
func plainStyles() styles { return newStyles(lipgloss.NewRenderer(io.Discard)) }

// column is one column of the node table.
type column struct {
	title string
	width int
	right bool // numbers align right
	value func(nodeRow) string
}

var columns = []column{
	{title: "NODE", width: 10, value: func(r nodeRow) string { return r.peer.Short() }},
	{title: "ROLE", width: 8, value: func(r nodeRow) string { return string(r.role) }},
	{title: "TERM", width: 4, right: true, value: live(func(r nodeRow) string { return fmt.Sprint(r.term) })},
	{title: "LEADER", width: 10, value: live(func(r nodeRow) string { return shortOrDash(r.leader) })},
	{title: "COMMITTED", width: 9, right: true, value: live(func(r nodeRow) string { return fmt.Sprint(r.committed) })},
	{title: "BONDS", width: 5, right: true, value: live(func(r nodeRow) string { return fmt.Sprint(r.bonds) })},
	{title: "CATALOG", width: 7, right: true, value: live(func(r nodeRow) string { return fmt.Sprint(r.catalog) })},
	{title: "COMMITS/S", width: 9, right: true, value: live(func(r nodeRow) string { return fmt.Sprintf("%.1f", r.rate) })},
}

// live shows a dash instead of a killed node's last figures.
func live(f func(nodeRow) string) func(nodeRow) string {
	return func(r nodeRow) string {
		if r.killed {
			return "-"
		}
		return f(r)
	}
}

func shortOrDash(p id.PeerID) string {
	if p.IsZero() {
		return "-"
	}
	return p.Short()
}

// renderFrame draws one frame of the live view: a title, the phase, a
// table of nodes and the event log.
func renderFrame(st styles, title string, f frame) string {
	var b strings.Builder
	b.WriteString(st.title.Render(title) + "\n")
	fmt.Fprintf(&b, "%s  %s  commands: %d committed, %d refused\n\n",
		st.dim.Render(fmt.Sprintf("t+%.1fs", f.elapsed.Seconds())), f.phase, f.ok, f.failed)
	cells := make([]string, len(columns))
	for i, c := range columns {
		cells[i] = st.header.Render(pad(c.title, c.width, c.right))
	}
	b.WriteString(strings.Join(cells, "  ") + "\n")
	for _, r := range f.rows {
		for i, c := range columns {
			s := st.cell
			if c.title == "ROLE" {
				s = st.roles[r.role]
			}
			cells[i] = s.Render(pad(c.value(r), c.width, c.right))
		}
		b.WriteString(strings.Join(cells, "  ") + "\n")
	}
	b.WriteString("\n" + st.title.Render("events") + "\n")
	for _, e := range f.events {
		fmt.Fprintf(&b, "%s  %s\n", st.dim.Render(stamp(e.at)), e.text)
	}
	return b.String()
}

// stamp shows a time since the start as +SS.SSs, aligned.
func stamp(d time.Duration) string { return fmt.Sprintf("%+7.2fs", d.Seconds()) }

// pad fits s into width columns, on the left or the right.
func pad(s string, width int, right bool) string {
	if n := len(s); n < width {
		if right {
			return strings.Repeat(" ", width-n) + s
		}
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// liveView is the demo's live view: the latest frame, and a footer that
// says how to stop and, once asked, that the nodes are closing.
type liveView struct {
	st       styles
	title    string
	frame    frame
	stopping bool
	done     bool
}

// View draws the latest frame.
func (m liveView) View() string {
	footer := "ctrl+c: stop"
	switch {
	case m.done:
		footer = "done"
	case m.stopping:
		footer = "stopping: closing the nodes…"
	}
	return renderFrame(m.st, m.title, m.frame) + "\n" + m.st.dim.Render(footer) + "\n"
}

// screen redraws a block of text in place on a terminal with plain ANSI
// sequences: back up over the lines drawn last, clear to the end of the
// screen, draw. It asks the terminal nothing, so it starts at once on any
// terminal (libraries that query the background colour first stall for
// seconds on terminals that do not answer). Lines are cut to the width,
// when it is known, so that none wraps and throws the count off.
type screen struct {
	w     io.Writer
	width func() int // columns; 0 when unknown
	drawn int        // lines drawn last time
}

// Escape sequences the screen writes.
const (
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
	clearBelow = "\r\x1b[J" // column 0, then clear to the end of the screen
)

// draw replaces what was drawn last with view.
func (s *screen) draw(view string) {
	var b strings.Builder
	if s.drawn == 0 {
		b.WriteString(hideCursor)
	} else {
		fmt.Fprintf(&b, "\x1b[%dA", s.drawn)
	}
	b.WriteString(clearBelow)
	width := 0
	if s.width != nil {
		width = s.width()
	}
	lines := strings.Split(strings.TrimSuffix(view, "\n"), "\n")
	for _, l := range lines {
		if width > 0 && ansi.StringWidth(l) >= width {
			l = ansi.Truncate(l, width-1, "")
		}
		b.WriteString(l)
		b.WriteString("\n")
	}
	s.drawn = len(lines)
	io.WriteString(s.w, b.String())
}

// close gives the cursor back; the last view stays on the screen.
func (s *screen) close() {
	if s.drawn > 0 {
		io.WriteString(s.w, showCursor)
	}
}

// plainPrinter writes frames as lines, for output that is not a terminal:
// every event once, and a status line per node every interval.
type plainPrinter struct {
	w        io.Writer
	interval time.Duration
	printed  int           // seq of the last event written
	next     time.Duration // elapsed time of the next status block
}

func (p *plainPrinter) show(f frame) {
	for _, e := range f.events {
		if e.seq > p.printed {
			fmt.Fprintf(p.w, "%s  event  %s\n", stamp(e.at), e.text)
			p.printed = e.seq
		}
	}
	if f.elapsed < p.next {
		return
	}
	for p.next <= f.elapsed {
		p.next += p.interval
	}
	for _, r := range f.rows {
		fmt.Fprintln(p.w, statusLine(f.elapsed, r))
	}
}

// statusLine is one node's figures as a line of key=value pairs.
func statusLine(at time.Duration, r nodeRow) string {
	prefix := fmt.Sprintf("%s  status %s %-8s", stamp(at), r.peer.Short(), r.role)
	if r.killed {
		return strings.TrimRight(prefix, " ")
	}
	line := fmt.Sprintf("%s term=%d leader=%s committed=%d bonds=%d catalog=%d commits/s=%.1f",
		prefix, r.term, shortOrDash(r.leader), r.committed, r.bonds, r.catalog, r.rate)
	if r.waiting != "" {
		line += " waiting: " + r.waiting // progress while the group forms
	}
	return line
}

package main

// Terminal mode: when standard error is a terminal and the log format is
// console, a person is watching. They get a live progress display, one
// bar per phase redrawn in place (mpb), the failures printed above it as
// they happen, and a table at the end, instead of one log line per
// outcome. Everything else (JSON logs, files) is as without a terminal.

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newOutput settles the log format (console at a terminal, else json,
// unless --log-format said) and builds the logger, and the display when a
// person is watching. restore labels the last phase "restoring".
func newOutput(c *config, w io.Writer, restore bool) (*zap.Logger, *display) {
	tty := isTerminal(w)
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if tty {
			c.LogFormat = "console"
		}
	}
	if c.LogFormat != "console" || !tty {
		return newLogger(c.LogFormat, w), nil
	}
	d := &display{out: w, verbose: c.Verbose, restore: restore}
	log := newLogger(c.LogFormat, d)
	return log.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core { return quietCore{core} })), d
}

// shownByDisplay are the log lines the display shows in its own way: it
// draws progress and outcomes, and ends with a table.
var shownByDisplay = map[string]bool{
	"outcome": true, "progress": true, "listing progress": true,
	"run finished": true, "restore finished": true,
}

// quietCore leaves out the log lines the display shows in its own way.
type quietCore struct{ zapcore.Core }

func (c quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if shownByDisplay[e.Message] {
		return ce
	}
	return c.Core.Check(e, ce)
}

func (c quietCore) With(fields []zapcore.Field) zapcore.Core { return quietCore{c.Core.With(fields)} }

// display is the terminal's live view of a run: a job.Observer that draws
// a bar per phase and prints rows of note above the bars, and an
// io.Writer for the log, whose lines go above the bars too.
//
// mpb rather than progressbar: mpb holds several bars in one container
// (the finished phases stay on screen above the running one), and its
// container is an io.Writer that prints above the bars, which is exactly
// where failures and warnings go; progressbar draws one bar and leaves
// printing around it to the caller.
type display struct {
	out     io.Writer // the terminal
	verbose bool
	restore bool

	throttled atomic.Int64
	failures  atomic.Int64

	mu       sync.Mutex
	progress *mpb.Progress // nil between runs
	refresh  chan any      // asks the progress for a frame
	ticker   chan struct{} // closed to stop asking every refreshEvery
	ticked   chan struct{} // closed once the asking has stopped
	outMu    sync.Mutex
}

// refreshEvery is how often the display is redrawn.
const refreshEvery = 200 * time.Millisecond

var _ job.Observer = (*display)(nil)

// Write prints b above the bars while they are drawn, else on the
// terminal.
func (d *display) Write(b []byte) (int, error) {
	d.mu.Lock()
	p := d.progress
	d.mu.Unlock()
	if p != nil {
		if n, err := p.Write(b); err == nil {
			return n, nil
		}
	}
	d.outMu.Lock()
	defer d.outMu.Unlock()
	return d.out.Write(b)
}

// onThrottled counts a throttled answer.
func (d *display) onThrottled() { d.throttled.Add(1) }

// Phase implements job.Observer: a bar for the phase, fed from done
// until end.
func (d *display) Phase(name string, total int, done func() int) (end func()) {
	if total <= 0 {
		return func() {}
	}
	d.mu.Lock()
	if d.progress == nil {
		d.start()
	}
	p := d.progress
	d.mu.Unlock()
	if d.restore && name == job.PhaseRemoving {
		name = "restoring"
	}
	clock := &phaseClock{start: time.Now()}
	bar := p.AddBar(int64(total),
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: 10, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string { return d.stats(s, clock) })))
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				bar.SetCurrent(int64(done()))
			}
		}
	}()
	return func() {
		close(stop)
		<-stopped
		n := done()
		bar.SetCurrent(int64(n))
		if n < total {
			bar.Abort(false) // cut short: the bar stays where it stopped
		}
		bar.Wait()
	}
}

// phaseClock is when a phase started and, once its bar is finished, its
// last figures: a finished bar keeps them as they were when it ended.
type phaseClock struct {
	start time.Time
	mu    sync.Mutex
	final string
}

// stats is a bar's figures: done/total, rate, ETA (or time taken), the
// throttled answers and failures so far.
func (d *display) stats(s decor.Statistics, clock *phaseClock) string {
	clock.mu.Lock()
	defer clock.mu.Unlock()
	if clock.final != "" {
		return clock.final
	}
	elapsed := time.Since(clock.start)
	rate := float64(s.Current) / max(elapsed.Seconds(), 1e-3)
	when := "ETA ?"
	switch {
	case s.Completed || s.Aborted:
		when = "in " + elapsed.Round(100*time.Millisecond).String()
	case rate > 0:
		when = "ETA " + time.Duration(float64(s.Total-s.Current)/rate*float64(time.Second)).Round(time.Second).String()
	}
	out := fmt.Sprintf(" %d/%d  %.1f/s  %s  429s %d  failures %d",
		s.Current, s.Total, rate, when, d.throttled.Load(), d.failures.Load())
	if s.Completed || s.Aborted {
		clock.final = out
	}
	return out
}

// Item implements job.Observer: a failure is counted and printed above
// the bars; a successful outcome is printed only with --verbose.
func (d *display) Item(it job.Item) {
	bad := it.State == job.Failed || it.State == job.Invalid
	if bad {
		d.failures.Add(1)
	} else if !d.verbose {
		return
	}
	who := cmp.Or(it.UPN, it.PrincipalID)
	line := fmt.Sprintf("%-15s %-9s %s", strings.ToUpper(string(it.State)), cmp.Or(it.Source, "-"), clean(who, 80))
	if it.AssignmentID != "" {
		line += " " + clean(it.AssignmentID, 120)
	}
	if it.Detail != "" {
		line += ": " + clean(it.Detail, 300)
	}
	_, _ = io.WriteString(d, line+"\n")
}

// start makes the live view; d.mu is held. It is redrawn on demand,
// every refreshEvery, so that stop can ask for a last frame: what was
// written since the one before is shown, not dropped.
func (d *display) start() {
	d.refresh, d.ticker, d.ticked = make(chan any), make(chan struct{}), make(chan struct{})
	d.progress = mpb.New(mpb.WithOutput(d.out), mpb.WithManualRefresh(d.refresh))
	refresh, ticker, ticked := d.refresh, d.ticker, d.ticked
	go func() {
		defer close(ticked)
		t := time.NewTicker(refreshEvery)
		defer t.Stop()
		for {
			select {
			case <-ticker:
				return
			case now := <-t.C:
				select {
				case refresh <- now:
				case <-ticker:
					return
				}
			}
		}
	}()
}

// stop draws a last frame and ends the live view (the bars stay on
// screen as last drawn); what is written next goes to the terminal
// below them. A nil display has nothing to stop.
func (d *display) stop() {
	if d == nil {
		return
	}
	d.mu.Lock()
	p, refresh, ticker, ticked := d.progress, d.refresh, d.ticker, d.ticked
	d.progress = nil
	d.mu.Unlock()
	if p == nil {
		return
	}
	close(ticker)
	<-ticked
	refresh <- time.Now()
	p.Wait()
}

// clean makes a text from the input or a service fit to print on a
// terminal: control characters (an escape sequence would move the cursor
// or rewrite the screen) and bidirectional overrides become '?', and it is
// cut to max runes.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// reportFiles are the names of the files a person looks at, in the
// report location.
type reportFiles struct {
	csv, json, html string
	// at names a file in the report location (location.Location.At);
	// a local path's join when nil.
	at func(name string) string
}

var (
	runReportFiles     = reportFiles{csv: "report.csv", json: "summary.json", html: "summary.html"}
	restoreReportFiles = reportFiles{csv: "restore.csv", json: "restore-summary.json", html: "restore-summary.html"}
)

// maxFailureGroups is how many kinds of failure the table shows.
const maxFailureGroups = 5

// printSummary writes the end of a run for a person: the counts by source
// and status, the guard and the unavailable sources, the first failures
// grouped by detail, and where the report is.
func printSummary(w io.Writer, command string, states []job.State, res job.Result, s report.Summary,
	where string, files reportFiles, rerun string) {
	at := files.at
	if at == nil {
		at = func(name string) string { return filepath.Join(where, name) }
	}
	fmt.Fprintf(w, "\noffboard %s finished in %s: exit %d (%s)\n\n", command,
		s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond), s.ExitCode, report.ExitMeaning(s.ExitCode))

	// Counts: a row per source, a column per status that occurs.
	counts := map[string]map[job.State]int{}
	totals := map[job.State]int{}
	for _, it := range res.Items {
		src := cmp.Or(it.Source, "(none)")
		if counts[src] == nil {
			counts[src] = map[job.State]int{}
		}
		counts[src][it.State]++
		totals[it.State]++
	}
	var cols []job.State
	for _, st := range states {
		if totals[st] > 0 {
			cols = append(cols, st)
		}
	}
	if len(res.Items) == 0 {
		fmt.Fprintln(w, "No rows.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		header := "source\t"
		for _, st := range cols {
			header += string(st) + "\t"
		}
		fmt.Fprintln(tw, header+"total\t")
		line := func(name string, c map[job.State]int) {
			row, sum := clean(name, 40)+"\t", 0
			for _, st := range cols {
				row += fmt.Sprintf("%d\t", c[st])
				sum += c[st]
			}
			fmt.Fprintln(tw, row+fmt.Sprintf("%d\t", sum))
		}
		for _, src := range slices.Sorted(maps.Keys(counts)) {
			line(src, counts[src])
		}
		line("total", totals)
		_ = tw.Flush()
	}

	if s.Guard != "" {
		fmt.Fprintf(w, "\nA guard stopped the run before any change: %s\n", clean(s.Guard, 500))
	}
	if len(s.Unavailable) > 0 {
		fmt.Fprintln(w, "\nUnavailable in this tenant (no rows; the exit code is not changed):")
		for _, part := range slices.Sorted(maps.Keys(s.Unavailable)) {
			fmt.Fprintf(w, "  %s: %s\n", clean(part, 40), clean(s.Unavailable[part], 300))
		}
	}

	// The first failures, grouped by detail, the largest groups first.
	type group struct {
		detail   string
		first    int
		examples []string
		n        int
	}
	groups := map[string]*group{}
	bad := 0
	for i, it := range res.Items {
		if it.State != job.Failed && it.State != job.Invalid {
			continue
		}
		bad++
		g := groups[it.Detail]
		if g == nil {
			g = &group{detail: it.Detail, first: i}
			groups[it.Detail] = g
		}
		g.n++
		if len(g.examples) < 3 {
			ex := cmp.Or(it.UPN, it.PrincipalID, "(no principal)")
			if it.Source != "" {
				ex += " " + it.Source
			}
			if it.AssignmentID != "" {
				ex += " " + it.AssignmentID
			}
			g.examples = append(g.examples, ex)
		}
	}
	if bad > 0 {
		list := slices.Collect(maps.Values(groups))
		slices.SortFunc(list, func(a, b *group) int { return cmp.Or(b.n-a.n, a.first-b.first) })
		fmt.Fprintf(w, "\nFailed or invalid rows: %d, of %d kinds; the first:\n", bad, len(list))
		for _, g := range list[:min(len(list), maxFailureGroups)] {
			fmt.Fprintf(w, "  %d × %s\n", g.n, clean(cmp.Or(g.detail, "(no detail)"), 300))
			for _, ex := range g.examples {
				fmt.Fprintf(w, "      %s\n", clean(ex, 200))
			}
		}
	}

	fmt.Fprintf(w, "\nReport: %s\n        %s\n        %s\n", clean(at(files.csv), 400),
		clean(at(files.json), 400), clean(at(files.html), 400))
	if rerun != "" && s.ExitCode != exitOK {
		fmt.Fprintf(w, "Rerun:  %s\n", clean(rerun, 1000))
	}
}

// observer is the run's job.Observer: the display, or none.
func (j *jobRun) observer() job.Observer {
	if j.display == nil {
		return nil
	}
	return j.display
}

// onThrottled is what the services' gates call on a throttled answer.
func (j *jobRun) onThrottled() func() {
	if j.display == nil {
		return nil
	}
	return j.display.onThrottled
}

// Package console is what a person at a terminal sees of a run: a live
// progress display and, at the end, a table.
//
// Terminal mode: when standard error is a terminal and the log format is
// console, a person is watching. They get a live progress display, one
// bar per phase redrawn in place (mpb), the failures printed above it as
// they happen, and a table at the end, instead of one log line per
// outcome. Everything else (JSON logs, files) is as without a terminal.

package console

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/offboard/offboard/job"
)

// Display is the terminal's live view of a run: a job.Observer that draws
// a bar per phase and prints rows of note above the bars, and an
// io.Writer for the log, whose lines go above the bars too.
//
// mpb rather than progressbar: mpb holds several bars in one container
// (the finished phases stay on screen above the running one), and its
// container is an io.Writer that prints above the bars, which is exactly
// where failures and warnings go; progressbar draws one bar and leaves
// printing around it to the caller.
type Display struct {
	out     io.Writer // the terminal
	verbose bool
	restore bool

	// current is the phase last begun: throttled answers and failed
	// rows are counted on its bar.
	current atomic.Pointer[phaseCounts]

	mu       sync.Mutex
	progress *mpb.Progress // nil between runs
	refresh  chan any      // asks the progress for a frame
	ticker   chan struct{} // closed to stop asking every refreshEvery
	ticked   chan struct{} // closed once the asking has stopped
	outMu    sync.Mutex

	// waits say why requests are held back (waits.go); now is the clock
	// their countdown reads (nil: time.Now).
	waits waits
	now   func() time.Time
}

// New is the live view of a run on out, a terminal: verbose shows every
// outcome, not only failures; restore labels the last phase "restoring".
func New(out io.Writer, verbose, restore bool) *Display {
	return &Display{out: out, verbose: verbose, restore: restore}
}

// refreshEvery is how often the display is redrawn.
const refreshEvery = 200 * time.Millisecond

var _ job.Observer = (*Display)(nil)

// Write prints b above the bars while they are drawn, else on the
// terminal.
func (d *Display) Write(b []byte) (int, error) {
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

// phaseCounts are what happened during one phase: its bar shows them.
type phaseCounts struct {
	throttled atomic.Int64
	failures  atomic.Int64
}

// OnThrottled counts a throttled answer, in the phase it came in.
func (d *Display) OnThrottled() {
	if c := d.current.Load(); c != nil {
		c.throttled.Add(1)
	}
}

// Phase implements job.Observer: a bar for the phase, fed from done
// until end, that counts the throttled answers and the failed rows of
// the phase (those told until the next phase begins: a phase's failed
// rows may be put just after it ends).
func (d *Display) Phase(name string, total int, done func() int) (end func()) {
	counts := &phaseCounts{}
	d.current.Store(counts)
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
		mpb.AppendDecorators(decor.Any(func(s decor.Statistics) string { return d.stats(s, clock, counts) })),
		mpb.BarBtmExtender(d.waitLine()))
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
// rate and time taken: a finished bar keeps them as they were when it
// ended (its counts still move: its failed rows may come after).
type phaseClock struct {
	start time.Time
	mu    sync.Mutex
	final string
}

// stats is a bar's figures: done/total, rate, ETA (or time taken), the
// phase's throttled answers and failures so far.
func (d *Display) stats(s decor.Statistics, clock *phaseClock, counts *phaseCounts) string {
	clock.mu.Lock()
	defer clock.mu.Unlock()
	timing := clock.final
	if timing == "" {
		elapsed := time.Since(clock.start)
		rate := float64(s.Current) / max(elapsed.Seconds(), 1e-3)
		when := "ETA ?"
		switch {
		case s.Completed || s.Aborted:
			when = "in " + elapsed.Round(100*time.Millisecond).String()
		case rate > 0:
			when = "ETA " + time.Duration(float64(s.Total-s.Current)/rate*float64(time.Second)).Round(time.Second).String()
		}
		timing = fmt.Sprintf(" %d/%d  %.1f/s  %s", s.Current, s.Total, rate, when)
		if s.Completed || s.Aborted {
			clock.final = timing
		}
	}
	return fmt.Sprintf("%s  429s %d  failures %d", timing, counts.throttled.Load(), counts.failures.Load())
}

// Item implements job.Observer: a failure is counted and printed above
// the bars; a successful outcome is printed only with --verbose.
func (d *Display) Item(it job.Item) {
	bad := it.State == job.Failed || it.State == job.Invalid
	if c := d.current.Load(); bad && c != nil {
		c.failures.Add(1)
	} else if !bad && !d.verbose {
		return
	}
	who := cmp.Or(it.UPN, it.PrincipalID)
	line := fmt.Sprintf("%-15s %-9s %s", strings.ToUpper(string(it.State)), cmp.Or(it.Source, "-"), Clean(who, 80))
	if it.AssignmentID != "" {
		line += " " + Clean(it.AssignmentID, 120)
	}
	if it.Detail != "" {
		line += ": " + Clean(it.Detail, 300)
	}
	_, _ = io.WriteString(d, line+"\n")
}

// Note prints a sentence about the run above the bars (an
// interruption, and its grace).
func (d *Display) Note(msg string) {
	_, _ = io.WriteString(d, Clean(msg, 500)+"\n")
}

var _ job.Noter = (*Display)(nil)

// start makes the live view; d.mu is held. It is redrawn on demand,
// every refreshEvery, so that Stop can ask for a last frame: what was
// written since the one before is shown, not dropped.
func (d *Display) start() {
	d.refresh, d.ticker, d.ticked = make(chan any), make(chan struct{}), make(chan struct{})
	d.progress = mpb.New(mpb.WithConsoleWriter(sized{cupwriter.New(d.out, false)}), mpb.WithManualRefresh(d.refresh))
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

// Stop draws a last frame and ends the live view (the bars stay on
// screen as last drawn); what is written next goes to the terminal
// below them. A nil display has nothing to stop.
func (d *Display) Stop() {
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

// Clean makes a text from the input or a service fit to print on a
// terminal: control characters (an escape sequence would move the cursor
// or rewrite the screen) and bidirectional overrides become '?', and it is
// cut to max runes (not cut when max is negative).
func Clean(s string, max int) string {
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

// The size the display takes when the terminal reports none.
const (
	defaultColumns = 80
	defaultRows    = 24
)

// sized is the terminal's writer (mpb's own), with a size when the
// terminal reports none: a pseudo-terminal nobody sized (some CI runners,
// serial consoles, a container's) says 0×0, and mpb then draws nothing
// at all. It gets 80 columns instead.
type sized struct{ *cupwriter.Writer }

// Flush writes a frame, and starts the next one at the line's start: a
// character the terminal echoes between two frames (^C) moves the
// cursor, and the next frame's cursor-up and erase would otherwise leave
// the first columns of the old frame on screen ("reresolving").
func (w sized) Flush(lines int) error {
	if err := w.Writer.Flush(lines); err != nil {
		return err
	}
	if w.Writer.Len() > 0 {
		next := bytes.Clone(w.Writer.Bytes())
		w.Writer.Reset()
		w.Writer.WriteByte('\r')
		w.Writer.Write(next)
	}
	return nil
}

func (w sized) GetTermSize() (width, height int, err error) {
	width, height, err = w.Writer.GetTermSize()
	if err != nil || width <= 0 {
		width = defaultColumns
	}
	if err != nil || height <= 0 {
		height = defaultRows
	}
	return width, height, nil
}

package console

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vbauerster/mpb/v8/decor"

	"github.com/offboard/offboard/job"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time               { return c.t }
func (c *fakeClock) add(d time.Duration)          { c.t = c.t.Add(d) }
func (c *fakeClock) in(d time.Duration) time.Time { return c.t.Add(d) }

// Issue 28, item 8: while the pace waits on a service, the display says
// so and for how long, counting down; the service's own request to slow
// down is said over the budget; a budget wait under a second is not.
func TestWaitLineSaysWhyAndForHowLong(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	d := New(io.Discard, false, false)
	d.now = clk.now
	steps := []struct {
		do   func()
		want string
	}{
		{func() {}, ""},
		{func() { d.Held("Graph", clk.in(12*time.Second), true) }, "Graph asked to slow down: 12 s"},
		{func() { clk.add(4500 * time.Millisecond) }, "Graph asked to slow down: 8 s"},
		{func() { d.Held("Graph", clk.in(time.Second), true) }, "Graph asked to slow down: 8 s"}, // a shorter wait changes nothing
		{func() { clk.add(7500 * time.Millisecond) }, ""},
		{func() { d.Held("Graph", clk.in(3*time.Second), false) }, "keeping to Graph's budget: 3 s"},
		{func() { clk.add(2500 * time.Millisecond) }, ""}, // half a second left: not worth a word
		{func() { d.Held("Graph", clk.in(10*time.Second), false); d.Held("Graph", clk.in(2*time.Second), true) },
			"Graph asked to slow down: 2 s"},
		{func() { d.Held("ARM", clk.in(5*time.Second), true) }, "Graph asked to slow down: 2 s; ARM asked to slow down: 5 s"},
		{func() { clk.add(3 * time.Second) }, "keeping to Graph's budget: 7 s; ARM asked to slow down: 2 s"},
	}
	for i, s := range steps {
		s.do()
		if got := d.waiting(clk.now()); got != s.want {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
	}
}

// The wait line is a line under the running bar, cut to the terminal's
// width; a finished bar has none.
func TestWaitLineIsUnderTheRunningBarOnly(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	d := New(io.Discard, false, false)
	d.now = clk.now
	d.Held("Graph", clk.in(12*time.Second), true)
	fill := func(s decor.Statistics) string {
		var b bytes.Buffer
		if err := d.waitLine().Fill(&b, s); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := fill(decor.Statistics{AvailableWidth: 80}); got != "           Graph asked to slow down: 12 s\n" {
		t.Errorf("running bar: %q", got)
	}
	if got := fill(decor.Statistics{AvailableWidth: 20}); len([]rune(got)) != 20 || !strings.HasSuffix(got, "…\n") {
		t.Errorf("a narrow terminal: %q", got)
	}
	for _, s := range []decor.Statistics{{AvailableWidth: 80, Completed: true}, {AvailableWidth: 80, Aborted: true}} {
		if got := fill(s); got != "" {
			t.Errorf("finished bar: %q", got)
		}
	}
}

// Drawn for real: the line shows under the phase's bar while it runs.
func TestDisplayDrawsTheWait(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	var out syncBuffer
	d := New(&out, false, false)
	d.now = clk.now
	end := d.Phase(job.PhaseRemoving, 160, func() int { return 40 })
	d.Held("Graph", clk.in(12*time.Second), true)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Graph asked to slow down: 12 s") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	end()
	d.Stop()
	screen := out.String()
	i := strings.Index(screen, "Graph asked to slow down: 12 s")
	if i < 0 {
		t.Fatalf("the wait is not drawn:\n%q", screen)
	}
	if bar := strings.LastIndex(screen[:i], "removing"); bar < 0 || strings.Count(screen[bar:i], "\n") != 1 {
		t.Errorf("the wait is not the line under the removing bar:\n%q", screen)
	}
}

package console

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Waiting is visible (issue 28): while the pace holds requests back, the
// running bar has a line under it that says why and for how long, so that
// a bar that does not move is not taken for a hung run.

// waits are, by service, until when its requests are held back: at the
// service's request (a throttled answer's Retry-After) and by the pace
// keeping to the service's budget (waiting for a token).
type waits struct {
	mu     sync.Mutex
	order  []string // services, in the order they first waited
	asked  map[string]time.Time
	budget map[string]time.Time
}

// minBudgetWait is the shortest budget wait worth a word: a pace spaces
// its requests by fractions of a second all the time.
const minBudgetWait = time.Second

// Held tells the display that requests to service are held back until
// until: throttled, because the service asked (Retry-After); else by the
// pace, keeping to the service's budget. Called from the services' gates
// (job.Gate.OnHold), concurrently.
func (d *Display) Held(service string, until time.Time, throttled bool) {
	w := &d.waits
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.asked == nil {
		w.asked, w.budget = map[string]time.Time{}, map[string]time.Time{}
	}
	_, seen := w.asked[service]
	if _, b := w.budget[service]; !seen && !b {
		w.order = append(w.order, service)
	}
	at := w.budget
	if throttled {
		at = w.asked
	}
	if until.After(at[service]) {
		at[service] = until
	}
}

// waiting is what the wait line says at now: each service whose requests
// wait, why, and for how long (in whole seconds, rounded up); "" when
// none does. A service's request to slow down is said over its budget.
func (d *Display) waiting(now time.Time) string {
	w := &d.waits
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for _, s := range w.order {
		switch asked, budget := w.asked[s].Sub(now), w.budget[s].Sub(now); {
		case asked > 0:
			parts = append(parts, fmt.Sprintf("%s asked to slow down: %s", s, seconds(asked)))
		case budget >= minBudgetWait:
			parts = append(parts, fmt.Sprintf("keeping to %s's budget: %s", s, seconds(budget)))
		}
	}
	return strings.Join(parts, "; ")
}

// seconds is d in whole seconds, rounded up: "12 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", int(math.Ceil(d.Seconds())))
}

// waitIndent puts the wait line under the bar, past the phase's name.
const waitIndent = 11

// waitLine is the line under a running bar: what waiting says, or no line
// at all (mpb counts no row for an empty one). A finished bar has none.
func (d *Display) waitLine() mpb.BarFiller {
	return mpb.BarFillerFunc(func(w io.Writer, s decor.Statistics) error {
		if s.Completed || s.Aborted {
			return nil
		}
		text := d.waiting(d.clock())
		if text == "" {
			return nil
		}
		line := strings.Repeat(" ", waitIndent) + text
		if s.AvailableWidth > 0 && len([]rune(line)) >= s.AvailableWidth {
			// A wrapped line would throw mpb's count of lines off.
			line = string([]rune(line)[:s.AvailableWidth-2]) + "…"
		}
		_, err := io.WriteString(w, line+"\n")
		return err
	})
}

// clock is the display's time: time.Now, unless a test set its own.
func (d *Display) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

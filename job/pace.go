package job

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gate holds back every request to one service (or one ARM subscription)
// until the wait a throttled answer named has passed. Several paces share a
// gate: Graph's reads wait too when its writes were told to.
type Gate struct {
	// OnThrottled, when set before the gate is used, is called for every
	// throttled answer behind it (the terminal display counts them).
	OnThrottled func()
	// OnHold, when set before the gate is used, is told whenever a
	// request behind the gate is held back, and until when: by a
	// throttled answer's wait (throttled), or by a pace keeping to its
	// budget (waiting for a token). The terminal display says so.
	OnHold func(until time.Time, throttled bool)

	mu        sync.Mutex
	notBefore time.Time
}

// Hold makes every request wait until at least until.
func (g *Gate) Hold(until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until.After(g.notBefore) {
		g.notBefore = until
	}
}

// Until is the time before which no request may be sent.
func (g *Gate) Until() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.notBefore
}

// How a pace adapts when the service grants less than it was configured
// for. The service is a token bucket of unknown rate r; a throttled answer
// says that bucket is empty.
const (
	// burstMargin is the share of the configured burst the pace keeps
	// unused. The service's bucket counts from when a request arrives,
	// the pace's from when it is sent; with equal buckets one request
	// delayed on the way (a first connection, a scheduler hiccup) lets
	// the next ones arrive bunched, and a pace set exactly to the budget
	// is answered 429 now and then. A bucket a little smaller than the
	// service's absorbs that, and costs only the margin, once.
	burstMargin = 0.05
	// blindCut is the decrease when nothing is known of what the service
	// grants: the first episode, or too few answers since the last one
	// to measure anything (a storm of 429s).
	blindCut = 0.5
	// minSample is the fewest answers between two episodes that measure
	// the service's rate.
	minSample = 8
	// maxCut and minCut bound a decrease that follows a measurement: at
	// least 5 % (the rate was too high), at most to an eighth.
	maxCut = 0.95
	minCut = 0.125
	// probe is how fast the rate climbs above what the service was
	// measured to grant, per second of answers that were not throttled:
	// 2 %. The excess drains the service's bucket as the square of the
	// time, so a bucket of one second's worth lasts about ten seconds of
	// probing and Graph's (150 s worth) about two minutes; each episode
	// then costs only the requests in flight when it starts.
	probe = 0.02
	// maxProbeStep bounds the time one answer may count for, so that a
	// pause in the traffic does not turn into a jump of the rate.
	maxProbeStep = time.Second
	// recoverSteps is how many answers that were not throttled bring the
	// rate back from nothing to the configured rate, below what the
	// service was measured to grant (or while nothing is known).
	recoverSteps = 50
	// calm is how long the rate does not probe above what the service
	// was measured to grant after the service said it is near its limit.
	calm = time.Second
	// shrinkFor is how long batches stay small after the service last
	// pressed the pace, while nothing is measured (BatchSize).
	shrinkFor = 10 * time.Second
)

// Pace is a token bucket shared by every worker that sends one kind of
// request to one service, behind that service's gate.
//
// When the service grants less than the pace is configured for, the pace
// learns how much it does grant. A throttled answer means the service's
// bucket is empty; between two such answers the service accepted what it
// refilled (as long as the pace kept it busy), so the answers that were not
// throttled, divided by the time between the two, measure its rate. The
// pace then sends at that rate and probes slowly above it, instead of
// halving and climbing straight back to the configured rate over and over
// (plain additive increase, multiplicative decrease oscillates around a
// budget well below the configuration, and every swing costs a burst of
// 429s). Below the measured rate, or while nothing is measured, it climbs
// back quickly, so that 429s that were not about the budget (a fault, a
// scripted storm) do not leave it crawling. Only the first throttled answer
// of an episode counts: the requests already in flight when it arrived are
// answered 429 too, but say nothing new.
type Pace struct {
	gate    *Gate
	limiter *rate.Limiter
	max     rate.Limit
	min     rate.Limit
	// burst is the configured burst: the size the service's bucket is
	// said to be (before the pace's margin).
	burst int
	// now is the clock of the pace's decisions and sleep waits on it
	// (time.Now and real timers; tests drive both on a virtual clock).
	now   func() time.Time
	sleep func(ctx context.Context, until time.Time) error

	mu      sync.Mutex
	current rate.Limit
	// measured is what the service was last measured to grant; 0: unknown.
	measured rate.Limit
	// episodeEnd is when the gate set by the last decrease opens: a
	// throttled answer before then was sent before the decrease.
	episodeEnd time.Time
	// lastCut is when the last decrease happened (zero: none yet), and
	// accepted counts the answers not throttled since.
	lastCut  time.Time
	accepted int
	// lastProbe is when the rate last grew by probing (zero: not since
	// the cut).
	lastProbe time.Time
	// calmUntil is when probing may resume after the service said it is
	// near its limit (NearLimit).
	calmUntil time.Time
	// pressed is when the service last throttled the pace or said it is
	// near its limit (BatchSize).
	pressed time.Time
}

// NewPace returns a pace refilling perSecond tokens a second and holding at
// most burst (less a small margin, see burstMargin); perSecond ≤ 0 means no
// limit but the gate.
func NewPace(gate *Gate, perSecond float64, burst int) *Pace {
	return newPace(gate, perSecond, burst, time.Now)
}

// NewPaceOn is NewPace on clock: the pace decides and waits on clock's
// time (the transport that uses the pace should wait on the same clock).
func NewPaceOn(clock Clock, gate *Gate, perSecond float64, burst int) *Pace {
	p := newPace(gate, perSecond, burst, clock.Now)
	p.sleep = clock.SleepUntil
	return p
}

// Clock is the time a pace and the transport read and wait on:
// SystemClock in a run; a test's virtual clock, so that the waits a
// service asks for are simulated rather than slept.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once the clock has reached t (at once if it
	// has), or with ctx's error when ctx is done first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// SystemClock is the machine's clock and real timers.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// SleepUntil waits on a real timer until t or until ctx is done.
func (SystemClock) SleepUntil(ctx context.Context, t time.Time) error { return sleepUntil(ctx, t) }

func newPace(gate *Gate, perSecond float64, burst int, now func() time.Time) *Pace {
	limit := rate.Limit(perSecond)
	if perSecond <= 0 {
		limit = rate.Inf
	}
	p := &Pace{
		gate:    gate,
		limiter: rate.NewLimiter(limit, max(burst-int(float64(burst)*burstMargin), 1)),
		max:     limit,
		burst:   max(burst, 1),
		current: limit,
		now:     now,
		sleep:   sleepUntil,
	}
	if limit != rate.Inf {
		p.min = limit / 64
	}
	return p
}

// Wait blocks until the caller may send one request: the gate is open and a
// token is taken. It returns early with the context's error, or at once
// with an error wrapping ErrBeyondDeadline when the gate opens or the token
// comes after the context's deadline.
func (p *Pace) Wait(ctx context.Context) error { return p.WaitN(ctx, 1) }

// WaitN is Wait for n requests sent together (the sub-requests of one
// batch, each of which the service charges): it takes n tokens, in
// bucket-sized bites when n is more than the bucket holds.
func (p *Pace) WaitN(ctx context.Context, n int) error {
	for n > 0 {
		k := n
		if p.max != rate.Inf {
			k = min(n, max(p.limiter.Burst(), 1))
		}
		if err := p.wait(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (p *Pace) wait(ctx context.Context, n int) error {
	for {
		deadline, hasDeadline := ctx.Deadline()
		if until := p.gate.Until(); hasDeadline && until.After(deadline) {
			// A throttled answer asked every worker to wait past the
			// deadline: fail now rather than sleep until it.
			return fmt.Errorf("the pace is held until %s: %w", until.UTC().Format(time.RFC3339), ErrBeyondDeadline)
		}
		if err := p.sleep(ctx, p.gate.Until()); err != nil {
			return err
		}
		now := p.now()
		d, r := p.claim(now, n)
		if r == nil && d == 0 {
			return nil
		}
		at := now.Add(d)
		if hasDeadline && at.After(deadline) {
			if r != nil {
				r.CancelAt(now)
			}
			return fmt.Errorf("waiting %s for a token of the pace: %w", d.Round(time.Millisecond), ErrBeyondDeadline)
		}
		if f := p.gate.OnHold; f != nil && d > 0 {
			f(at, false)
		}
		if err := p.sleep(ctx, at); err != nil {
			if r != nil {
				r.CancelAt(p.now())
			}
			return err
		}
		// A throttled answer may have closed the gate while this worker
		// waited for its token; the token is lost with the bucket.
		if r != nil && !p.now().Before(p.gate.Until()) {
			return nil
		}
	}
}

// claim is one try of wait at now for n tokens. With a reservation, the
// tokens are the caller's once d has passed. Without one, they were taken
// (d is 0) or nothing was (d is how long until they will be there; try
// again then): a batch's tokens are not reserved ahead (take).
func (p *Pace) claim(now time.Time, n int) (time.Duration, *rate.Reservation) {
	if n > 1 {
		return p.take(now, n), nil
	}
	r := p.limiter.ReserveN(now, n)
	return r.DelayFrom(now), r
}

// take takes n tokens at now and returns 0, or takes nothing and returns
// how long until n tokens will be there. Nothing is reserved ahead: a
// worker waiting for its tokens holds none. Reserved ahead, sixteen
// workers each waiting for a batch of 20 put the bucket 300 tokens in
// debt, all promised past the gate the next throttled answer closed, and
// lost behind it: seconds of a budget of 100 a second in which nobody
// sent (part of issue 14's second model's 1.37× the bound; the smaller
// batches of BatchSize are the rest). Single requests still reserve
// ahead: at most a token a worker is in debt, and the few lost behind a
// gate leave the service's bucket a little to spare after each episode,
// which spaces the episodes out (taking them instead doubled the 429s of
// job/pace_test.go's shared budget).
func (p *Pace) take(now time.Time, n int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.limiter.ReserveN(now, n)
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now)
	}
	return d
}

// Throttled records a throttled answer that named (or implied) wait: every
// worker behind the gate waits it out. The first throttled answer of an
// episode also empties the bucket and lowers the rate: to what the service
// was measured to grant since the previous episode when that can be
// measured, else to half.
func (p *Pace) Throttled(wait time.Duration) {
	now := p.now()
	p.gate.Hold(now.Add(wait))
	if f := p.gate.OnThrottled; f != nil {
		f()
	}
	if f := p.gate.OnHold; f != nil {
		f(now.Add(wait), true)
	}
	if p.max == rate.Inf {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Before(p.episodeEnd) {
		// Sent before the decrease: the same episode.
		return
	}
	next := p.current * blindCut
	if !p.lastCut.IsZero() && p.accepted >= minSample && now.After(p.lastCut) {
		p.measured = rate.Limit(float64(p.accepted) / now.Sub(p.lastCut).Seconds())
		next = min(max(p.measured, p.current*minCut), p.current*maxCut)
	}
	p.current = max(next, p.min)
	p.episodeEnd = now.Add(wait)
	p.lastCut, p.accepted, p.lastProbe, p.pressed = now, 0, time.Time{}, now
	p.limiter.SetLimitAt(now, p.current)
	if n := int(p.limiter.TokensAt(now)); n > 0 {
		p.limiter.ReserveN(now, n)
	}
}

// NearLimit records an answer that says the service has used share of its
// budget (Graph's x-ms-throttle-limit-percentage, sent only above 0.8, and
// not always): an early signal, never relied on. The pace's bucket is cut
// to what the service's (of the configured burst) has left, and the rate
// stops climbing above what the service was measured to grant, back to it
// if it was above, so that the next throttled answer comes later or not at
// all.
func (p *Pace) NearLimit(share float64) {
	if p.max == rate.Inf || !(share > 0 && share <= 2) {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	left := max(int((1-share)*float64(p.burst)), 0)
	if excess := p.limiter.TokensAt(now) - float64(left); excess >= 1 {
		p.limiter.ReserveN(now, min(int(math.Ceil(excess)), p.limiter.Burst()))
	}
	if p.measured > 0 && p.current > p.measured {
		p.current = p.measured
		p.limiter.SetLimitAt(now, p.current)
	}
	p.lastProbe, p.calmUntil, p.pressed = time.Time{}, now.Add(calm), now
}

// BatchSize is how many requests one batch should carry, at most most:
// all of them, except while the service's budget may be what sets the
// pace (it was measured; the service throttled the pace or said it is
// near its limit in the last shrinkFor; or the pace's own bucket is down
// to a quarter, so the service's probably is too): then no more than a
// twentieth of the service's bucket (the configured burst), at least 1. A batch arrives at
// once, so when the service's bucket runs dry every request of a batch
// then in flight is answered 429: smaller batches make each episode cost
// fewer 429s, for more round trips, which the budget leaves time for.
func (p *Pace) BatchSize(most int) int {
	if p.max == rate.Inf {
		return most
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.measured == 0 && (p.pressed.IsZero() || now.Sub(p.pressed) >= shrinkFor) && p.limiter.TokensAt(now) >= float64(p.burst)/4 {
		return most
	}
	return min(most, max(p.burst/20, 1))
}

// Succeeded records an answer that was not throttled. Once the episode's
// wait has passed, the rate climbs back: quickly up to what the service
// was measured to grant (or all the way while nothing is measured), then
// by probe per second of such answers, up to the configured rate.
func (p *Pace) Succeeded() {
	if p.max == rate.Inf {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accepted++
	if p.current >= p.max || now.Before(p.episodeEnd) {
		return
	}
	switch {
	case p.measured == 0 || p.current < p.measured:
		target := p.max
		if p.measured > 0 {
			target = min(p.measured, p.max)
		}
		p.current = min(p.current+p.max/recoverSteps, target)
		p.lastProbe = time.Time{}
	case now.Before(p.calmUntil):
		return
	case p.lastProbe.IsZero():
		p.lastProbe = now
		return
	default:
		dt := min(now.Sub(p.lastProbe), maxProbeStep)
		if dt <= 0 {
			return
		}
		p.lastProbe = now
		p.current = min(p.current*rate.Limit(1+probe*dt.Seconds()), p.max)
	}
	p.limiter.SetLimitAt(now, p.current)
}

// Remaining tells the pace how many more requests the service says it
// will accept now (ARM's x-ms-ratelimit-remaining-* counters): the pace's
// bucket is cut down to that, less reserve for the requests that may be on
// their way, so that a run that keeps to the counters is never answered
// 429. It only ever takes tokens away: a stale, higher count changes
// nothing.
func (p *Pace) Remaining(n, reserve int) {
	if p.max == rate.Inf {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	excess := p.limiter.TokensAt(now) - float64(n-reserve)
	if excess >= 1 {
		// Taken as a reservation never used: the bucket may go into debt
		// (at most a bucket's worth), which the next requests wait out.
		p.limiter.ReserveN(now, min(int(math.Ceil(excess)), p.limiter.Burst()))
	}
}

// Gate is the gate the pace waits behind.
func (p *Pace) Gate() *Gate { return p.gate }

// Rate is the pace's current rate per second (+Inf when unlimited).
func (p *Pace) Rate() float64 {
	if p.max == rate.Inf {
		return math.Inf(1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(p.current)
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	return sleepUntil(ctx, time.Now().Add(d))
}

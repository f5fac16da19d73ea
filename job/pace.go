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
// for: additive increase, multiplicative decrease on the rate the service
// was measured to accept (as TCP CUBIC and the AWS SDKs' adaptive retry
// mode do). The service is a token bucket of unknown rate r; a throttled
// answer says that bucket is empty.
const (
	// burstMargin is the share of the configured burst the pace keeps
	// unused. The service's bucket counts from when a request arrives,
	// the pace's from when it is sent; with equal buckets one request
	// delayed on the way (a first connection, a scheduler hiccup) lets
	// the next ones arrive bunched, and a pace set exactly to the budget
	// is answered 429 now and then. A bucket a little smaller than the
	// service's absorbs that, and costs only the margin, once.
	burstMargin = 0.05
	// beta is the multiplicative decrease: after a throttled answer the
	// rate goes to beta times what the service was measured to accept
	// (CUBIC's and the AWS SDKs' 0.7), and the pace's bucket shrinks
	// with it. Below what the service accepts, its bucket refills while
	// the pace climbs back, so that the climb and the probing after it
	// start with the service's bucket partly full, not empty.
	beta = 0.7
	// regain is how long the rate takes to climb back from beta times
	// the measured rate to the measured rate, on a cubic curve (fast at
	// first, flat near the rate that was throttled).
	regain = 2 * time.Second
	// probe is how fast the rate climbs above what the service was
	// measured to accept, per second since it got there: additive, 1 %
	// of that rate a second. The excess drains the service's bucket as
	// the square of the time: what a cut left in it (at least the
	// 1 − beta of a regain's worth) lasts about ten seconds at 100 a
	// second, and the episode that ends the probing costs only the few
	// requests in flight when it starts, sent a few percent too fast.
	probe = 0.01
	// minSample is the fewest answers accepted since the last decrease
	// (or the first answer) that measure the service's rate; fewer (a
	// storm of 429s) cut blind, to beta of the current rate.
	minSample = 8
	// minCut bounds one decrease: to an eighth of the rate at most (a
	// quiet stretch measures little of what the service grants).
	minCut = 0.125
	// calm is how long the rate does not probe above what the service
	// was measured to grant after the service said it is near its limit.
	calm = time.Second
	// shrinkFor is how long batches stay small after the service last
	// pressed the pace, while nothing is measured (BatchSize).
	shrinkFor = 10 * time.Second
	// windowPoll is how often a request held by ARM's remaining count
	// (Admit) looks again when no refill can be estimated yet: an
	// answer in flight may open the window.
	windowPoll = 5 * time.Millisecond
	// refillSpan is the shortest stretch of answers that measures the
	// refill of a service that says what it has left (Remaining).
	refillSpan = 500 * time.Millisecond
)

// Pace is a token bucket shared by every worker that sends one kind of
// request to one service, behind that service's gate.
//
// When the service grants less than the pace is configured for, the pace
// learns how much it does grant, from its 429s alone (an early signal such
// as Graph's x-ms-throttle-limit-percentage helps when it comes, but is
// never needed). A throttled answer means the service's bucket is empty;
// since the previous one (or the first answer) the service accepted what
// it holds and what it refilled, so the answers accepted since, over that
// time or the wait the 429 named, whichever is longer, measure its rate
// (from above: the first time, the bucket's depth is counted in). The
// pace then cuts its rate to beta times that and its bucket with it
// (multiplicative decrease), climbs back to the measured rate within
// regain on a cubic curve, and probes slowly above it (additive
// increase), never above the configured rate. Only the first throttled
// answer of an episode counts: the requests already in flight when it
// arrived are answered 429 too, but say nothing new.
type Pace struct {
	gate    *Gate
	limiter *rate.Limiter
	max     rate.Limit
	min     rate.Limit
	// burst is the configured burst: the size the service's bucket is
	// said to be (before the pace's margin); fullBurst is the pace's
	// bucket with the margin taken off.
	burst, fullBurst int
	// now is the clock of the pace's decisions and sleep waits on it
	// (time.Now and real timers; tests drive both on a virtual clock).
	now   func() time.Time
	sleep func(ctx context.Context, until time.Time) error

	mu      sync.Mutex
	current rate.Limit
	// measured is what the service was last measured to accept; 0:
	// unknown.
	measured rate.Limit
	// provisional: measured is the rate that was throttled, not yet
	// what the service was seen to accept.
	provisional bool
	// episodeEnd is when the gate set by the last decrease opens: a
	// throttled answer before then was sent before the decrease.
	episodeEnd time.Time
	// since is when the stretch that measures the service began: the
	// last decrease, or the first answer; accepted counts the answers
	// not throttled since.
	since    time.Time
	accepted int
	// span and spanAccepted are the stretch and the answers that
	// measured the service on the first episode (0: not measured then),
	// and from the rate that was throttled: the
	// answers to requests sent before it, that come during its wait,
	// were accepted too and refine it (Succeeded).
	span         time.Duration
	spanAccepted int
	from         rate.Limit
	// cutAt is when the last decrease happened (zero: none yet), and
	// cutRate the rate it set: the climb back starts there.
	cutAt   time.Time
	cutRate rate.Limit
	// calmUntil is when probing may resume after the service said it is
	// near its limit (NearLimit).
	calmUntil time.Time
	// pressed is when the service last throttled the pace or said it is
	// near its limit (BatchSize).
	pressed time.Time

	// What a service that says how much it has left (ARM's
	// x-ms-ratelimit-remaining-*) said last: left at leftAt (known once
	// counted), and the refill measured from those counts (0: unknown).
	// inFlight counts the requests Admit let go whose answers have not
	// come.
	counted  bool
	left     int
	leftAt   time.Time
	inFlight int
	refill   float64
	// The count the refill is measured from: ref at refAt, and the
	// requests charged since; refTop is the most the service said it
	// had since then (more means its bucket was full: refill was lost).
	ref, refTop int
	refAt       time.Time
	charged     int
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
	full := max(burst-int(float64(burst)*burstMargin), 1)
	p := &Pace{
		gate:      gate,
		limiter:   rate.NewLimiter(limit, full),
		max:       limit,
		burst:     max(burst, 1),
		fullBurst: full,
		current:   limit,
		now:       now,
		sleep:     sleepUntil,
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
// episode also empties the pace's bucket and decreases the rate: to beta
// times what the service was measured to accept (measure), or, when too
// few answers were accepted to measure anything, to beta times the rate.
func (p *Pace) Throttled(wait time.Duration) {
	now := p.now()
	p.gate.Hold(now.Add(wait))
	if f := p.gate.OnThrottled; f != nil {
		f()
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
	m, ok := p.measure(now, wait)
	p.span = 0
	switch {
	case p.measured == 0 && ok && m < p.current*beta:
		// The service accepted far less than the pace sent: that is
		// what it grants (from above: its bucket is counted in).
		p.measured = max(m, p.current*minCut)
		p.span, p.spanAccepted = max(now.Sub(p.since), wait), p.accepted
	case p.measured == 0:
		// Nothing measured, or the service took about all the pace
		// sent (its bucket carried it): the rate that was throttled
		// is the most the service is known not to keep up with, an
		// estimate the next episode replaces.
		p.measured, p.provisional = p.current, true
	case !ok:
		// Too few answers accepted since the last decrease (a storm of
		// 429s) to say anything of the rate: the estimate stands.
	case p.provisional:
		p.measured, p.provisional = min(max(m, p.current*minCut), p.max), false
		p.span, p.spanAccepted = max(now.Sub(p.since), wait), p.accepted
	case p.current > p.measured:
		// Throttled while probing above the estimate: the service
		// grants about that, or what it accepted if more.
		p.measured = min(max(m, p.measured), p.max)
	default:
		// Throttled below the estimate (on the way back): the service
		// grants less. The estimate comes down to the rate that was
		// throttled (CUBIC's rate at loss) or to what was accepted,
		// by beta at most: the pace did not keep the service busy all
		// along, so what it accepted may be less than it grants.
		p.measured = min(p.current, max(m, p.measured*beta))
	}
	p.from = p.current
	p.current = max(min(p.from, p.measured)*beta, p.min)
	p.cutRate, p.cutAt = p.current, now
	p.episodeEnd = now.Add(wait)
	p.since, p.accepted, p.pressed = now, 0, now
	p.limiter.SetLimitAt(now, p.current)
	p.limiter.SetBurstAt(now, p.burstFor(p.current))
	if n := int(p.limiter.TokensAt(now)); n > 0 {
		p.limiter.ReserveN(now, n)
	}
}

// measure is the rate the service accepted since the last decrease (or the
// first answer) up to a throttled answer at now that named wait: the
// answers accepted over that time, or over wait when that is longer (the
// service asks to be left alone that long: what it accepted just before
// is what it refills in about that time, plus at most its depth). ok is
// false when too few answers were accepted to tell.
func (p *Pace) measure(now time.Time, wait time.Duration) (rate.Limit, bool) {
	if p.accepted < minSample || p.since.IsZero() {
		return 0, false
	}
	span := max(now.Sub(p.since), wait)
	if span <= 0 || now.Before(p.since) {
		return 0, false
	}
	return rate.Limit(float64(p.accepted) / span.Seconds()), true
}

// burstFor is the pace's bucket at rate r: the configured bucket (less
// the margin) at the measured rate or above, shrunk in proportion below
// it, so that the tokens gathered during a wait the service named are not
// sent at once into a bucket the service has just found empty.
func (p *Pace) burstFor(r rate.Limit) int {
	if p.measured <= 0 || r >= p.measured {
		return p.fullBurst
	}
	return max(int(float64(p.fullBurst)*float64(r/p.measured)), 1)
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
		// The probe starts again from the measured rate, after calm.
		p.cutAt, p.cutRate = now.Add(-regain), p.measured
	}
	p.calmUntil, p.pressed = now.Add(calm), now
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
// wait has passed, the rate climbs back: to what the service was measured
// to accept within regain of the decrease, on a cubic curve, then above
// it by probe a second, up to the configured rate; with nothing measured
// (no decrease yet) it stays at the configured rate.
func (p *Pace) Succeeded() {
	if p.max == rate.Inf {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.since.IsZero() {
		p.since = now
	}
	if !now.Before(p.since) {
		p.accepted++
	}
	if now.Before(p.episodeEnd) && p.span > 0 {
		// Sent before the decrease and accepted: the measurement that
		// decreased the rate counted it short, by as many answers as
		// were on their way (a slow round trip, many workers).
		p.spanAccepted++
		p.measured = min(rate.Limit(float64(p.spanAccepted)/p.span.Seconds()), p.max)
		p.current = max(min(p.from, p.measured)*beta, p.min)
		p.cutRate = p.current
		p.limiter.SetLimitAt(now, p.current)
		p.limiter.SetBurstAt(now, p.burstFor(p.current))
		return
	}
	if p.current >= p.max || p.cutAt.IsZero() || now.Before(p.episodeEnd) {
		return
	}
	next := p.climb(now)
	if now.Before(p.calmUntil) {
		next = min(next, max(p.measured, p.current))
	}
	if next <= p.current {
		return
	}
	p.current = min(next, p.max)
	p.limiter.SetLimitAt(now, p.current)
	p.limiter.SetBurstAt(now, p.burstFor(p.current))
}

// climb is the rate at now on the way back from the last decrease: from
// cutRate at the decrease to the measured rate after regain, flat near it
// (W(t) = W + (cut − W)(1 − t/regain)³, CUBIC's concave part), then
// probe × W more for each second beyond.
func (p *Pace) climb(now time.Time) rate.Limit {
	w := p.measured
	t := now.Sub(p.cutAt)
	if t >= regain {
		return w * rate.Limit(1+probe*(t-regain).Seconds())
	}
	if p.cutRate >= w {
		return p.cutRate
	}
	left := 1 - t.Seconds()/regain.Seconds()
	return w - (w-p.cutRate)*rate.Limit(left*left*left)
}

// Remaining tells the pace how many more requests the service says it
// will accept now (ARM's x-ms-ratelimit-remaining-* counters), on the
// answer to a request Admit let go; charged is false when that answer was
// throttled (the service did not count it). The pace's bucket is cut down
// to that count less the other requests in flight, and the count bounds
// what Admit lets go: requests in flight and the next ones sent together
// never exceed what the service said is left, plus what it refills
// meanwhile at the rate measured from the counts themselves (the count
// after an answer, less the one before, plus the requests charged in
// between, over the time between). A stale, higher count gives no token
// back.
func (p *Pace) Remaining(left int, charged bool) {
	if p.max == rate.Inf {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	others := max(p.inFlight-1, 0)
	if excess := p.limiter.TokensAt(now) - float64(left-others); excess >= 1 {
		// Taken as a reservation never used: the bucket may go into debt
		// (at most a bucket's worth), which the next requests wait out.
		p.limiter.ReserveN(now, min(int(math.Ceil(excess)), p.limiter.Burst()))
	}
	p.counted, p.left, p.leftAt = true, left, now
	switch span := now.Sub(p.refAt); {
	case p.refAt.IsZero() || left > p.refTop || span > 20*refillSpan:
		// The first count, or one above any since the reference (the
		// service's bucket was full meanwhile: what it refilled then
		// was lost), or an old reference: measure from here.
		p.ref, p.refTop, p.refAt, p.charged = left, left, now, 0
	default:
		if charged {
			p.charged++
		}
		if span >= refillSpan {
			if r := float64(left-p.ref+p.charged) / span.Seconds(); r > 0 {
				p.refill = r
			}
		}
	}
}

// Admit waits, behind the gate, until one more request may be on its way
// by what the service last said it has left (Remaining), and counts it in
// flight until done is called (once its answer, or its failure, is in).
// Before any count, or when nothing is in flight and no refill is known
// yet, it lets the request go: the pace's bucket and the gate still hold
// it. It returns early with the context's error, or with an error
// wrapping ErrBeyondDeadline when the wait would end after the context's
// deadline.
func (p *Pace) Admit(ctx context.Context) (done func(), err error) {
	if p.max == rate.Inf {
		return func() {}, nil
	}
	for {
		deadline, hasDeadline := ctx.Deadline()
		if until := p.gate.Until(); hasDeadline && until.After(deadline) {
			return nil, fmt.Errorf("the pace is held until %s: %w", until.UTC().Format(time.RFC3339), ErrBeyondDeadline)
		}
		if err := p.sleep(ctx, p.gate.Until()); err != nil {
			return nil, err
		}
		now := p.now()
		p.mu.Lock()
		// What the service refilled since its count is believed only
		// while nothing is in flight: an answer on its way brings a newer
		// count, and answers of requests sent together may arrive out of
		// order, so a refill added to an older count can overshoot.
		avail := float64(p.left) - float64(p.inFlight)
		if p.inFlight == 0 {
			avail += p.refill * now.Sub(p.leftAt).Seconds()
		}
		if !p.counted || avail >= 1 || (p.inFlight == 0 && p.refill == 0) {
			p.inFlight++
			p.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					p.mu.Lock()
					p.inFlight--
					p.mu.Unlock()
				})
			}, nil
		}
		wait := windowPoll
		if p.refill > 0 {
			need := time.Duration((1 - avail) / p.refill * float64(time.Second))
			if hasDeadline && now.Add(need).After(deadline) {
				p.mu.Unlock()
				return nil, fmt.Errorf("waiting %s for the service's remaining count: %w", need.Round(time.Millisecond), ErrBeyondDeadline)
			}
			// An answer may come first and open the window sooner; a
			// need rounded to nothing still waits a little.
			wait = max(min(need, windowPoll), time.Millisecond)
		}
		p.mu.Unlock()
		if err := p.sleep(ctx, now.Add(wait)); err != nil {
			return nil, err
		}
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

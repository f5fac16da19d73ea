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
//
// Before any 429 nothing says what the service grants, and the first
// episode costs what is on its way when the service runs dry. To keep
// that small, the pace spends its bucket no faster than spendFactor times
// its rate, and once a bucket's worth is spent it sends at verifyShare of
// its rate for verifyFor before trusting it (trust).
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

	mu sync.Mutex
	// spend bounds how fast limiter's tokens are spent (spendFactor);
	// nil when unlimited.
	spend *rate.Limiter
	// trust is how far the pace trusts its configured rate: spending
	// its first bucket, verifying (until verifyUntil), or trusted.
	trust       int
	verifyUntil time.Time
	// spent counts the tokens taken, up to the first bucket's worth.
	spent   int
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
	// x-ms-ratelimit-remaining-*) said, for Admit (pace_counts.go).
	counts counts
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
		p.setSpend(time.Time{}, limit*spendFactor, spendWindow, true)
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
			p.mu.Lock()
			k = min(n, max(p.limiter.Burst(), 1), p.spend.Burst())
			p.mu.Unlock()
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
	if d := p.spendable(now, n); d > 0 {
		return d, nil
	}
	var d time.Duration
	var r *rate.Reservation
	if n > 1 {
		d = p.take(now, n)
	} else {
		r = p.limiter.ReserveN(now, n)
		d = r.DelayFrom(now)
	}
	if p.max != rate.Inf && (r != nil || d == 0) {
		p.mu.Lock()
		p.spend.ReserveN(now, min(n, p.spend.Burst()))
		p.spent += n
		p.mu.Unlock()
	}
	return d, r
}

// spendable is how long until n tokens may be spent at now by the spend
// limiter (0: now): however full the pace's bucket, it is spent at most at
// spendFactor times the configured rate (a bite larger than the spend
// limiter holds needs it full). When they may not, the wait is also at
// least until the pace's bucket holds them, and at most until verifying
// ends.
func (p *Pace) spendable(now time.Time, n int) time.Duration {
	if p.max == rate.Inf {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.verify(now)
	d := shortOf(p.spend, now, min(n, p.spend.Burst()))
	if d <= 0 {
		return 0
	}
	d = max(d, shortOf(p.limiter, now, n))
	if p.trust == verifying {
		d = max(min(d, p.verifyUntil.Sub(now)), time.Millisecond)
	}
	return d
}

// verify moves the pace on from spending its first bucket to verifying
// the configured rate once a bucket's worth of tokens is taken, and on to
// trusting it after verifyFor or once its bucket is full again (see
// trust).
func (p *Pace) verify(now time.Time) {
	switch tokens := p.limiter.TokensAt(now); {
	case p.trust == spending && p.spent >= p.fullBurst:
		p.trust, p.verifyUntil = verifying, now.Add(verifyFor)
		p.setSpend(now, p.max*verifyShare, batchSpan, false)
	case p.trust == verifying && (!now.Before(p.verifyUntil) || tokens >= float64(p.fullBurst)-1):
		p.trustRate(now)
	}
}

// trustRate ends the verifying (see trust).
func (p *Pace) trustRate(now time.Time) {
	if p.trust != trusted && p.max != rate.Inf {
		p.trust = trusted
		p.setSpend(now, p.max*spendFactor, spendWindow, true)
	}
}

// setSpend sets the spend limiter to r, holding what r earns in window:
// full when it is to spend at once what the pace holds, else with what it
// held, if that fits.
func (p *Pace) setSpend(now time.Time, r rate.Limit, window time.Duration, full bool) {
	burst := max(int(float64(r)*window.Seconds()), 1)
	if full || p.spend == nil {
		p.spend = rate.NewLimiter(r, burst)
		return
	}
	p.spend.SetLimitAt(now, r)
	p.spend.SetBurstAt(now, burst)
}

// shortOf is how long until l holds n tokens at now (0: it does).
func shortOf(l *rate.Limiter, now time.Time, n int) time.Duration {
	short := float64(n) - l.TokensAt(now)
	if short <= 0 || l.Limit() <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(short / float64(l.Limit()) * float64(time.Second)))
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

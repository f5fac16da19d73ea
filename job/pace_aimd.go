package job

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// How a pace adapts when the service grants less than it was configured
// for: additive increase, multiplicative decrease on the rate the service
// was measured to accept (as TCP CUBIC and the AWS SDKs' adaptive retry
// mode do). The service is a token bucket of unknown rate r; a throttled
// answer says that bucket is empty.
// How far a pace trusts its configured rate (Pace.trust).
const (
	spending  = iota // its first bucket, at spendFactor times the rate
	verifying        // at verifyShare of the rate, until its bucket is full
	trusted          // spendFactor times the rate, after that or a 429
)

const (
	// burstMargin is the share of the configured burst the pace keeps
	// unused. The service's bucket counts from when a request arrives,
	// the pace's from when it is sent; with equal buckets one request
	// delayed on the way (a first connection, a scheduler hiccup) lets
	// the next ones arrive bunched, and a pace set exactly to the budget
	// is answered 429 now and then. A bucket a little smaller than the
	// service's absorbs that, and costs only the margin, once.
	burstMargin = 0.05
	// spendFactor bounds how fast the pace spends its bucket: at most
	// this many times the configured rate once spendWindow's worth at
	// that speed is spent, in batches of what it earns in batchSpan. A
	// service that grants less than the pace was told (another app
	// shares the tenant's budget) runs dry while the pace still holds
	// tokens; everything then on its way is answered 429, and that is
	// what the pace sends in a round trip. Unbounded, eight workers
	// sending batches of 20 put 160 requests on their way (the default
	// configuration on a shared budget: 8 % answered 429); at eight
	// times the rate, a round trip's worth is a few, while a bucket of
	// 3,000 at Graph's 20 a second still goes in under 20 s, far sooner
	// than the 150 s it took to earn, and a job of a few hundred writes
	// goes at once.
	spendFactor = 8
	spendWindow = time.Second
	// verifyShare is the share of the configured rate the pace sends at
	// for verifyFor once its first bucket is spent (trust): the
	// configured rate is a claim until the service has borne it. A
	// service told its own bucket's size keeps the margin of it
	// (burstMargin) when the pace's is spent; one that grants half the
	// rate or less runs that dry within verifyFor, at half the rate told
	// rather than all of it, and the first episode (the requests on
	// their way when the first 429 comes) costs that much less. When the
	// service grants all, the tokens not sent meanwhile wait in both
	// buckets and go when verifyFor is over: verifyFor is short enough
	// that the pace's bucket does not fill meanwhile (it ends then too),
	// so no token is lost.
	verifyShare = 0.5
	verifyFor   = 500 * time.Millisecond
	// batchSpan is how much of the pace's rate one batch carries at most
	// while the service's budget sets the pace (BatchSize), or its bucket
	// is spent (spendFactor): about two round trips' worth.
	batchSpan = 50 * time.Millisecond
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
)

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
	p.trustRate(now)
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
// all of them up to what the spend limiter holds or spends in batchSpan
// (spendFactor),
// except while the service's budget may be what sets the pace (it was
// measured; the service throttled the pace or said it is near its limit
// in the last shrinkFor; or the pace's own bucket is down to a quarter,
// so the service's probably is too): then no more than what the pace's
// rate earns in batchSpan, nor a twentieth of the service's bucket (the
// configured burst), at least 1. A batch arrives at once, so when the
// service's bucket runs dry every request of a batch then in flight is
// answered 429: smaller batches make each episode cost fewer 429s, for
// more round trips, which the budget leaves time for.
func (p *Pace) BatchSize(most int) int {
	if p.max == rate.Inf {
		return most
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	most = min(most, max(int(p.spend.TokensAt(now)), int(float64(p.spend.Limit())*batchSpan.Seconds()), 1))
	if p.measured == 0 && (p.pressed.IsZero() || now.Sub(p.pressed) >= shrinkFor) && p.limiter.TokensAt(now) >= float64(p.burst)/4 {
		return most
	}
	earned := int(float64(p.current) * batchSpan.Seconds())
	return max(min(most, p.burst/20, earned), 1)
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

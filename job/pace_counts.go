package job

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// How Admit keeps the requests in flight within what a service says it has
// left (ARM's x-ms-ratelimit-remaining-*).
const (
	// countPoll is how often a request held by the count looks again
	// while others are on their way: their answers bring newer counts.
	countPoll = 5 * time.Millisecond
	// firstProbe is how long after the last answer a request held by a
	// count of nothing goes anyway while no refill has been measured:
	// one request, whose answer says what came back meanwhile. ARM names
	// its waits in whole seconds, so a probe answered 429 would cost at
	// least as long. Each probe that finds nothing doubles the wait, up
	// to lastProbe.
	firstProbe = time.Second
	lastProbe  = 8 * time.Second
	// refillSpan is the shortest stretch of counts that measures the
	// refill; after refillWindow the measure starts again from the
	// latest count (the service's budget may change).
	refillSpan   = 500 * time.Millisecond
	refillWindow = time.Minute
)

// counts is what a service that says how much it has left told the pace,
// kept so that the requests in flight never exceed what its answers
// confirm (Admit).
//
// Answers may arrive in any order, and a count says nothing of the
// requests the service had not seen yet. A count may be the service's
// latest only while no request admitted after it came has been answered:
// latest holds those (an answer drops the counts that came before its
// request was admitted, which the service saw before it). The service's
// latest count is among them, so the smallest, less every request not yet
// answered, is surely left. Nothing refilled is added while a request is
// on its way: its answer will say. Only once every request is answered
// does the pace add what the service refills after the last answer, at a
// rate measured from the counts from below (measure).
type counts struct {
	counted bool
	// event numbers admissions and answers in the order the pace saw
	// them.
	event uint64
	// inFlight: admitted and not done; open: admitted and not answered.
	inFlight, open int
	latest         []count
	lastAnswer     time.Time
	// refill is the service's refill a second, from below (0: unknown).
	refill float64
	// probes counts the probes (firstProbe) that found nothing.
	probes int
	// ref is the count the refill is measured from, answered to a
	// request admitted at refAdmitted; refCharged counts the answers
	// charged since to requests admitted after it came (of generation
	// refGen).
	ref         count
	refAdmitted time.Time
	refGen      int
	refCharged  int
}

// count is what one answer said was left, and the event of that answer.
type count struct {
	left     int
	answered uint64
}

// Admitted is one request Admit let go: the count its answer carries goes
// to Remaining, and Done is called once the request is over (answered or
// not). A nil Admitted (an unlimited pace) ignores both.
type Admitted struct {
	p     *Pace
	event uint64 // of the admission
	at    time.Time
	// gen and charged are the refill measure's generation and charged
	// answers when admitted.
	gen, charged   int
	probe          bool
	answered, done bool
}

// Admit waits, behind the gate, until one more request may be on its way
// by what the service's answers confirm is left (counts), and counts it in
// flight until the Admitted's Done. Before any count it lets the request
// go: the pace's bucket and the gate still hold it. It returns early with
// the context's error, or with an error wrapping ErrBeyondDeadline when
// the refill it waits for would come after the context's deadline.
func (p *Pace) Admit(ctx context.Context) (*Admitted, error) {
	if p.max == rate.Inf {
		return nil, nil
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
		wait, probe, sure := p.counts.hold(now)
		if wait <= 0 {
			a := p.counts.admit(p, now, probe)
			p.mu.Unlock()
			return a, nil
		}
		p.mu.Unlock()
		if at := now.Add(wait); sure && hasDeadline && at.After(deadline) {
			return nil, fmt.Errorf("waiting %s for the service's remaining count: %w", wait.Round(time.Millisecond), ErrBeyondDeadline)
		}
		if err := p.sleep(ctx, now.Add(wait)); err != nil {
			return nil, err
		}
	}
}

// hold is how long a request must wait at now before it may go (0: at
// once); probe: it goes on no count, to learn what came back; sure: the
// wait is what the service's refill takes, not a look again.
func (c *counts) hold(now time.Time) (wait time.Duration, probe, sure bool) {
	if !c.counted {
		return 0, false, false
	}
	avail := c.available(now)
	switch {
	case avail >= 1:
		return 0, false, false
	case c.open > 0:
		// An answer on its way brings a newer count.
		return countPoll, false, false
	case c.refill > 0:
		// Rounded up: a token that comes a nanosecond after the wait
		// would cost another look.
		need := time.Duration(math.Ceil((1 - avail) / c.refill * float64(time.Second)))
		return max(need, time.Millisecond), false, true
	}
	at := c.lastAnswer.Add(min(firstProbe<<min(c.probes, 3), lastProbe))
	if !now.Before(at) {
		return 0, true, false
	}
	return at.Sub(now), false, true
}

// available is how many requests the service surely accepts at now: the
// smallest count that may be its latest, less the requests not answered;
// plus what it refilled since the last answer when none is on its way.
func (c *counts) available(now time.Time) float64 {
	avail := float64(c.least() - c.open)
	if c.open == 0 && c.refill > 0 && now.After(c.lastAnswer) {
		avail += c.refill * now.Sub(c.lastAnswer).Seconds()
	}
	return avail
}

// least is the smallest count that may be the service's latest.
func (c *counts) least() int {
	least := c.latest[0].left
	for _, n := range c.latest[1:] {
		least = min(least, n.left)
	}
	return least
}

func (c *counts) admit(p *Pace, now time.Time, probe bool) *Admitted {
	c.event++
	c.inFlight++
	c.open++
	return &Admitted{p: p, event: c.event, at: now, gen: c.refGen, charged: c.refCharged, probe: probe}
}

// Remaining tells the pace how many more requests the service says it will
// accept (ARM's x-ms-ratelimit-remaining-* counters), on the answer to a;
// charged is false when that answer was throttled (the service did not
// count it). The pace's bucket is cut down to that count less the other
// requests in flight (a stale, higher count gives no token back), and the
// count bounds what Admit lets go (counts).
func (a *Admitted) Remaining(left int, charged bool) {
	if a == nil {
		return
	}
	p := a.p
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.counts
	others := max(c.inFlight-1, 0)
	if excess := p.limiter.TokensAt(now) - float64(left-others); excess >= 1 {
		// Taken as a reservation never used: the bucket may go into debt
		// (at most a bucket's worth), which the next requests wait out.
		p.limiter.ReserveN(now, min(int(math.Ceil(excess)), p.limiter.Burst()))
	}
	if a.answered {
		return
	}
	a.answered = true
	c.open--
	c.event++
	// The counts that came before this request was admitted are older
	// than what the service saw when it answered it.
	kept := c.latest[:0]
	for _, n := range c.latest {
		if n.answered > a.event {
			kept = append(kept, n)
		}
	}
	c.latest = append(kept, count{left: left, answered: c.event})
	c.counted, c.lastAnswer = true, now
	if a.probe && (left < 1 || !charged) {
		c.probes++
	}
	c.measure(a, left, charged, now)
}

// measure refines the refill from the count left the answer to a brought
// at now. The service's bucket went from the reference count (a whole
// number: up to one more was there) to left, with the charged answers in
// between taken out, over at most the time from the reference's request
// to this answer: counting only the requests admitted after the reference
// came and answered before a was admitted (surely charged in between),
// that is the refill from below. A throttled answer halves the refill and
// starts the measure again: the service grants less than was measured
// (another client shares its budget).
func (c *counts) measure(a *Admitted, left int, charged bool, now time.Time) {
	switch {
	case !charged:
		c.refill /= 2
	case c.refGen == 0 || now.Sub(c.refAdmitted) > refillWindow:
	case a.gen == c.refGen:
		n := a.charged + 1
		if span := now.Sub(c.refAdmitted); span >= refillSpan {
			if r := float64(left-c.ref.left-1+n) / span.Seconds(); r > 0 {
				c.refill, c.probes = r, 0
			}
		}
		c.refCharged++
		return
	default:
		return
	}
	c.ref, c.refAdmitted, c.refCharged = c.latest[len(c.latest)-1], a.at, 0
	c.refGen++
}

// Done ends the request a let go. A request that got no count (no answer,
// or one without the counter) may have been charged after any count the
// pace has: it is counted as taking one from the least of them, until an
// answer to a request admitted after it brings a newer count.
func (a *Admitted) Done() {
	if a == nil {
		return
	}
	p := a.p
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.counts
	if a.done {
		return
	}
	a.done = true
	c.inFlight--
	if a.answered {
		return
	}
	a.answered = true
	c.open--
	c.event++
	if c.counted {
		c.latest = append(c.latest, count{left: c.least() - 1, answered: c.event})
		c.lastAnswer = now
	}
}

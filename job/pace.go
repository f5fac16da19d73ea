package job

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Gate holds back every request to one service (or one ARM subscription)
// until the wait a throttled answer named has passed. Several paces share a
// gate: Graph's reads wait too when its writes were told to.
type Gate struct {
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
// request to one service, behind that service's gate. A throttled answer
// holds the gate and cuts the rate in half; each answer that was not
// throttled wins a little of it back, up to the configured rate (additive
// increase, multiplicative decrease), so that a pace set above what the
// service really grants settles near it instead of oscillating.
type Pace struct {
	gate    *Gate
	limiter *rate.Limiter
	max     rate.Limit
	min     rate.Limit
	step    rate.Limit

	mu      sync.Mutex
	current rate.Limit
}

// NewPace returns a pace refilling perSecond tokens a second and holding at
// most burst; perSecond ≤ 0 means no limit but the gate.
func NewPace(gate *Gate, perSecond float64, burst int) *Pace {
	limit := rate.Limit(perSecond)
	if perSecond <= 0 {
		limit = rate.Inf
	}
	if burst < 1 {
		burst = 1
	}
	p := &Pace{
		gate:    gate,
		limiter: rate.NewLimiter(limit, burst),
		max:     limit,
		current: limit,
	}
	if limit != rate.Inf {
		p.min = limit / 64
		p.step = limit / 50
	}
	return p
}

// Wait blocks until the caller may send one request: the gate is open and a
// token is taken. It returns early with the context's error.
func (p *Pace) Wait(ctx context.Context) error {
	for {
		if err := sleepUntil(ctx, p.gate.Until()); err != nil {
			return err
		}
		if err := p.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The wait exceeds the context's deadline.
			return err
		}
		// A throttled answer may have closed the gate while this worker
		// waited for its token.
		if !time.Now().Before(p.gate.Until()) {
			return nil
		}
	}
}

// Throttled records a throttled answer that named (or implied) wait: every
// worker behind the gate waits it out, the bucket is emptied and the rate
// halved.
func (p *Pace) Throttled(wait time.Duration) {
	now := time.Now()
	p.gate.Hold(now.Add(wait))
	if p.max == rate.Inf {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.current = max(p.current/2, p.min)
	p.limiter.SetLimitAt(now, p.current)
	if n := int(p.limiter.TokensAt(now)); n > 0 {
		p.limiter.ReserveN(now, n)
	}
}

// Succeeded records an answer that was not throttled.
func (p *Pace) Succeeded() {
	if p.max == rate.Inf {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current >= p.max {
		return
	}
	p.current = min(p.current+p.step, p.max)
	p.limiter.SetLimit(p.current)
}

// Rate is the pace's current rate per second (+Inf when unlimited).
func (p *Pace) Rate() float64 {
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

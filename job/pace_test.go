package job

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *fakeClock) Now() time.Time      { return c.t }
func (c *fakeClock) Add(d time.Duration) { c.t = c.t.Add(d) }

func TestPaceOneDecreasePerEpisode(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 400, 100, clk.Now)
	// Eight workers had a request in flight when the service's bucket ran
	// dry: all eight are answered 429 within a few milliseconds.
	for range 8 {
		p.Throttled(time.Second)
		clk.Add(2 * time.Millisecond)
	}
	if got := p.Rate(); math.Abs(got-280) > 0.01 {
		t.Fatalf("rate %v after one episode of 8 throttled answers, want 280 (cut once, by beta)", got)
	}
	// After the wait, a throttled answer is news: a second episode.
	clk.Add(time.Second)
	p.Throttled(time.Second)
	if got := p.Rate(); got >= 280 {
		t.Fatalf("rate %v after a second episode, want below 280", got)
	}
}

// Multiplicative decrease: to beta of what the service was measured to
// accept, and the pace's bucket shrinks with the rate.
func TestPaceDecreasesToBetaOfWhatTheServiceAccepts(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 400, 100, clk.Now)
	p.Throttled(time.Second) // nothing accepted yet: 400 is the estimate, 280
	// Between two episodes the service's bucket went from empty to empty:
	// it accepted what it refilled, 300 requests in 3 s.
	for range 300 {
		clk.Add(10 * time.Millisecond)
		p.Succeeded()
	}
	p.Throttled(time.Second)
	if got := p.Rate(); math.Abs(got-70) > 0.01 {
		t.Fatalf("rate %v, want 70: beta (0.7) of the 100/s the service was measured to accept", got)
	}
	if got, want := p.limiter.Burst(), 66; got != want {
		t.Fatalf("bucket %d after the decrease, want %d: beta of the 95 it held", got, want)
	}
}

// The first episode comes after the service's bucket carried a burst: what
// it accepted over the wait it named measures it, and the answers still on
// their way when the 429 came, accepted too, raise that measurement.
func TestPaceFirstEpisodeCountsAnswersOnTheirWay(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 400, 100, clk.Now)
	for range 60 {
		clk.Add(time.Millisecond)
		p.Succeeded()
	}
	p.Throttled(time.Second)
	if got := p.Rate(); math.Abs(got-42) > 0.01 {
		t.Fatalf("rate %v, want 42: beta of 60 accepted over the 1 s wait", got)
	}
	for range 40 { // accepted, sent before the 429
		clk.Add(time.Millisecond)
		p.Succeeded()
	}
	if got := p.Rate(); math.Abs(got-70) > 0.01 {
		t.Fatalf("rate %v, want 70: beta of the 100 accepted in all", got)
	}
}

func TestPaceDecreaseIsBounded(t *testing.T) {
	for _, tt := range []struct {
		name     string
		accepted int
		want     float64
	}{
		{"a quiet stretch: the estimate at most to an eighth", 10, 280 * minCut * beta},
		{"too few answers to measure: the estimate stands", 3, 280 * beta},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			p := newPace(&Gate{}, 400, 100, clk.Now)
			p.Throttled(time.Second) // 280
			for range tt.accepted {
				p.Succeeded()
			}
			clk.Add(10 * time.Second)
			p.Throttled(time.Second)
			if got := p.Rate(); math.Abs(got-tt.want) > 0.01 {
				t.Fatalf("rate %v, want %v", got, tt.want)
			}
		})
	}
}

// After a decrease the rate climbs back to the measured rate within
// regain, and the bucket with it; during the wait the service named it
// does not climb.
func TestPaceClimbsBackWithinRegain(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 100, 100, clk.Now)
	p.Throttled(time.Second) // 70: nothing measured, 100 is the estimate
	for range 50 {
		clk.Add(10 * time.Millisecond)
		p.Succeeded()
	}
	if got := p.Rate(); math.Abs(got-70) > 0.01 {
		t.Fatalf("rate %v during the wait the service named, want 70", got)
	}
	clk.Add(500 * time.Millisecond)
	p.Succeeded()
	mid := p.Rate()
	if mid <= 70 || mid >= 100 {
		t.Fatalf("rate %v half-way through the climb, want between 70 and 100", mid)
	}
	clk.Add(regain)
	p.Succeeded()
	if got := p.Rate(); got != 100 {
		t.Fatalf("rate %v after regain, want the configured 100 back (never above)", got)
	}
	if got := p.limiter.Burst(); got != 95 {
		t.Fatalf("bucket %d after regain, want the 95 it held", got)
	}
}

func TestPaceProbesSlowlyAboveWhatWasMeasured(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 400, 100, clk.Now)
	p.Throttled(time.Second) // 280, 400 the estimate for now
	for range 200 {
		clk.Add(10 * time.Millisecond)
		p.Succeeded()
	}
	p.Throttled(time.Second) // 100 measured over 2 s: 70
	clk.Add(regain)
	// 10 s of answers, one every 10 ms: 1 % of 100 a second.
	for range 1000 {
		clk.Add(10 * time.Millisecond)
		p.Succeeded()
	}
	if got := p.Rate(); got < 109.5 || got > 110.5 {
		t.Fatalf("rate %v after 10 s of probing, want about 100 + 10 × 1 = 110", got)
	}
	// Never above the configured rate.
	for range 100_000 {
		clk.Add(10 * time.Millisecond)
		p.Succeeded()
	}
	if got := p.Rate(); got != 400 {
		t.Fatalf("rate %v, want the configured 400", got)
	}
}

func TestPaceUnlimitedIgnoresThrottling(t *testing.T) {
	clk := newFakeClock()
	gate := &Gate{}
	p := newPace(gate, 0, 1, clk.Now)
	p.Throttled(3 * time.Second)
	p.Succeeded()
	if !math.IsInf(p.Rate(), 1) {
		t.Fatalf("rate %v, want +Inf", p.Rate())
	}
	if want := clk.Now().Add(3 * time.Second); !gate.Until().Equal(want) {
		t.Fatalf("gate holds until %v, want %v", gate.Until(), want)
	}
}

func TestPaceWaitHonoursTheGate(t *testing.T) {
	gate := &Gate{}
	p := NewPace(gate, 1000, 10)
	gate.Hold(time.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx); err == nil {
		t.Fatal("Wait returned nil behind a closed gate with a cancelled context")
	}
	ctx2, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(time.Hour))
	defer cancel2()
	q := NewPace(&Gate{}, 0.0001, 1) // one token every 10,000 s
	if err := q.Wait(ctx2); err != nil {
		t.Fatalf("first token: %v", err)
	}
	if err := q.Wait(ctx2); err == nil {
		t.Fatal("Wait accepted a token that comes after the deadline")
	}
}

// The pace against a simulated service, on a virtual clock: workers take
// a token with the real Pace.Wait, send, and the service (a token bucket like Graph's, charged when
// the request arrives) answers 429 with Retry-After in whole seconds when
// its bucket is empty, as simtenant does. Everything is counted in events,
// so the verdict does not depend on how fast the machine is.
func TestPaceAgainstAThrottlingService(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		configured, granted   float64
		burst, serviceBurst   int
		writes                int
		maxRatio, maxThrottle float64
		// spurious picks answers that are 429 whatever the bucket holds,
		// by their number and their time since the start.
		spurious func(answer int, at time.Duration) bool
	}{
		// make bench's budget-bound and overcommitted rows.
		{"matched", 100, 100, 100, 100, 1200, 1.02, 0, nil},
		{"4x over", 400, 100, 100, 100, 1200, 1.15, 0.01, nil},
		{"2x over", 200, 100, 100, 100, 1200, 1.20, 0.02, nil},
		{"10x over", 1000, 100, 100, 100, 1200, 1.25, 0.03, nil},
		// Graph's real budget shared with another app that takes half.
		{"graph shared", 20, 10, 3000, 1500, 6000, 1.10, 0.01, nil},
		// 429s that do not come from the budget (another app's burst, a
		// fault) must not leave the pace far below it.
		// Each costs what the service measured to grant meanwhile: it
		// looks exactly like a budget of what was just sent.
		{"isolated spurious 429s", 100, 100, 100, 100, 1200, 1.5, 0.02,
			func(n int, _ time.Duration) bool { return n%200 == 0 }},
		// Two seconds of 429s, each asking for a second, cost about two
		// seconds more than the bucket's own depth.
		{"a storm of 429s", 100, 100, 100, 100, 1200, 1.4, 0.05,
			func(_ int, at time.Duration) bool { return at >= 3*time.Second && at < 5*time.Second }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := simulatePace(tt.configured, tt.burst, tt.granted, tt.serviceBurst, tt.writes, 8, 20*time.Millisecond, tt.spurious)
			bound := float64(tt.writes-tt.serviceBurst) / tt.granted
			ratio := r.elapsed.Seconds() / bound
			share := float64(r.throttled) / float64(r.sent)
			t.Logf("%d writes in %.2fs (bound %.2fs, ratio %.3f), %d of %d answered 429 (%.2f%%), final rate %.1f",
				tt.writes, r.elapsed.Seconds(), bound, ratio, r.throttled, r.sent, 100*share, r.rate)
			if ratio > tt.maxRatio {
				t.Errorf("ratio %.3f to the bound, want at most %.2f", ratio, tt.maxRatio)
			}
			if share > tt.maxThrottle {
				t.Errorf("%.2f%% of writes answered 429, want at most %.2f%%", 100*share, 100*tt.maxThrottle)
			}
		})
	}
}

type paceResult struct {
	elapsed         time.Duration // first to last accepted answer
	sent, throttled int
	rate            float64
}

// simulatePace runs writes requests through workers sharing one pace
// against a service bucket of granted per second holding serviceBurst.
// Each worker is a goroutine calling the real Pace.Wait on a virtual clock
// (virtualClock): it takes a token, sends, and the answer arrives after a
// latency that varies between latency and 1.5 × latency (seeded), which is
// what makes requests arrive bunched; a throttled write is sent again after
// its Retry-After.
func simulatePace(configured float64, burst int, granted float64, serviceBurst, writes, workers int, latency time.Duration, spurious func(int, time.Duration) bool) paceResult {
	clk := newVirtualClock()
	start := clk.Now()
	gate := &Gate{}
	p := virtualPace(clk, gate, configured, burst)
	rng := rand.New(rand.NewPCG(1, 2))
	svc := serviceBucket{interval: time.Duration(float64(time.Second) / granted)}
	svc.depth = svc.interval * time.Duration(serviceBurst)

	// Only one worker runs at a time (virtualClock), so they share these
	// without a lock.
	var res paceResult
	var first, last time.Time
	started, done, answers := 0, 0, 0
	ctx := context.Background()
	for range workers {
		clk.goAt(start, func() {
			for started < writes {
				started++
				for {
					if err := p.Wait(ctx); err != nil {
						panic(err)
					}
					res.sent++
					_ = clk.sleepUntil(ctx, clk.Now().Add(latency+time.Duration(rng.Int64N(int64(latency/2)))))
					// The service charges its bucket on arrival, as
					// simtenant does.
					now := clk.Now()
					wait := svc.take(now)
					if answers++; spurious != nil && spurious(answers, now.Sub(start)) {
						wait = max(wait, time.Millisecond)
					}
					if wait > 0 {
						res.throttled++
						retryAfter := time.Duration(math.Ceil(wait.Seconds())) * time.Second
						p.Throttled(retryAfter)
						_ = clk.sleepUntil(ctx, now.Add(retryAfter))
						continue
					}
					p.Succeeded()
					done++
					if first.IsZero() {
						first = now
					}
					last = now
					break
				}
			}
		})
	}
	clk.run()
	if done != writes {
		panic("simulatePace lost writes")
	}
	res.elapsed = last.Sub(first)
	res.rate = p.Rate()
	return res
}

// serviceBucket is the service's token bucket (GCRA), as simtenant keeps it.
type serviceBucket struct {
	interval, depth time.Duration
	tat             time.Time
}

func (b *serviceBucket) take(now time.Time) time.Duration {
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(b.interval)
	if wait := next.Sub(now) - b.depth; wait > 0 {
		return wait
	}
	b.tat = next
	return 0
}

// event is a sleeper of virtualClock: when it wakes, and in what order
// among those that wake at the same time.
type event struct {
	at   time.Time
	seq  int
	wake chan struct{}
}

type events []event

func (q events) Len() int { return len(q) }
func (q events) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q events) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *events) Push(x any)   { *q = append(*q, x.(event)) }
func (q *events) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// A gate held past the context's deadline fails the wait at once, with
// ErrBeyondDeadline, rather than sleeping until the deadline.
func TestPaceWaitGateBeyondDeadline(t *testing.T) {
	gate := &Gate{}
	p := NewPace(gate, 1000, 10)
	gate.Hold(time.Now().Add(time.Hour))
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(30*time.Minute))
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, ErrBeyondDeadline) || ctx.Err() != nil {
		t.Fatalf("err %v (context %v), want ErrBeyondDeadline before the deadline", err, ctx.Err())
	}
}

package job

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPaceRemainingOnlyEverTakesTokens(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 10, 200, clk.Now)
	tokens := func() float64 { return math.Round(p.limiter.TokensAt(clk.Now())*100) / 100 }
	if got := tokens(); got != 190 {
		t.Fatalf("a fresh pace holds %v", got)
	}
	// Five requests on their way; the answer to one of them says 20 are
	// left: the other four may still take theirs.
	var admitted []*Admitted
	for range 5 {
		a, err := p.Admit(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		admitted = append(admitted, a)
	}
	admitted[0].Remaining(20, true)
	if got := tokens(); got != 16 {
		t.Fatalf("the service says 20 are left, 4 more are on their way: the pace holds %v, want 16", got)
	}
	admitted[1].Remaining(150, true)
	if got := tokens(); got != 16 {
		t.Fatalf("a higher count (a stale answer) gave tokens back: %v", got)
	}
	admitted[2].Remaining(1, true)
	if got := tokens(); got != -3 {
		t.Fatalf("nearly empty: the pace holds %v, want -3 (the requests on their way are waited out)", got)
	}
	admitted[0].Done()
	clk.Add(time.Second)
	if got := tokens(); got != 7 {
		t.Fatalf("a second later: %v, want 7 (it refills at its own rate)", got)
	}
	unlimited := newPace(&Gate{}, 0, 1, clk.Now)
	a, err := unlimited.Admit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a.Remaining(0, true) // no bucket to cut: nothing happens
	a.Done()
}

// Admit keeps the requests in flight within what the service said is left:
// told 3 are left, it lets 3 go and holds the fourth until an answer comes
// (no refill is added to a count while requests are on their way).
func TestPaceAdmitKeepsInFlightWithinRemaining(t *testing.T) {
	clk := newVirtualClock()
	start := clk.Now()
	p := virtualPace(clk, &Gate{}, 100, 500)
	ctx := context.Background()
	var admitted []time.Duration
	var inFlight []*Admitted
	clk.goAt(start, func() {
		// Before any count nothing holds a request back.
		a, err := p.Admit(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		a.Remaining(3, true)
		a.Done()
		for range 4 {
			a, err := p.Admit(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			inFlight = append(inFlight, a)
			admitted = append(admitted, clk.Now().Sub(start))
		}
	})
	// The first answer after the count: one of the three is in, and the
	// service has refilled one meanwhile: 3 are left.
	clk.goAt(start.Add(300*time.Millisecond), func() {
		inFlight[0].Remaining(3, true)
		inFlight[0].Done()
	})
	clk.run()
	if len(admitted) != 4 {
		t.Fatalf("%d admitted, want 4", len(admitted))
	}
	for i := range 3 {
		if admitted[i] != 0 {
			t.Fatalf("request %d admitted at %v, want at once (3 left)", i+1, admitted[i])
		}
	}
	if admitted[3] < 300*time.Millisecond {
		t.Fatalf("the fourth request went at %v with 3 in flight and 3 left, want held until the answer at 300ms", admitted[3])
	}
}

// The refill is measured from the counts, from below: 10 charged over a
// second while the count went from 20 to 20 is 10 a second, or 9 if the
// first count had (as a whole number may) almost one more; and a request
// held by a count of 0 with nothing in flight goes once a token has been
// refilled at that rate (111ms), never before 100ms.
func TestPaceAdmitWaitsForTheMeasuredRefill(t *testing.T) {
	clk := newVirtualClock()
	start := clk.Now()
	p := virtualPace(clk, &Gate{}, 100, 500)
	ctx := context.Background()
	var at time.Duration
	clk.goAt(start, func() {
		for i := range 11 {
			a, err := p.Admit(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			a.Remaining(20, true)
			a.Done()
			if i < 10 {
				_ = clk.sleepUntil(ctx, clk.Now().Add(100*time.Millisecond))
			}
		}
		if got := p.counts.refill; got < 9-0.01 || got > 10 {
			t.Errorf("refill %v measured, want 9 to 10 a second (never above what the service refills)", got)
		}
		a, err := p.Admit(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		a.Remaining(0, true)
		a.Done()
		from := clk.Now()
		if _, err := p.Admit(ctx); err != nil {
			t.Error(err)
			return
		}
		at = clk.Now().Sub(from)
	})
	clk.run()
	if at < 100*time.Millisecond || at > 112*time.Millisecond {
		t.Fatalf("a request held by a count of 0 went after %v, want 100ms to 112ms (one token at 10 a second, or at 9)", at)
	}
}

// ARM told 10× a subscription's delete budget (a bucket of 50 refilling
// 10 a second, every answer saying what is left), 8 workers, 150 deletes,
// each worker as job/transport and arm.Counters use the pace (Wait, Admit,
// the answer's count, Throttled or Succeeded): at most 3 answered 429 in
// every seeded run (issue 29).
func TestPaceARMDeletesWithinRemaining(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := simulateARM(seed, 100, 500, 10, 50, 150, 8, 20*time.Millisecond, 0)
		bound := float64(150-50) / 10
		if seed == 1 || r.throttled > 3 {
			t.Logf("seed %d: 150 deletes in %.2fs (bound %.2fs, ratio %.3f), %d of %d answered 429",
				seed, r.elapsed.Seconds(), bound, r.elapsed.Seconds()/bound, r.throttled, r.sent)
		}
		if r.throttled > 3 {
			t.Errorf("seed %d: %d deletes answered 429, want at most 3", seed, r.throttled)
		}
		if ratio := r.elapsed.Seconds() / bound; ratio > 1.25 {
			t.Errorf("seed %d: ratio %.3f to the bound, want at most 1.25", seed, ratio)
		}
	}
}

// Answers come back in any order: each request's way there and back takes
// its own time (up to 30 ms each way), so a count that arrives last is
// often older than one already in. Keeping what is not yet answered
// within the least count that may be the service's latest, and adding no
// refill while anything is on its way, no delete is ever answered 429:
// told 10 a second of a budget of 8 holding 12 (TestAzureRunKeepingTo
// ARMCountersIsNeverThrottled's tenant), or 10× a budget of 10 holding 50.
func TestPaceAdmitNeverOvershootsOutOfOrderCounts(t *testing.T) {
	for _, tt := range []struct {
		configured, granted float64
		burst, serviceBurst int
		deletes, workers    int
	}{
		{10, 8, 200, 12, 40, 4},
		{100, 10, 500, 50, 150, 8},
	} {
		for seed := uint64(1); seed <= 30; seed++ {
			r := simulateARM(seed, tt.configured, tt.burst, tt.granted, tt.serviceBurst, tt.deletes, tt.workers,
				20*time.Millisecond, 30*time.Millisecond)
			bound := float64(tt.deletes-tt.serviceBurst) / tt.granted
			if r.throttled > 0 {
				t.Errorf("told %g/s of %g/s holding %d, seed %d: %d of %d deletes answered 429, want none",
					tt.configured, tt.granted, tt.serviceBurst, seed, r.throttled, r.sent)
			}
			if ratio := r.elapsed.Seconds() / bound; ratio > 1.35 {
				t.Errorf("told %g/s of %g/s, seed %d: ratio %.3f to the bound, want at most 1.35", tt.configured, tt.granted, seed, ratio)
			} else if seed == 1 {
				t.Logf("told %g/s of %g/s holding %d: %d deletes in %.2fs (bound %.2fs, ratio %.3f)",
					tt.configured, tt.granted, tt.serviceBurst, tt.deletes, r.elapsed.Seconds(), bound, ratio)
			}
		}
	}
}

// simulateARM runs deletes through workers sharing one pace against an
// ARM-like service bucket that says on every answer how many tokens it
// holds, on a virtualClock. Each request reaches the service after
// latency/2 and up to latency/4 more (seeded); its answer comes back
// latency/2 later, and up to jitter more.
func simulateARM(seed uint64, configured float64, burst int, granted float64, serviceBurst, deletes, workers int,
	latency, jitter time.Duration) paceResult {
	clk := newVirtualClock()
	start := clk.Now()
	p := virtualPace(clk, &Gate{}, configured, burst)
	rng := rand.New(rand.NewPCG(seed, 7))
	svc := serviceBucket{interval: time.Duration(float64(time.Second) / granted)}
	svc.depth = svc.interval * time.Duration(serviceBurst)
	var res paceResult
	var first, last time.Time
	left := deletes
	ctx := context.Background()
	for range workers {
		clk.goAt(start, func() {
			for left > 0 {
				left--
				for {
					if err := p.Wait(ctx); err != nil {
						panic(err)
					}
					admitted, err := p.Admit(ctx)
					if err != nil {
						panic(err)
					}
					res.sent++
					// ARM charges on arrival; the answer comes back after
					// the rest of the round trip.
					_ = clk.sleepUntil(ctx, clk.Now().Add(latency/2+time.Duration(rng.Int64N(int64(latency/4)))))
					now := clk.Now()
					wait := svc.take(now)
					count := svc.remaining(now)
					back := latency / 2
					if jitter > 0 {
						back += time.Duration(rng.Int64N(int64(jitter)))
					}
					_ = clk.sleepUntil(ctx, clk.Now().Add(back))
					admitted.Remaining(count, wait <= 0)
					admitted.Done()
					if wait > 0 {
						res.throttled++
						retryAfter := time.Duration(math.Ceil(wait.Seconds())) * time.Second
						p.Throttled(retryAfter)
						_ = clk.sleepUntil(ctx, now.Add(retryAfter))
						continue
					}
					p.Succeeded()
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
	res.elapsed = last.Sub(first)
	res.rate = p.Rate()
	return res
}

package simtenant

import (
	"net/url"
	"time"
)

// bucket is a token bucket kept as a "theoretical arrival time" (GCRA): the
// moment the bucket would be full again. Refill is exact integer time
// arithmetic on the injected clock, so tests can say precisely when a token
// comes back. A nil bucket never throttles.
type bucket struct {
	interval time.Duration // time to earn back one token
	depth    time.Duration // capacity × interval: how far tat may run ahead of now
	tat      time.Time
}

// newBucket holds capacity tokens refilling capacity per window (Graph's
// resource units: 8,000 per 10 s). A negative capacity turns it off.
func newBucket(capacity int, window time.Duration) *bucket {
	if capacity < 0 {
		return nil
	}
	interval := window / time.Duration(capacity)
	return &bucket{interval: interval, depth: interval * time.Duration(capacity)}
}

// newRateBucket holds burst tokens refilling rate per second (Graph's
// writes: 20 per second, 3,000 deep). A negative rate turns it off.
func newRateBucket(rate float64, burst int) *bucket {
	if rate < 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / rate)
	return &bucket{interval: interval, depth: interval * time.Duration(burst)}
}

// take spends n tokens at now, or spends nothing and returns how long until
// n tokens will be there.
func (b *bucket) take(now time.Time, n int) time.Duration {
	if b == nil {
		return 0
	}
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(time.Duration(n) * b.interval)
	if wait := next.Sub(now) - b.depth; wait > 0 {
		return wait
	}
	b.tat = next
	return 0
}

// readCost is a read's price in resource units: 1, one less with $select,
// one more with $expand, never below 1 (Graph's identity and access model).
func readCost(q url.Values) int {
	cost := 1
	if q.Get("$select") != "" {
		cost--
	}
	if q.Get("$expand") != "" {
		cost++
	}
	return max(1, cost)
}

package simtenant

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Profiles are the service models a tenant can follow, for `offboard
// simulate --profile` and the benchmarks. "default" is Config's zero
// value: Graph's documented limits. "strict" is the second model of issue
// 14, an independent reading of the same documentation that held the
// job's pace to 1.30–1.37× its bound: a Graph write bucket refilling 100/s
// and holding 100; a 429 names Retry-After in whole seconds, at least 1,
// from when the bucket will hold a token; each sub-request of a $batch is
// charged and answered on its own while the envelope pays the 20 ms
// latency once; and a write answered while more than 0.8 of the budget is
// used carries x-ms-throttle-limit-percentage half of the time (Graph
// sends it only above 0.8, and practitioners report not seeing it even
// while throttled: SERVICE_FACTS.md). "independent" is issue 29's model
// of the same budget: strict's bucket, latency and whole-second
// Retry-After, and no x-ms-throttle-limit-percentage at all, so a client
// finds the budget from its 429s alone.
var Profiles = []string{"default", "strict", "independent"}

// Strict profile's figures.
const (
	StrictWriteRate   = 100
	StrictWriteBurst  = 100
	StrictLatency     = 20 * time.Millisecond
	StrictLimitSignal = 0.5
)

// WithProfile returns cfg shaped by the named profile: the profile's
// figures replace cfg's write budget, latency and limit signal.
func WithProfile(cfg Config, name string) (Config, error) {
	switch name {
	case "", "default":
		return cfg, nil
	case "strict", "independent":
		cfg.WriteRate, cfg.WriteBurst = StrictWriteRate, StrictWriteBurst
		cfg.Latency, cfg.Jitter = StrictLatency, 0
		cfg.LimitSignal = StrictLimitSignal
		if name == "independent" {
			cfg.LimitSignal = 0
		}
		return cfg, nil
	}
	return cfg, fmt.Errorf("unknown profile %q: default, strict or independent", name)
}

// limitPercentageLocked sets x-ms-throttle-limit-percentage on the answer
// to a write the bucket admitted, when more than 0.8 of the write budget
// is now used and the request is one of the Config.LimitSignal share that
// carries it (chosen by hashing the request's id: repeatable under a
// seed). The value is the share of the budget used, 0.80 to 1.00 here (a
// token bucket is never used beyond its size; Graph's goes to 1.8).
func (t *Tenant) limitPercentageLocked(h http.Header, requestID string, now time.Time) {
	b := t.graphWrite
	if t.cfg.LimitSignal <= 0 || b == nil || b.depth <= 0 {
		return
	}
	size := int(b.depth / b.interval)
	used := 1 - float64(b.remaining(now))/float64(size)
	if used <= 0.8 {
		return
	}
	if float64(hash64(t.cfg.Seed, "limit-percentage", requestID)%1000) >= 1000*t.cfg.LimitSignal {
		return
	}
	h.Set("x-ms-throttle-limit-percentage", strconv.FormatFloat(used, 'f', 2, 64))
}

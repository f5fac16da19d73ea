package simtenant

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// armBuckets are the three token buckets of one subscription, or of the
// tenant level: ARM counts reads, deletes and writes apart.
type armBuckets struct {
	reads, deletes, writes *bucket
}

// armOperation is the kind of an ARM request, as ARM names it in the
// x-ms-ratelimit-remaining-* headers.
func armOperation(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "reads"
	case http.MethodDelete:
		return "deletes"
	}
	return "writes"
}

func (b *armBuckets) of(operation string) *bucket {
	switch operation {
	case "reads":
		return b.reads
	case "deletes":
		return b.deletes
	}
	return b.writes
}

// bucketsLocked returns the buckets of a subscription key ("" for the
// tenant level), made on first use.
func (st *armState) bucketsLocked(key string) *armBuckets {
	b := st.buckets[key]
	if b == nil {
		c := st.cfg
		b = &armBuckets{
			reads:   newRateBucket(c.ReadRate, c.ReadBurst),
			deletes: newRateBucket(c.DeleteRate, c.DeleteBurst),
			writes:  newRateBucket(c.WriteRate, c.WriteBurst),
		}
		st.buckets[key] = b
	}
	return b
}

// remaining is how many whole tokens the bucket holds at now; -1 when it
// is off.
func (b *bucket) remaining(now time.Time) int {
	if b == nil {
		return -1
	}
	ahead := max(b.tat.Sub(now), 0)
	return max(int((b.depth-ahead)/b.interval), 0)
}

// armSubscriptionOf returns the subscription id an ARM path is under, or
// "" for tenant-level paths.
func armSubscriptionOf(path string) string {
	segs := strings.SplitN(strings.TrimLeft(path, "/"), "/", 3)
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return segs[1]
	}
	return ""
}

// admitARM charges an ARM request to the bucket of its subscription (a
// subscription the tenant does not have counts at the tenant level) and
// kind, and answers 429 with Retry-After when it is empty, as ARM does per
// subscription and principal. Every answer that gets this far carries
// x-ms-ratelimit-remaining-{subscription|tenant}-{reads|deletes|writes}.
func (t *Tenant) admitARM(c *call) bool {
	operation := armOperation(c.r.Method)
	level, key := "tenant", ""
	t.mu.Lock()
	if sub := strings.ToLower(armSubscriptionOf(c.r.URL.Path)); sub != "" {
		if _, ok := t.arm.subs[sub]; ok {
			level, key = "subscription", sub
		}
	}
	b := t.arm.bucketsLocked(key).of(operation)
	now := t.cfg.Now()
	wait := b.take(now, 1)
	left := b.remaining(now)
	t.mu.Unlock()
	h := c.w.Header()
	if left >= 0 {
		h.Set("x-ms-ratelimit-remaining-"+level+"-"+operation, strconv.Itoa(left))
	}
	if wait <= 0 {
		return true
	}
	h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	c.origin = byThrottle
	// e.g. "Delete_Subscription", as ARM names the exhausted limit.
	limit := strings.ToUpper(operation[:1]) + strings.TrimSuffix(operation[1:], "s") + "_" +
		strings.ToUpper(level[:1]) + level[1:]
	c.armError(http.StatusTooManyRequests, "TooManyRequests",
		"The request is being throttled as the limit has been reached for operation type - "+limit+
			". For more information, refer to - https://aka.ms/armthrottling")
	return false
}

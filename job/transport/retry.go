package transport

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/offboard/offboard/job"
)

// The retry policy: what an answer means for the request that got it, and
// for the service's pace. A standalone request (RoundTrip), a $batch as a
// whole and each sub-request of a batch (Batch) are decided here, by the
// same rules and one MaxAttempts budget.

// decision is what the policy makes of one answer.
type decision struct {
	// again: send the request once more.
	again bool
	// wait is how long before it goes again: what the service named, else
	// the back-off.
	wait time.Duration
	// resent: the answer was no throttling, so the service may have
	// carried out the attempt that the next one repeats.
	resent bool
}

// decide says whether a request whose attempt number attempts got verdict
// is sent again, and after what wait.
func (t *Transport) decide(v Verdict, attempts int) decision {
	if !v.Retry {
		return decision{}
	}
	wait := v.After
	if wait <= 0 {
		wait = t.backoff(attempts)
	}
	return decision{again: attempts < max(t.MaxAttempts, 1), wait: wait, resent: !v.Throttled()}
}

// feedback tells a pace what an answer says of its service: a throttled
// answer that is retried holds every request of the pace for wait; a
// final answer other than 429 is a success, and Graph's share of its
// budget, when the answer names it, is passed on.
func feedback(pace *job.Pace, v Verdict, wait time.Duration, resp *http.Response) {
	switch {
	case pace == nil:
	case v.Retry && v.Throttled():
		pace.Throttled(wait)
	case !v.Retry && v.Status != http.StatusTooManyRequests:
		pace.Succeeded()
		if resp != nil {
			if share, ok := LimitShare(resp.Header); ok {
				pace.NearLimit(share)
			}
		}
	}
}

// beyond reports whether a wait from now ends after ctx's deadline: the
// request is then failed with ErrBeyondDeadline rather than waited for.
func (t *Transport) beyond(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && t.now().Add(wait).After(deadline)
}

// backoff is the full-jitter exponential wait before attempt+1.
func (t *Transport) backoff(attempt int) time.Duration {
	base, ceiling := t.BaseDelay, t.MaxDelay
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 30 * time.Second
	}
	d := base << min(attempt-1, 20)
	if d > ceiling || d <= 0 {
		d = ceiling
	}
	// Half fixed, half random: never zero, never in lock-step.
	return d/2 + rand.N(d/2+1)
}

// Verdict is what an answer means for the request that got it.
type Verdict struct {
	Retry  bool
	After  time.Duration // the wait the service named; 0 when none
	Status int           // 0 for a network error
	Reason string
}

// Throttled reports whether the answer asks the whole service to slow down.
func (v Verdict) Throttled() bool {
	return v.Status == http.StatusTooManyRequests || (v.Status == http.StatusServiceUnavailable && v.After > 0)
}

// Classify maps one attempt's answer to retry-or-final. 429, 500, 502, 503,
// 504 and network errors are retried; everything else is final.
func Classify(resp *http.Response, err error) Verdict { return classify(resp, err, time.Now()) }

// classify is Classify with a Retry-After given as a date read at now.
func classify(resp *http.Response, err error, now time.Time) Verdict {
	if err != nil {
		return Verdict{Retry: true, Reason: "network error: " + err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		after := RetryAfter(resp.Header, now)
		if after > MaxRetryAfter {
			// Not waited for, and not allowed to hold every worker's
			// pace that long: the answer is final.
			return Verdict{Status: resp.StatusCode,
				Reason: fmt.Sprintf("HTTP %d asking for a wait of %s, more than the %s the job waits", resp.StatusCode, after, MaxRetryAfter)}
		}
		return Verdict{Retry: true, Status: resp.StatusCode, After: after, Reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	return Verdict{Status: resp.StatusCode}
}

// LimitShare reads Graph's x-ms-throttle-limit-percentage: the share of
// its budget the app has used, sent only above 0.8 (0.8 to 1.8), and not
// always (SERVICE_FACTS.md). ok is false when it is absent or not a share
// in that range.
func LimitShare(h http.Header) (share float64, ok bool) {
	v := strings.TrimSpace(h.Get("x-ms-throttle-limit-percentage"))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0.8 && f <= 1.8) {
		return 0, false
	}
	return f, true
}

// RetryAfter reads the wait a response names: x-ms-retry-after-ms or
// retry-after-ms (milliseconds), else Retry-After in seconds or as an HTTP
// date. It returns 0 when there is none or it cannot be read.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"x-ms-retry-after-ms", "retry-after-ms"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
				return duration(ms, time.Millisecond)
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return duration(s, time.Second)
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// duration is n units, 0 when n is not above 0 (or not a number), and the
// longest Duration when n units are more than it holds: converting a float
// out of range gives a negative Duration, which would be taken as no wait
// at all (found by FuzzRetryAfter).
func duration(n float64, unit time.Duration) time.Duration {
	switch d := n * float64(unit); {
	case !(d > 0): // NaN too
		return 0
	case d >= math.MaxInt64:
		return math.MaxInt64
	default:
		return time.Duration(d)
	}
}

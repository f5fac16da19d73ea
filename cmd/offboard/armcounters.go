package main

import (
	"net/http"

	"github.com/offboard/offboard/job/arm"
)

// armCounters reads the budget ARM says is left after each answer
// (x-ms-ratelimit-remaining-subscription-reads, -deletes, -writes, their
// -global- variants under the regional limits, and the -tenant- ones
// outside a subscription) and hands the smallest to the pace of the
// request's subscription and kind, so that the pace slows as they near
// zero. It sits under the retrying transport: every attempt's answer
// counts, a throttled one too.
type armCounters struct {
	next  http.RoundTripper
	paces *subscriptionPaces
	// reserve is how many requests may be on their way at once (the
	// concurrency): the counters do not know of them yet.
	reserve int
}

func (a *armCounters) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if resp != nil {
		if left, ok := arm.Remaining(resp.Header, arm.Operation(r.Method)); ok {
			a.paces.pace(r).Remaining(left, a.reserve)
		}
	}
	return resp, err
}

package main

import (
	"net/http"
	"strconv"
	"strings"
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
		if left, ok := remaining(resp.Header, armOperation(r.Method)); ok {
			a.paces.pace(r).Remaining(left, a.reserve)
		}
	}
	return resp, err
}

// armOperation is a request's kind as ARM's counters name it.
func armOperation(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "reads"
	case http.MethodDelete:
		return "deletes"
	}
	return "writes"
}

// remaining is the smallest of the counters of one kind an answer carries.
func remaining(h http.Header, operation string) (int, bool) {
	least, found := 0, false
	for _, name := range []string{
		"x-ms-ratelimit-remaining-subscription-" + operation,
		"x-ms-ratelimit-remaining-subscription-global-" + operation,
		"x-ms-ratelimit-remaining-tenant-" + operation,
	} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			// A garbled counter says nothing; the 429s still would.
			continue
		}
		if !found || n < least {
			least, found = n, true
		}
	}
	return least, found
}

package arm

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/offboard/offboard/job"
)

// Paces paces ARM per subscription, as ARM throttles: one gate and three
// buckets (reads at ARM's 25 a second, deletes and writes at DeleteRate)
// per subscription, made on first use; requests outside a subscription
// share the tenant's.
type Paces struct {
	DeleteRate  float64
	DeleteBurst int
	// OnThrottled, when not nil, is called on each throttled answer.
	OnThrottled func()
	// OnHold, when not nil, is each gate's job.Gate.OnHold.
	OnHold func(until time.Time, throttled bool)
	mu     sync.Mutex
	bySub  map[string][3]*job.Pace
}

// Pace is the pace of a request, by its subscription and kind.
func (s *Paces) Pace(r *http.Request) *job.Pace {
	sub := subscriptionOf(r.URL.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySub == nil {
		s.bySub = map[string][3]*job.Pace{}
	}
	p, ok := s.bySub[sub]
	if !ok {
		// ARM counts reads, deletes and writes in buckets of their own;
		// writes (eligibility removal requests) are paced as deletes.
		gate := &job.Gate{OnThrottled: s.OnThrottled, OnHold: s.OnHold}
		p = [3]*job.Pace{job.NewPace(gate, 25, 250), job.NewPace(gate, s.DeleteRate, s.DeleteBurst),
			job.NewPace(gate, s.DeleteRate, s.DeleteBurst)}
		s.bySub[sub] = p
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return p[0]
	case http.MethodDelete:
		return p[1]
	}
	return p[2]
}

// subscriptionOf returns the subscription id a path is under, or "".
func subscriptionOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return strings.ToLower(segs[1])
	}
	return ""
}

// Counters reads the budget ARM says is left after each answer
// (x-ms-ratelimit-remaining-subscription-reads, -deletes, -writes, their
// -global- variants under the regional limits, and the -tenant- ones
// outside a subscription) and hands the smallest to the pace of the
// request's subscription and kind, and lets an attempt go only while the
// requests not yet answered stay below what the answers confirm is left
// (job.Pace.Admit: the least count that may be ARM's latest, answers
// arriving in any order, and no refill guessed while any is on its way),
// so that the pace slows as they near zero. It sits under the retrying
// transport: every attempt's answer counts, a throttled one too.
type Counters struct {
	Next  http.RoundTripper
	Paces *Paces
}

var _ http.RoundTripper = (*Counters)(nil)

func (a *Counters) RoundTrip(r *http.Request) (*http.Response, error) {
	pace := a.Paces.Pace(r)
	admitted, err := pace.Admit(r.Context())
	if err != nil {
		return nil, fmt.Errorf("%s %s: waiting for ARM's remaining count: %w", r.Method, r.URL.Path, err)
	}
	defer admitted.Done()
	resp, err := a.Next.RoundTrip(r)
	if resp != nil {
		if left, ok := Remaining(resp.Header, Operation(r.Method)); ok {
			admitted.Remaining(left, resp.StatusCode != http.StatusTooManyRequests)
		}
	}
	return resp, err
}

package transport

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// Graph's x-ms-throttle-limit-percentage on a sub-response reaches the
// pace (Pace.NearLimit), and while the budget sets the pace a batch
// carries no more than Pace.BatchSize: the rest go in later batches.
func TestBatchShrinksWhenTheServiceNearsItsLimit(t *testing.T) {
	// A write bucket of 22 that always says when more than 0.8 of it is
	// used: the first batch of 20 uses 0.91.
	tn, tr, _, endpoint, subs := batchTenant(t, simtenant.Config{Seed: 5, WriteRate: 100, WriteBurst: 22, LimitSignal: 1}, 40)
	pace := job.NewPaceOn(tr.Clock, &job.Gate{}, 400, 100)
	tr.Pace = func(*http.Request) *job.Pace { return pace }

	sizes := func() []int {
		var out []int
		for _, r := range tn.Requests() {
			switch {
			case r.Path == "/v1.0/$batch":
				out = append(out, 0)
			case r.InBatch:
				out[len(out)-1]++
			}
		}
		tn.ResetRequests()
		return out
	}
	for _, a := range tr.Batch(context.Background(), endpoint, nil, subs[:20]) {
		if a.Status != http.StatusNoContent {
			t.Fatalf("first batch: %d (%v)", a.Status, a.Err)
		}
	}
	if got := sizes(); len(got) != 1 || got[0] != 20 {
		t.Fatalf("first batch sent as %v sub-requests a batch, want one of 20", got)
	}
	if got := pace.BatchSize(20); got != 5 {
		t.Fatalf("batch size %d after the service said it is near its limit, want 5", got)
	}
	for _, a := range tr.Batch(context.Background(), endpoint, nil, subs[20:]) {
		if a.Status != http.StatusNoContent {
			t.Fatalf("second batch: %d (%v)", a.Status, a.Err)
		}
	}
	got := sizes()
	for _, n := range got {
		if n > 5 {
			t.Fatalf("second batch sent as %v sub-requests a batch, want at most 5 each", got)
		}
	}
	t.Logf("second batch of 20 sent as %v", got)
}

// When a batch is sent in parts and the wait for a later part fails (here
// a gate held past the deadline), every sub-request not yet answered gets
// the error: none is left without an answer.
func TestBatchInPartsFailsEveryUnsentPart(t *testing.T) {
	tn, tr, _, endpoint, subs := batchTenant(t, simtenant.Config{Seed: 5, WriteRate: -1}, 20)
	gate := &job.Gate{}
	pace := job.NewPace(gate, 400, 100)
	pace.Throttled(time.Millisecond) // pressed: batches of 5
	tr.Pace = func(*http.Request) *job.Pace { return pace }
	tn.AddRule(simtenant.Rule{Method: http.MethodPost, PathContains: "$batch", Times: 1,
		Before: func(*http.Request) { gate.Hold(time.Now().Add(time.Hour)) }})
	time.Sleep(2 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	answers := tr.Batch(ctx, endpoint, nil, subs)
	for i, a := range answers {
		switch {
		case i < 5 && a.Status != http.StatusNoContent:
			t.Fatalf("sub-request %d of the first part: %d (%v), want 204", i, a.Status, a.Err)
		case i >= 5 && !errors.Is(a.Err, job.ErrBeyondDeadline):
			t.Fatalf("sub-request %d, not sent: status %d, error %v; want ErrBeyondDeadline", i, a.Status, a.Err)
		}
	}
}

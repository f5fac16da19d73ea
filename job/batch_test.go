package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// batchSource is a fakeSource that removes in batches of size: each
// RemoveBatch call is recorded, an assignment in attempts says how many
// tries it took, and one in stall is never answered: the call waits for
// ctx and answers it with ctx's error, after the others were answered.
type batchSource struct {
	*fakeSource
	size     int
	attempts map[string]int
	stall    map[string]bool
	started  chan struct{} // closed when a stalling call has answered what it could

	mu      sync.Mutex
	batches [][]string
	singles []string
}

func (s *batchSource) BatchSize() int { return s.size }

func (s *batchSource) Remove(ctx context.Context, a Assignment) (Outcome, error) {
	s.mu.Lock()
	s.singles = append(s.singles, a.ID)
	s.mu.Unlock()
	return s.fakeSource.Remove(ctx, a)
}

func (s *batchSource) RemoveBatch(ctx context.Context, as []Assignment) []BatchResult {
	var ids []string
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	s.mu.Lock()
	s.batches = append(s.batches, ids)
	s.mu.Unlock()
	out := make([]BatchResult, len(as))
	stalled := false
	for i, a := range as {
		if s.stall[a.ID] {
			stalled = true
			continue
		}
		out[i].Outcome, out[i].Err = s.fakeSource.Remove(ctx, a)
		out[i].Attempts = max(s.attempts[a.ID], 1)
	}
	if stalled {
		close(s.started)
		<-ctx.Done()
		for i, a := range as {
			if s.stall[a.ID] {
				out[i] = BatchResult{Err: fmt.Errorf("POST /$batch: %w", ctx.Err()), Attempts: 1}
			}
		}
	}
	return out
}

// otherSource removes one at a time, under another name.
type otherSource struct{ *fakeSource }

func (otherSource) Name() string { return "azure" }

func (s otherSource) Find(ctx context.Context, ps []Principal) ([]Assignment, error) {
	as, err := s.fakeSource.Find(ctx, ps)
	for i := range as {
		as[i].Source = "azure"
	}
	return as, err
}

// A batching source's pending items go in chunks of its batch size, one
// task each; every item gets its own outcome and attempts; a source that
// does not batch is unchanged.
func TestRunnerChunksBatchingSources(t *testing.T) {
	held := map[string][]string{alice: {"a1", "a2", "a3", "a4"}, bob: {"b1", "b2", "b3"}}
	src := &batchSource{
		fakeSource: &fakeSource{held: held,
			failRm: map[string]error{"b2": errors.New("HTTP 403 Authorization_RequestDenied: Insufficient privileges")}},
		size:     3,
		attempts: map[string]int{"a3": 3},
	}
	other := otherSource{&fakeSource{held: map[string][]string{alice: {"z1"}, bob: {"z2"}}}}
	rec := &fakeRecorder{}
	r := newRunner(src.fakeSource, rec, day1)
	r.Sources = []Source{src, other}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: bob}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	want := map[string]string{
		alice + "/directory/a1": "removed ", alice + "/directory/a2": "removed ",
		alice + "/directory/a3": "removed ", alice + "/directory/a4": "removed ",
		bob + "/directory/b1": "removed ", bob + "/directory/b3": "removed ",
		bob + "/directory/b2": "failed HTTP 403 Authorization_RequestDenied: Insufficient privileges",
		alice + "/azure/z1":   "removed ", bob + "/azure/z2": "removed ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	// The plan's order (principal, source, assignment), in chunks of 3.
	wantBatches := [][]string{{"a1", "a2", "a3"}, {"a4", "b1", "b2"}, {"b3"}}
	slices.SortFunc(src.batches, func(a, b []string) int { return slices.Compare(a, b) })
	if fmt.Sprint(src.batches) != fmt.Sprint(wantBatches) {
		t.Errorf("batches %v, want %v", src.batches, wantBatches)
	}
	if len(src.singles) != 0 {
		t.Errorf("removed alone %v, want none", src.singles)
	}
	if len(rec.outcomes) != 9 {
		t.Errorf("%d outcomes recorded, want one per item", len(rec.outcomes))
	}
	for _, it := range res.Items {
		want := 1
		switch {
		case it.AssignmentID == "a3":
			want = 3
		case it.Source == "azure":
			want = 0 // counted by the transport, which this fake has not
		}
		if it.Attempts != want {
			t.Errorf("%s: %d attempts, want %d", it.AssignmentID, it.Attempts, want)
		}
	}

	// A batch size below 2 means one at a time through Remove.
	src1 := &batchSource{fakeSource: &fakeSource{held: map[string][]string{alice: {"a1", "a2"}}}, size: 1}
	r = newRunner(src1.fakeSource, &fakeRecorder{}, day1)
	r.Sources = []Source{src1}
	if _, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(src1.singles)
	if len(src1.batches) != 0 || !slices.Equal(src1.singles, []string{"a1", "a2"}) {
		t.Errorf("batch size 1: batches %v, singles %v", src1.batches, src1.singles)
	}
}

// A chunk cut off in flight: what was answered is recorded, what was not
// stays planned with the cut-off detail, and chunks not started stay
// planned as they were.
func TestRunnerChunkCutOffInFlight(t *testing.T) {
	src := &batchSource{
		fakeSource: &fakeSource{held: map[string][]string{alice: {"a1", "a2", "a3", "a4", "a5"}}},
		size:       3,
		stall:      map[string]bool{"a2": true, "a3": true},
		started:    make(chan struct{}),
	}
	rec := &fakeRecorder{}
	r := newRunner(src.fakeSource, rec, day1)
	r.Sources = []Source{src}
	r.Concurrency = 1
	r.Grace = 1 // the grace runs out at once
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-src.started
		cancel()
	}()
	res, err := r.Run(ctx, []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	const cut = "planned cut off in flight by the interruption: the rerun finds out whether it took effect"
	want := map[string]string{"a1": "removed ", "a2": cut, "a3": cut, "a4": "planned ", "a5": "planned "}
	for id, v := range want {
		if s := got[alice+"/directory/"+id]; s != v {
			t.Errorf("%s: %q, want %q", id, s, v)
		}
	}
	if len(rec.outcomes) != 1 || rec.outcomes[0].AssignmentID != "a1" || rec.outcomes[0].Attempts != 1 {
		t.Errorf("outcomes %v, want a1's only", rec.outcomes)
	}
	if !res.Interrupted || res.ExitCode() != 4 {
		t.Errorf("interrupted %v, exit %d", res.Interrupted, res.ExitCode())
	}
	if len(src.batches) != 1 {
		t.Errorf("batches %v: no chunk may start after the interruption", src.batches)
	}
}

// lostAnswerSource answers every removal already-absent, as a request sent
// again after a lost answer finds the assignment its first attempt
// removed; batched removals say so in their result, single ones through
// the context, as the transport does.
type lostAnswerSource struct {
	*fakeSource
	batch bool
}

func (s lostAnswerSource) BatchSize() int {
	if s.batch {
		return 20
	}
	return 1
}

func (s lostAnswerSource) Remove(ctx context.Context, _ Assignment) (Outcome, error) {
	CountAttempt(ctx)
	ResentUnanswered(ctx)
	CountAttempt(ctx)
	return Outcome{State: AlreadyAbsent, Detail: "HTTP 404"}, nil
}

func (s lostAnswerSource) RemoveBatch(_ context.Context, as []Assignment) []BatchResult {
	out := make([]BatchResult, len(as))
	for i := range as {
		out[i] = BatchResult{Outcome: Outcome{State: AlreadyAbsent, Detail: "HTTP 404"}, Attempts: 2, Resent: i == 0}
	}
	return out
}

// An assignment found gone by a request sent again after a lost answer
// was removed by the lost attempt: the row says removed, and why.
func TestResentAfterALostAnswerIsRemoved(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch %v", batch), func(t *testing.T) {
			src := lostAnswerSource{fakeSource: &fakeSource{held: map[string][]string{alice: {"a1", "a2"}}}, batch: batch}
			rec := &fakeRecorder{}
			r := newRunner(src.fakeSource, rec, day1)
			r.Sources = []Source{src}
			res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
			if err != nil {
				t.Fatal(err)
			}
			got := states(res.Items)
			if s := got[alice+"/directory/a1"]; s != "removed "+lostAnswerDetail+"; HTTP 404" {
				t.Errorf("a1: %q", s)
			}
			want := "already-absent HTTP 404" // batched: a2 was not resent
			if !batch {
				want = "removed " + lostAnswerDetail + "; HTTP 404"
			}
			if s := got[alice+"/directory/a2"]; s != want {
				t.Errorf("a2: %q, want %q", s, want)
			}
		})
	}
}

package job

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// stallingSource is a fakeSource whose removals of the ids in stall wait
// until their context is done, like a request the service never answers.
type stallingSource struct {
	*fakeSource
	stall map[string]bool
	sent  chan string
}

func (s *stallingSource) Remove(ctx context.Context, a Assignment) (Outcome, error) {
	if s.sent != nil {
		s.sent <- a.ID
	}
	if s.stall[a.ID] {
		<-ctx.Done()
		return Outcome{}, fmt.Errorf("DELETE %s: %w", a.ID, ctx.Err())
	}
	return s.fakeSource.Remove(ctx, a)
}

// TestDeadlineStopsNewWorkAndKeepsCutRowsPlanned: at the deadline no new
// removal starts, the one in flight is cut off and stays planned (its
// outcome is unknown, so none is recorded), and the run is interrupted.
func TestDeadlineStopsNewWorkAndKeepsCutRowsPlanned(t *testing.T) {
	src := &stallingSource{fakeSource: &fakeSource{held: map[string][]string{alice: {"a1", "a2", "a3", "a4"}}},
		stall: map[string]bool{"a2": true}}
	rec := &fakeRecorder{}
	r := newRunner(src.fakeSource, rec, day1)
	r.Sources = []Source{src}
	r.Concurrency = 1
	// The deadline cuts the request off, not the grace after it: a run
	// that waited for the grace would take a minute.
	r.Grace = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := r.Run(ctx, []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > r.Grace/2 {
		t.Errorf("the run took %s: the removal in flight at the deadline was not cut off there", took)
	}
	got := states(res.Items)
	if got[alice+"/directory/a1"] != "removed " {
		t.Errorf("a1 (before the deadline): %q", got[alice+"/directory/a1"])
	}
	if s := got[alice+"/directory/a2"]; s != "planned cut off in flight by the interruption: the rerun finds out whether it took effect" {
		t.Errorf("a2 (in flight at the deadline): %q", s)
	}
	for _, id := range []string{"a3", "a4"} {
		if s := got[alice+"/directory/"+id]; s != "planned " {
			t.Errorf("%s (not started): %q", id, s)
		}
	}
	if !res.Interrupted || !res.DeadlineReached || res.ExitCode() != 4 {
		t.Errorf("interrupted %v, deadline %v, exit %d; want true, true, 4", res.Interrupted, res.DeadlineReached, res.ExitCode())
	}
	if len(rec.outcomes) != 1 || rec.outcomes[0].AssignmentID != "a1" {
		t.Errorf("outcomes recorded %v, want a1's only", rec.outcomes)
	}
}

// TestGraceOverKeepsCutRowsPlanned is the same after a signal whose grace
// ran out: a removal cut off is not a failure (it may have happened).
func TestGraceOverKeepsCutRowsPlanned(t *testing.T) {
	src := &stallingSource{fakeSource: &fakeSource{held: map[string][]string{alice: {"a1", "a2"}}},
		stall: map[string]bool{"a1": true}, sent: make(chan string, 2)}
	rec := &fakeRecorder{}
	r := newRunner(src.fakeSource, rec, day1)
	r.Sources = []Source{src}
	r.Concurrency = 1
	r.Grace = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-src.sent // a1 is in flight
		cancel()
	}()
	res, err := r.Run(ctx, []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	if s := got[alice+"/directory/a1"]; s != "planned cut off in flight by the interruption: the rerun finds out whether it took effect" {
		t.Errorf("a1: %q", s)
	}
	if s := got[alice+"/directory/a2"]; s != "planned " {
		t.Errorf("a2: %q", s)
	}
	if !res.Interrupted || res.DeadlineReached || res.ExitCode() != 4 || len(rec.outcomes) != 0 {
		t.Errorf("interrupted %v, deadline %v, exit %d, outcomes %v", res.Interrupted, res.DeadlineReached, res.ExitCode(), rec.outcomes)
	}
}

// heldSource is a fakeSource whose removals wait for release, or until
// their context is done: a request the service answers late.
type heldSource struct {
	*fakeSource
	sent    chan string
	release chan struct{}
}

func (s *heldSource) Remove(ctx context.Context, a Assignment) (Outcome, error) {
	s.sent <- a.ID
	select {
	case <-s.release:
		return s.fakeSource.Remove(ctx, a)
	case <-ctx.Done():
		return Outcome{}, fmt.Errorf("DELETE %s: %w", a.ID, ctx.Err())
	}
}

// TestGraceLetsWorkInFlightFinish: after a signal, a removal in flight has
// the grace to finish and its outcome is recorded; nothing new starts. (A
// run without grace cuts it off, as TestGraceOverKeepsCutRowsPlanned.)
func TestGraceLetsWorkInFlightFinish(t *testing.T) {
	src := &heldSource{fakeSource: &fakeSource{held: map[string][]string{alice: {"a1", "a2"}}},
		sent: make(chan string, 2), release: make(chan struct{})}
	rec := &fakeRecorder{}
	r := newRunner(src.fakeSource, rec, day1)
	r.Sources = []Source{src}
	r.Concurrency = 1
	r.Grace = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-src.sent // a1 is in flight
		cancel()
		// The answer comes well within the grace, after the signal.
		time.Sleep(50 * time.Millisecond)
		close(src.release)
	}()
	res, err := r.Run(ctx, []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	if s := got[alice+"/directory/a1"]; s != "removed " {
		t.Errorf("a1 (in flight at the signal, answered within the grace): %q", s)
	}
	if s := got[alice+"/directory/a2"]; s != "planned " {
		t.Errorf("a2 (not started): %q", s)
	}
	if !res.Interrupted || res.ExitCode() != 4 || len(rec.outcomes) != 1 {
		t.Errorf("interrupted %v, exit %d, outcomes %v", res.Interrupted, res.ExitCode(), rec.outcomes)
	}
}

// TestWaitBeyondDeadlineFailsTheRow: a removal whose wait would end after
// the deadline fails at once, and the rest of the run goes on.
func TestWaitBeyondDeadlineFailsTheRow(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1", "a2"}},
		failRm: map[string]error{"a1": fmt.Errorf("DELETE a1: HTTP 429 after 1 attempts: %w (1h0m0s)", ErrBeyondDeadline)}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	res, err := newRunner(src, &fakeRecorder{}, day1).Run(ctx, []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	if s := got[alice+"/directory/a1"]; s != "failed DELETE a1: HTTP 429 after 1 attempts: the service asked for a wait beyond the run's deadline (1h0m0s)" {
		t.Errorf("a1: %q", s)
	}
	if got[alice+"/directory/a2"] != "removed " || res.Interrupted || res.ExitCode() != 1 {
		t.Errorf("a2 %q, interrupted %v, exit %d", got[alice+"/directory/a2"], res.Interrupted, res.ExitCode())
	}
}

// failingRecorder fails every outcome from the nth on, like a disk that
// fills up.
type failingRecorder struct {
	fakeRecorder
	n int
}

var errDiskFull = errors.New("write journal: no space left on device")

func (r *failingRecorder) Outcome(it Item) error {
	r.mu.Lock()
	n := len(r.outcomes) + 1
	r.mu.Unlock()
	if n >= r.n {
		return errDiskFull
	}
	return r.fakeRecorder.Outcome(it)
}

// TestJournalFailureStopsNewWork: once an outcome cannot be recorded, no
// new removal starts, and Run says why.
func TestJournalFailureStopsNewWork(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1", "a2", "a3", "a4", "a5"}}}
	rec := &failingRecorder{n: 2}
	r := newRunner(src, &rec.fakeRecorder, day1)
	r.Recorder = rec
	r.Concurrency = 1
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("err %v, want the journal's", err)
	}
	if len(src.removed) != 2 {
		t.Errorf("removed %v: want the one recorded and the one that could not be, then nothing", src.removed)
	}
	planned := 0
	for _, it := range res.Items {
		if it.State == Planned {
			planned++
		}
	}
	if planned != 3 {
		t.Errorf("%d rows left planned, want 3", planned)
	}
	// The rows alone say 0 (none failed) and the run was not interrupted:
	// the journal's error, returned above, is what makes the binary exit
	// 1 (README, exit codes), not 4 or 3.
	if res.Interrupted || res.Guard != "" || res.ExitCode() != 0 {
		t.Errorf("interrupted %v, guard %q, exit %d from the rows: want false, none, 0 (the error makes it 1)",
			res.Interrupted, res.Guard, res.ExitCode())
	}
}

// stallingGuard waits for its context, like a guard whose listing the
// service never answers.
type stallingGuard struct{}

func (stallingGuard) Check(ctx context.Context, _ []*Item) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

// TestDeadlineDuringTheGuardsIsAnInterruption: a guard cut off by the
// deadline did not refuse the plan: exit 4, nothing removed, no guard.
func TestDeadlineDuringTheGuardsIsAnInterruption(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
	rec := &fakeRecorder{}
	r := newRunner(src, rec, day1)
	r.Guards = []Guard{stallingGuard{}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := r.Run(ctx, []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Guard != "" || !res.DeadlineReached || res.ExitCode() != 4 || len(src.removed) != 0 || rec.applying != 0 {
		t.Errorf("guard %q, deadline %v, exit %d, removed %v", res.Guard, res.DeadlineReached, res.ExitCode(), src.removed)
	}
	if s := states(res.Items)[alice+"/directory/a1"]; s != "planned " {
		t.Errorf("a1: %q", s)
	}
}

package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Applying: the plan's pending rows sent through the lanes, each answer
// recorded as the row's outcome.

// apply removes the pending items, at most Concurrency at a time, recording
// each outcome as it arrives. It stops starting new removals when ctx is
// done or the journal fails.
func (r *Runner) apply(ctx, reqCtx context.Context, pending []*Item, p *plan, logged *rowLog) error {
	sources := map[string]Source{}
	for _, s := range r.Sources {
		sources[s.Name()] = s
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	a := &applying{runner: r, reqCtx: reqCtx, prev: p.prev, relisted: p.relisted, unavailable: p.unavailable, stop: stop, logged: logged}
	stopProgress := r.startProgress(runCtx, "progress", len(pending), a.doneSoFar)
	r.schedule(runCtx, reqCtx, newLanes(r.tasks(sources, pending)), a.run)
	stop(nil)
	stopProgress()
	if a.journalErr != nil {
		return fmt.Errorf("recording an outcome: %w", a.journalErr)
	}
	return nil
}

// schedule runs the tasks of queue, at most Concurrency at a time, until
// none is left or the run stops. A worker is taken before its task is
// chosen, so that the task is one whose lane is not held (lanes.next).
func (r *Runner) schedule(runCtx, reqCtx context.Context, queue *lanes, run func(task)) {
	var g errgroup.Group
	workers := make(chan struct{}, r.Concurrency)
	// No new work once ctx is done or requests can no longer be sent:
	// reqCtx carries the deadline on a timer of its own, which may fire
	// a moment before ctx's.
	stopped := func() bool { return runCtx.Err() != nil || reqCtx.Err() != nil }
	for !stopped() {
		select {
		case workers <- struct{}{}:
		case <-runCtx.Done():
		case <-reqCtx.Done():
		}
		if stopped() {
			break
		}
		tk, ok := queue.next(time.Now())
		if !ok {
			<-workers
			break
		}
		g.Go(func() error {
			defer func() { <-workers }()
			if !stopped() {
				run(tk)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// applying is the state of one apply: what was done, and the journal's
// first failure, which stops it.
type applying struct {
	runner *Runner
	reqCtx context.Context
	// prev and relisted are the plan's earlier rows: those not listed
	// again, and the done ones listed again. Nothing writes them now.
	prev        map[Key]Item
	relisted    map[Key]Item
	unavailable *unavailableParts
	stop        context.CancelCauseFunc
	logged      *rowLog

	mu         sync.Mutex
	done       int
	journalErr error
}

func (a *applying) doneSoFar() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.done
}

// run removes the items of one task and records their outcomes.
func (a *applying) run(tk task) {
	if tk.batch != nil {
		a.runBatch(tk)
		return
	}
	r, began := a.runner, time.Now()
	it := tk.items[0]
	actx, attempts := WithAttempts(a.reqCtx)
	out, err := tk.src.Remove(actx, r.assignment(it))
	if err != nil && a.reqCtx.Err() != nil {
		a.cutOff(it, err)
		return
	}
	a.record(it, out, err, WasResentUnanswered(actx), int(attempts.Load()), began)
}

// runBatch removes a chunk of items in one request of a source that
// batches, and records each one's outcome.
func (a *applying) runBatch(tk task) {
	r, began := a.runner, time.Now()
	as := make([]Assignment, len(tk.items))
	for i, it := range tk.items {
		as[i] = r.assignment(it)
	}
	results := tk.batch.RemoveBatch(a.reqCtx, as)
	for i, it := range tk.items {
		var res BatchResult
		if i < len(results) {
			res = results[i]
		} else {
			res.Err = errors.New("the source gave no answer for this removal")
		}
		// Only an assignment still unanswered when the run cut
		// the chunk off is unknown; the others were answered.
		if res.Err != nil && a.reqCtx.Err() != nil &&
			(errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded)) {
			a.cutOff(it, res.Err)
			continue
		}
		a.record(it, res.Outcome, res.Err, res.Resent, res.Attempts, began)
	}
}

// cutOff leaves an item planned: the run cut its request off (the grace
// after a signal ran out, or the deadline came), and the service may or
// may not have acted on it. No outcome is recorded, so the item stays
// planned, and unconfirmed for the rerun, which lists it again or
// confirms it absent.
func (a *applying) cutOff(it *Item, err error) {
	r := a.runner
	a.mu.Lock()
	r.step(it, CutOffInFlight, nil)
	it.UpdatedAt = r.Now().UTC()
	a.done++
	a.mu.Unlock()
	r.Log.Warn(CutOff,
		zap.String("principal_id", it.PrincipalID), zap.String("source", it.Source),
		zap.String("assignment_id", it.AssignmentID), zap.Error(err))
}

// record journals one item's outcome and logs it; a journal that fails
// stops the run. resent: a request was sent again after an attempt whose
// answer was lost.
func (a *applying) record(it *Item, out Outcome, err error, resent bool, attempts int, began time.Time) {
	r := a.runner
	if err != nil {
		if errors.Is(err, ErrUnauthorized) && r.refused != nil {
			r.refused(unauthorizedWhere(err))
		}
		// A removal's fallback may learn that a part is unavailable
		// (directory's PIM way): the row stays failed, its detail
		// says why, and the summary names the part.
		if ue := (*UnavailableError)(nil); errors.As(err, &ue) {
			a.unavailable.note(ue)
		}
	}
	rec := a.settle(it, out, err, resent, attempts)
	if err := r.Recorder.Outcome(rec); err != nil {
		a.mu.Lock()
		if a.journalErr == nil {
			a.journalErr = err
		}
		a.mu.Unlock()
		a.stop(err)
	}
	a.mu.Lock()
	a.done++
	a.mu.Unlock()
	r.observeItem(rec)
	r.logRow(LogOutcome, rec, time.Since(began))
	a.logged.mark(it)
}

// settle moves the item on its answer's event and returns a copy to
// record.
func (a *applying) settle(it *Item, out Outcome, err error, resent bool, attempts int) Item {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := it.Key()
	earlierRow, relisted := a.relisted[k]
	ev, w := answerEvent(out, err, resent, relisted, a.prev[k].Unconfirmed)
	if ev == RelistedFoundAbsent || ev == RelistedFoundPresent {
		// Listed again, found gone: the earlier row stands.
		if it.StepBack(ev, earlierRow) == nil {
			it.Raw = nil
			return *it
		}
	}
	a.runner.step(it, ev, a.runner.words(it.PrincipalID, w))
	it.Attempts = attempts
	it.UpdatedAt = a.runner.Now().UTC()
	// The plan's record holds the assignment as listed, and nothing after
	// its answer needs it: let it go.
	it.Raw = nil
	return *it
}

// foundDone are the events of an answer that finds the work already done:
// as such, after a resend, and after the listing returned an assignment an
// earlier run finished.
var foundDone = map[State]struct{ plain, resent, relisted Event }{
	AlreadyAbsent:  {AnsweredAbsent, ResentFoundAbsent, RelistedFoundAbsent},
	AlreadyPresent: {AnsweredPresent, ResentFoundPresent, RelistedFoundPresent},
}

// answerEvent is the fate table's event for the answer to a removal (a
// restore's re-creation): out or err as the source gave them; resent when
// a request was sent again after an attempt whose answer was lost;
// relisted when an earlier run finished the assignment and the listing
// returned it again; unconfirmed when an earlier run (a restore) started
// it without recording an outcome. Its words are the answer's detail
// ({answer}), or the error ({error}).
func answerEvent(out Outcome, err error, resent, relisted, unconfirmed bool) (Event, Words) {
	w := Words{"answer": out.Detail}
	f, isDone := foundDone[out.State]
	switch {
	case err != nil:
		return FinalError, Words{"error": err.Error()}
	case out.State == AlreadyPresent && unconfirmed:
		return UnconfirmedFoundPresent, w
	case isDone && resent:
		return f.resent, w
	case isDone && relisted:
		return f.relisted, w
	case isDone:
		return f.plain, w
	case out.State == Removed:
		return AnsweredRemoved, w
	case out.State == Restored:
		return AnsweredRestored, w
	}
	return AnsweredOther, Words{"status": string(out.State), "answer": out.Detail}
}

// startProgress logs event's progress in the background (progress); the
// function it returns stops it and waits.
func (r *Runner) startProgress(ctx context.Context, event string, total int, done func() int) (stop func()) {
	// The phase begins before any of its work can end: a row it fails
	// is the phase's (Observer.Item).
	endPhase := r.observePhase(phaseOf(event), total, done)
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		r.progress(ctx, event, start, total, done)
	}()
	return func() {
		cancel()
		<-finished
		endPhase()
	}
}

package job

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Runner runs one offboarding: it resolves the input's principals, lists
// what every source holds for them, plans, checks the plan against the
// guards, removes what the plan says and accounts for every item.
type Runner struct {
	Sources []Source
	// Directory resolves the entries' UPNs, mails and employee ids. Nil
	// (a restore, whose entries come from a report): an entry's
	// principal_id is taken as given and its UPN only shown.
	Directory Directory
	Recorder  Recorder
	Log       *zap.Logger
	// Now is the clock; rows are stamped with it and effective dates are
	// compared with its UTC day.
	Now func() time.Time
	// Concurrency bounds the requests in flight.
	Concurrency int
	// MaxRemovals: a plan with more write actions stops before any change.
	MaxRemovals int
	// MaxRemovalsPerPrincipal: a principal whose plan holds more write
	// actions is held back (deferred) and the rest go ahead, counted
	// against MaxRemovals without it; 0 is no cap.
	MaxRemovalsPerPrincipal int
	// Protect holds object ids never touched, lower-cased.
	Protect map[string]bool
	// SelfID is the job's own object id, never touched.
	SelfID string
	DryRun bool
	// Guards run on the whole plan after the built-in ones and before the
	// first write.
	Guards []Guard
	// Previous is the state of the report directory left by earlier runs.
	Previous []Item
	// PreviousUnsigned: some of Previous comes from records nobody vouches
	// for (a journal line without a MAC). The tenant beats them anyway;
	// besides, a key they name is not resolved through them.
	PreviousUnsigned bool
	// Grace is how long in-flight requests may go on after ctx is done
	// before they are cancelled.
	Grace time.Duration
	// ProgressEvery is the interval of progress lines (10 s when zero).
	ProgressEvery time.Duration
	// RunID names the run in the justification of requests that take one.
	RunID string
	// Observer, when set, is told of each phase and of the rows of note
	// as they happen (the terminal display).
	Observer Observer
	// FindMissing: a principal named by object id alone that holds
	// nothing is looked up (Directory as an ObjectChecker), and one the
	// tenant does not have is not-found rather than no-assignments. A
	// run sets it; a watch (whose principals were offboarded, and may
	// have been deleted since) does not.
	FindMissing bool
	// RemovedDetail, when set, says what a row it removes from a
	// principal was (`watch`: held again after offboarding); it replaces
	// the listing's note in the row's detail.
	RemovedDetail func(principalID string) string

	// refused stops the run on a 401 (set by Run).
	refused func(endpoint string)
}

// Guard checks a plan before the first write. It may mark items Skipped
// (with a detail saying why); returning a non-empty stop reason stops the
// run before any change.
type Guard interface {
	Check(ctx context.Context, items []*Item) (stop string, err error)
}

// Result is what a run ended with.
type Result struct {
	Items []Item
	// Guard says why a guard stopped the run; empty when none did.
	Guard string
	// Unauthorized, when set, says that a service refused the token (a
	// 401, job.ErrUnauthorized) and where: the run stopped at once, no
	// new work started, and the rows not yet attempted stay as they
	// were. ExitCode is 2.
	Unauthorized string
	// Interrupted is true when ctx was done before the run finished: a
	// signal, or the deadline (then DeadlineReached is true too).
	Interrupted     bool
	DeadlineReached bool
	// Unavailable names the sources, or parts of one, that cannot exist
	// in this tenant (a licence it lacks), each with the service's
	// reason: summary.json's "unavailable". It never changes ExitCode.
	Unavailable map[string]string
	// HeldBack lists the principals --max-removals-per-principal held
	// back, in the plan's order; any makes ExitCode 1.
	HeldBack []HeldBack
	// NewNotFound counts the not-found rows an earlier run into the same
	// report did not already report: any makes ExitCode 1, so that the
	// alert fires once for a typo and a rerun of the same input can end
	// clean.
	NewNotFound int
}

// Counts returns the number of items in each state.
func (r Result) Counts() map[State]int {
	c := make(map[State]int, len(States))
	for _, s := range States {
		c[s] = 0
	}
	for _, it := range r.Items {
		c[it.State]++
	}
	return c
}

// ExitCode is the process exit code CONTRACT.md gives for the result.
func (r Result) ExitCode() int {
	switch {
	case r.Unauthorized != "":
		return 2
	case r.Interrupted:
		return 4
	case r.Guard != "":
		return 3
	}
	if len(r.HeldBack) > 0 || r.NewNotFound > 0 {
		return 1
	}
	for _, it := range r.Items {
		if it.State == Failed || it.State == Invalid {
			return 1
		}
	}
	return 0
}

// principal is a resolved principal and what the run knows of it.
type principal struct {
	Principal
	skip string   // HeldProtected or HeldSelf: listed but never touched
	keys []string // its mails and employee ids, gathered from its lines
	// Keys is keys, shared by the principal's items.
	Keys *[]string
	// byID: the line named it by object id alone (no key the directory
	// resolved), so nothing yet says the tenant has it.
	byID bool
	// deleted: a key of its lines named a soft-deleted user.
	deleted bool
}

// Run runs the job on the entries. The error is a failure of the run itself
// (the journal could not be written); everything that happened to a row is
// in its item.
//
// When ctx is cancelled (a signal), no new work starts and requests in
// flight get Grace to finish. When ctx has a deadline, it is the run's: no
// work starts after it, no request is in flight past it, and a wait a
// service asks for that would end after it fails the row at once
// (ErrBeyondDeadline). Either way, an item whose request was cut off stays
// planned: whether the service acted on it is unknown, and the rerun finds
// out.
func (r *Runner) Run(ctx context.Context, entries []Entry) (res Result, err error) {
	r.defaults()
	// A 401 from any service stops the run as a signal does, at once:
	// no new work, what is in flight finishes.
	ctx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	var refused atomic.Pointer[string]
	r.refused = func(endpoint string) {
		if refused.CompareAndSwap(nil, &endpoint) {
			r.Log.Error(UnauthorizedStop+": the run stops, no new work starts", zap.String("endpoint", endpoint))
			stopRun(fmt.Errorf("%s: %w", endpoint, ErrUnauthorized))
		}
	}
	defer func() {
		if ep := refused.Load(); ep != nil {
			res.Unauthorized = UnauthorizedStop + " (" + *ep + ")"
		}
	}()
	reqCtx, stopRequests := r.requests(ctx)
	defer stopRequests()

	p := newPlan(r)
	// One log line per report row: the removals' as they arrive, the
	// others' once the rows are settled.
	logged := &rowLog{}
	principals := p.admit(ctx, reqCtx, entries)
	p.find(ctx, reqCtx, principals)
	res = Result{}
	defer func() { res.Unavailable, res.NewNotFound = p.unavailable.parts(), p.newNotFound }()
	res.interrupted(ctx)
	if res.Interrupted {
		// Nothing was written yet: report what is known, plan nothing.
		res.Items = r.rows(p, logged)
		return res, nil
	}
	pending, cut := r.guard(ctx, reqCtx, p, &res)
	if cut {
		res.Items = r.rows(p, logged)
		return res, nil
	}
	if err := r.Recorder.Plan(p.each()); err != nil {
		return Result{}, fmt.Errorf("recording the plan: %w", err)
	}
	if res.Guard != "" || r.DryRun || len(pending) == 0 {
		res.Items = r.rows(p, logged)
		return res, nil
	}
	if err := r.Recorder.Applying(); err != nil {
		return Result{}, fmt.Errorf("recording the start of removals: %w", err)
	}
	err = r.apply(ctx, reqCtx, pending, p, logged)
	res.interrupted(ctx)
	res.Items = r.rows(p, logged)
	return res, err
}

// requests returns the context requests are sent under: it carries ctx's
// values and deadline, and is cancelled Grace after ctx is done (at once
// on a second signal). stop releases it.
func (r *Runner) requests(ctx context.Context) (reqCtx context.Context, stop func()) {
	// Requests in flight get Grace to finish after ctx is done; new work
	// stops at once. WithoutCancel drops the deadline too: it is put back,
	// so that the transport can refuse waits that would end after it.
	reqCtx, cancelReqs := context.WithCancel(WithUnauthorized(context.WithoutCancel(ctx), r.refused))
	cancelAtDeadline := context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		reqCtx, cancelAtDeadline = context.WithDeadline(reqCtx, deadline)
	}
	stopGrace := context.AfterFunc(ctx, func() {
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(context.Cause(ctx), ErrUnauthorized) {
			r.interrupted()
		}
		t := time.NewTimer(r.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelReqs()
		case <-stopNow(ctx):
			// A second signal: the requests in flight are cut off now.
			cancelReqs()
		case <-reqCtx.Done():
		}
	})
	return reqCtx, func() {
		stopGrace()
		cancelAtDeadline()
		cancelReqs()
	}
}

// guard checks the plan before the first write: --max-removals, the cap
// per principal (which holds principals back), then the Guards in turn;
// res says what stopped the run, if anything. It returns what is left to
// remove; cut is true when an interruption cut a guard off (res says so).
func (r *Runner) guard(ctx, reqCtx context.Context, p *plan, res *Result) (pending []*Item, cut bool) {
	pending = p.pending()
	// A principal over its own cap is held back; the rest of the plan
	// is counted without its rows. A plan too large without them still
	// stops everything, and then nobody is held back: nothing is done.
	held, n := overCap(pending, r.MaxRemovalsPerPrincipal)
	if n > r.MaxRemovals {
		res.Guard = fmt.Sprintf("the plan holds %d removals, more than --max-removals %d", n, r.MaxRemovals)
		if len(held) > 0 {
			res.Guard += fmt.Sprintf(" (not counting the removals of %d principals over --max-removals-per-principal %d)", len(held), r.MaxRemovalsPerPrincipal)
		}
	}
	if res.Guard == "" && len(held) > 0 {
		r.holdBack(pending, held)
		res.HeldBack = held
		for _, h := range held {
			r.Log.Warn("a principal is held back: its plan holds more removals than --max-removals-per-principal",
				zap.String("principal_id", h.PrincipalID), zap.Int("planned", h.Planned), zap.Int("max_removals_per_principal", h.Cap))
		}
	}
	if res.Guard == "" {
		all := p.list()
		for _, g := range r.Guards {
			stop, err := g.Check(reqCtx, all)
			if err != nil && (reqCtx.Err() != nil || ctx.Err() != nil) {
				// Cut off (the deadline, or a signal's grace ran out),
				// not refused: an interruption.
				res.interrupted(ctx)
				return nil, true
			}
			if err != nil {
				res.Guard = guardUnread(err)
				break
			}
			if stop != "" {
				res.Guard = stop
				break
			}
		}
		pending = p.pending()
		p.keepUnchanged()
	}
	if res.Guard != "" {
		r.Log.Warn("guard stopped the run before any change", zap.String("guard", res.Guard))
	}
	return pending, false
}

// interrupted notes whether ctx was done, and why. A deadline that has
// passed counts even before ctx's own timer has fired: the requests' one
// may have fired first and cut the run short.
func (res *Result) interrupted(ctx context.Context) {
	deadline, ok := ctx.Deadline()
	res.DeadlineReached = errors.Is(ctx.Err(), context.DeadlineExceeded) || ok && !time.Now().Before(deadline)
	res.Interrupted = ctx.Err() != nil || res.DeadlineReached
}

func (r *Runner) defaults() {
	if r.Log == nil {
		r.Log = zap.NewNop()
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Concurrency < 1 {
		r.Concurrency = 1
	}
	if r.Grace <= 0 {
		r.Grace = 15 * time.Second
	}
	if r.ProgressEvery <= 0 {
		r.ProgressEvery = 10 * time.Second
	}
}

// progress logs a line every ProgressEvery until ctx is done.
func (r *Runner) progress(ctx context.Context, event string, start time.Time, total int, done func() int) {
	t := time.NewTicker(r.ProgressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := done()
		elapsed := time.Since(start)
		rate := float64(n) / elapsed.Seconds()
		fields := []zap.Field{zap.Int("done", n), zap.Int("total", total), zap.Float64("rate_per_s", rate)}
		if rate > 0 {
			eta := time.Duration(float64(total-n) / rate * float64(time.Second))
			fields = append(fields, zap.Duration("eta", eta.Round(time.Second)))
		}
		r.Log.Info(event, fields...)
	}
}

// justification names the run and the input's reference, bounded: it is
// sent in a request body (never a URL or a filter) and kept by PIM.
func (r *Runner) justification(reference string) string {
	return justification("offboard run "+r.RunID, reference)
}

// justification is what, a run or a restore, then the input's reference,
// at most 500 characters.
func justification(what, reference string) string {
	j := what
	if reference != "" {
		j += ": " + reference
	}
	if rs := []rune(j); len(rs) > 500 {
		j = string(rs[:500])
	}
	return j
}

// step moves it on e (Item.Step). A step the table refuses is a bug of
// the job: it is logged, and the row stays as it was.
func (r *Runner) step(it *Item, e Event, w Words) bool {
	if err := it.Step(e, w); err != nil {
		r.Log.Error("the table of a row's fate refused a step: the row stays as it was",
			zap.String("principal_id", it.PrincipalID), zap.String("source", it.Source),
			zap.String("assignment_id", it.AssignmentID), zap.Error(err))
		return false
	}
	return true
}

// words are w with, in a watch, the {watch} word that a row of
// principalID which becomes removed begins with (RemovedDetail).
func (r *Runner) words(principalID string, w Words) Words {
	if r.RemovedDetail == nil {
		return w
	}
	if w == nil {
		w = Words{}
	}
	w["watch"] = r.RemovedDetail(principalID)
	return w
}

// JoinDetail joins two parts of a row's detail with "; ", leaving out
// an empty one.
func JoinDetail(note, detail string) string {
	switch {
	case note == "":
		return detail
	case detail == "":
		return note
	}
	return note + "; " + detail
}

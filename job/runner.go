package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Runner runs one offboarding: it resolves the input's principals, lists
// what every source holds for them, plans, checks the plan against the
// guards, removes what the plan says and accounts for every item.
type Runner struct {
	Sources   []Source
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
	// Grace is how long in-flight requests may go on after ctx is done
	// before they are cancelled.
	Grace time.Duration
	// ProgressEvery is the interval of progress lines (10 s when zero).
	ProgressEvery time.Duration
	// RunID names the run in the justification of requests that take one.
	RunID string
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
	// Interrupted is true when ctx was done before the run finished: a
	// signal, or the deadline (then DeadlineReached is true too).
	Interrupted     bool
	DeadlineReached bool
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
	case r.Interrupted:
		return 4
	case r.Guard != "":
		return 3
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
	skip string // "protected" or "self": listed but never touched
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
func (r *Runner) Run(ctx context.Context, entries []Entry) (Result, error) {
	r.defaults()
	// Requests in flight get Grace to finish after ctx is done; new work
	// stops at once. WithoutCancel drops the deadline too: it is put back,
	// so that the transport can refuse waits that would end after it.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	if deadline, ok := ctx.Deadline(); ok {
		var cancelAtDeadline context.CancelFunc
		reqCtx, cancelAtDeadline = context.WithDeadline(reqCtx, deadline)
		defer cancelAtDeadline()
	}
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(r.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelReqs()
		case <-reqCtx.Done():
		}
	})
	defer stopGrace()

	p := &plan{runner: r, prev: map[Key]Item{}, items: map[Key]*Item{}}
	for _, it := range r.Previous {
		p.prev[it.Key()] = it
	}
	principals := p.admit(ctx, reqCtx, entries)
	p.find(ctx, reqCtx, principals)
	res := Result{}
	res.interrupted(ctx)
	if res.Interrupted {
		// Nothing was written yet: report what is known, plan nothing.
		res.Items = p.sorted()
		return res, nil
	}
	pending := p.pending()
	if n := len(pending); n > r.MaxRemovals {
		res.Guard = fmt.Sprintf("the plan holds %d removals, more than --max-removals %d", n, r.MaxRemovals)
	}
	if res.Guard == "" {
		all := p.list()
		for _, g := range r.Guards {
			stop, err := g.Check(reqCtx, all)
			if err != nil && reqCtx.Err() != nil {
				// Cut off (the deadline, or a signal's grace ran out),
				// not refused: an interruption.
				res.interrupted(ctx)
				res.Items = p.sorted()
				return res, nil
			}
			if err != nil {
				res.Guard = "a guard could not be checked: " + err.Error()
				break
			}
			if stop != "" {
				res.Guard = stop
				break
			}
		}
		pending = p.pending()
	}
	if res.Guard != "" {
		r.Log.Warn("guard stopped the run before any change", zap.String("guard", res.Guard))
	}
	if err := r.Recorder.Plan(p.sorted()); err != nil {
		return Result{}, fmt.Errorf("recording the plan: %w", err)
	}
	if res.Guard != "" || r.DryRun || len(pending) == 0 {
		res.Items = p.sorted()
		return res, nil
	}
	if err := r.Recorder.Applying(); err != nil {
		return Result{}, fmt.Errorf("recording the start of removals: %w", err)
	}
	err := r.apply(ctx, reqCtx, pending)
	res.interrupted(ctx)
	res.Items = p.sorted()
	return res, err
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

// plan is the run's working set of items, keyed as the report keys them.
type plan struct {
	runner *Runner
	prev   map[Key]Item
	mu     sync.Mutex
	items  map[Key]*Item
}

// put adds or replaces an item, keeping the time of the previous run's row
// when its status and detail did not change, so that a rerun that changes
// nothing rewrites the report byte for byte.
func (p *plan) put(it Item) {
	k := it.Key()
	if prev, ok := p.prev[k]; ok && prev.State == it.State && prev.Detail == it.Detail {
		it.UpdatedAt = prev.UpdatedAt
		if it.Attempts == 0 {
			it.Attempts = prev.Attempts
		}
	}
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = p.runner.Now().UTC()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.items[k] = &it
}

func (p *plan) list() []*Item {
	out := make([]*Item, 0, len(p.items))
	for _, it := range p.items {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *Item) int { return Compare(*a, *b) })
	return out
}

func (p *plan) sorted() []Item {
	out := make([]Item, 0, len(p.items))
	for _, it := range p.list() {
		out = append(out, *it)
	}
	return out
}

// pending lists the items the run will try to remove.
func (p *plan) pending() []*Item {
	var out []*Item
	for _, it := range p.list() {
		if it.State == Planned && it.AssignmentID != "" {
			out = append(out, it)
		}
	}
	return out
}

// admit turns entries into principals: invalid and deferred lines become
// rows, user principal names are resolved, duplicates are merged.
func (p *plan) admit(ctx, reqCtx context.Context, entries []Entry) []*principal {
	r := p.runner
	today := r.Now().UTC().Truncate(24 * time.Hour)
	// A UPN an earlier run resolved still names the same principal when
	// the account has since been deleted (HR often deletes it next).
	known := map[string]string{}
	for _, it := range r.Previous {
		if it.UPN != "" && IsGUID(it.PrincipalID) {
			known[strings.ToLower(it.UPN)] = it.PrincipalID
		}
	}

	type pending struct {
		e        Entry
		id       string
		answered bool // the resolution ran and put a row or an id
	}
	var active []*pending
	var deferred []Entry
	for _, e := range entries {
		switch {
		case e.Problem != "":
			p.put(Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, State: Invalid, Detail: e.Problem, Line: e.Line})
		case !e.EffectiveDate.IsZero() && e.EffectiveDate.After(today):
			deferred = append(deferred, e)
		default:
			active = append(active, &pending{e: e, id: e.PrincipalID})
		}
	}

	var g errgroup.Group
	g.SetLimit(r.Concurrency)
	for _, a := range active {
		if a.id != "" || a.e.UPN == "" {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			id, err := r.Directory.ResolveUPN(reqCtx, a.e.UPN)
			a.answered = true
			if errors.Is(err, ErrNotFound) {
				if prev, ok := known[strings.ToLower(a.e.UPN)]; ok {
					a.id = prev
					return nil
				}
			}
			e := a.e
			switch {
			case errors.Is(err, ErrNotFound):
				p.put(Item{UPN: e.UPN, Reference: e.Reference, State: Invalid, Line: e.Line,
					Detail: fmt.Sprintf("line %d: user_principal_name %q is not a user of the tenant", e.Line, e.UPN)})
			case err != nil:
				p.put(Item{UPN: e.UPN, Reference: e.Reference, State: Failed, Line: e.Line,
					Detail: fmt.Sprintf("line %d: resolving user_principal_name: %v", e.Line, err)})
				r.Log.Warn("resolving a UPN failed", zap.Int("line", e.Line), zap.Error(err))
			case !IsGUID(id):
				p.put(Item{UPN: e.UPN, Reference: e.Reference, State: Failed, Line: e.Line,
					Detail: fmt.Sprintf("line %d: the directory answered an id that is not a GUID", e.Line)})
			default:
				a.id = NormalizeGUID(id)
			}
			return nil
		})
	}
	_ = g.Wait()

	byID := map[string]*principal{}
	var order []*principal
	for _, a := range active {
		if a.id == "" {
			if !a.answered {
				p.put(Item{UPN: a.e.UPN, Reference: a.e.Reference, State: Failed, Line: a.e.Line,
					Detail: fmt.Sprintf("line %d: interrupted before user_principal_name was resolved", a.e.Line)})
			}
			continue
		}
		if pr, ok := byID[a.id]; ok {
			pr.UPN = cmpOr(pr.UPN, a.e.UPN)
			pr.Reference = cmpOr(pr.Reference, a.e.Reference)
			pr.Type = cmpOr(pr.Type, a.e.Type)
			continue
		}
		pr := &principal{Principal: Principal{ID: a.id, UPN: a.e.UPN, Type: a.e.Type, Reference: a.e.Reference, Line: a.e.Line}}
		switch {
		case r.Protect[a.id]:
			pr.skip = "protected"
		case r.SelfID != "" && a.id == r.SelfID:
			pr.skip = "self"
		}
		byID[a.id] = pr
		order = append(order, pr)
	}
	// A principal named on an active line is acted on even when another
	// line names it with a later date.
	for _, e := range deferred {
		if e.PrincipalID != "" && byID[e.PrincipalID] != nil {
			continue
		}
		p.put(Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, State: Deferred, Line: e.Line,
			Detail: "effective " + e.EffectiveDate.Format(time.DateOnly)})
	}
	return order
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// find lists every source for every principal and turns what it found,
// and what earlier runs recorded, into items.
func (p *plan) find(ctx, reqCtx context.Context, principals []*principal) {
	r := p.runner
	type listing struct {
		source Source
		group  []*principal
		found  []Assignment
		err    error
	}
	var listings []*listing
	for _, src := range r.Sources {
		size := 1
		if g, ok := src.(Grouper); ok && g.GroupSize() > 1 {
			size = g.GroupSize()
		}
		for chunk := range slices.Chunk(principals, size) {
			listings = append(listings, &listing{source: src, group: chunk})
		}
	}
	// Listing thousands of principals takes minutes: say how far it got.
	var listed atomic.Int64
	progressCtx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		r.progress(progressCtx, "listing progress", time.Now(), len(listings), func() int { return int(listed.Load()) })
	}()
	var g errgroup.Group
	g.SetLimit(r.Concurrency)
	for _, l := range listings {
		if ctx.Err() != nil {
			l.err = fmt.Errorf("interrupted before listing: %w", ctx.Err())
			continue
		}
		g.Go(func() error {
			defer listed.Add(1)
			ps := make([]Principal, len(l.group))
			for i, pr := range l.group {
				ps[i] = pr.Principal
			}
			l.found, l.err = l.source.Find(reqCtx, ps)
			return nil
		})
	}
	_ = g.Wait()
	stopProgress()
	<-progressDone

	holds := map[string]int{} // rows per principal id
	// Thousands of assignments share a handful of roles and scopes: one
	// copy of each string is kept, not one per item.
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		interned[s] = s
		return s
	}
	listedOK := map[[2]string]bool{}
	seen := map[Key]bool{}
	for _, l := range listings {
		name := l.source.Name()
		members := map[string]*principal{}
		for _, pr := range l.group {
			members[pr.ID] = pr
		}
		failed := listingFailures(l.err, l.group)
		for _, pr := range l.group {
			if err, ok := failed[pr.ID]; ok {
				p.put(Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, Source: name, State: Failed, Line: pr.Line,
					Detail: "listing failed: " + err.Error()})
				holds[pr.ID]++
				continue
			}
			listedOK[[2]string{pr.ID, name}] = true
		}
		if len(failed) > 0 {
			r.Log.Warn("listing failed", zap.String("source", name), zap.Int("principals", len(failed)), zap.Error(l.err))
		}
		if len(failed) == len(l.group) {
			// The whole group's listing failed: nothing of it stands.
			l.found = nil
		}
		for _, a := range l.found {
			id := NormalizeGUID(a.PrincipalID)
			if _, ok := failed[id]; ok {
				// What a failed listing found is not all there is: its
				// principal is reported failed, holding nothing.
				continue
			}
			pr := members[id]
			if pr == nil {
				r.Log.Warn("the service listed an assignment of a principal it was not asked about",
					zap.String("source", name), zap.String("assignment_id", a.ID))
				continue
			}
			it := Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, Source: name, AssignmentID: a.ID,
				RoleDefinitionID: intern(a.RoleDefinitionID), Scope: intern(a.Scope), Detail: a.Note, Raw: a.Raw, Line: pr.Line}
			k := it.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			holds[pr.ID]++
			if c, ok := l.source.(IDChecker); ok {
				if err := c.CheckID(a); err != nil {
					r.Log.Warn(UnexpectedID, zap.String("source", name), zap.String("principal_id", pr.ID), zap.Error(err))
					it.State, it.Detail, it.Raw = Failed, UnexpectedID, nil
					p.put(it)
					continue
				}
			}
			if prev, ok := p.prev[k]; ok && prev.State.Done() {
				p.put(prev)
				continue
			}
			switch {
			case pr.skip != "":
				it.State, it.Detail = Skipped, pr.skip
			default:
				it.State = Planned
			}
			p.put(it)
		}
		// The items hold what they need of it; at 100,000 assignments
		// the listing is worth dropping before the plan is copied.
		l.found = nil
	}

	// Rows of earlier runs whose assignment was not listed again.
	inRun := map[string]*principal{}
	for _, pr := range principals {
		inRun[pr.ID] = pr
	}
	for k, prev := range p.prev {
		if prev.AssignmentID == "" || seen[k] {
			continue
		}
		pr := inRun[prev.PrincipalID]
		if pr == nil || !listedOK[[2]string{prev.PrincipalID, prev.Source}] {
			// Not in this run, or its listing failed: what is done stays
			// done; the rest waits for a run that can list it.
			if prev.State.Done() {
				p.put(prev)
				if pr != nil {
					holds[pr.ID]++
				}
			}
			continue
		}
		it := prev
		it.Unconfirmed = false
		switch {
		case prev.State.Done():
		case prev.Unconfirmed:
			it.State, it.Detail = Removed, "confirmed absent on rerun"
		case prev.State == Failed:
			it.State, it.Detail = AlreadyAbsent, "absent on rerun"
		default:
			// Planned in a dry run, or skipped: nothing was done and
			// nothing is there any more.
			continue
		}
		p.put(it)
		holds[pr.ID]++
	}

	for _, pr := range principals {
		if holds[pr.ID] > 0 {
			continue
		}
		it := Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, State: NoAssignments, Line: pr.Line}
		if pr.skip != "" {
			it.State, it.Detail = Skipped, pr.skip
		}
		p.put(it)
	}
}

// apply removes the pending items, at most Concurrency at a time, recording
// each outcome as it arrives. It stops starting new removals when ctx is
// done or the journal fails.
func (r *Runner) apply(ctx, reqCtx context.Context, pending []*Item) error {
	sources := map[string]Source{}
	for _, s := range r.Sources {
		sources[s.Name()] = s
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var (
		mu       sync.Mutex
		done     int
		journalE error
	)
	start := time.Now()
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		r.progress(runCtx, "progress", start, len(pending), func() int {
			mu.Lock()
			defer mu.Unlock()
			return done
		})
	}()

	// cutOff leaves an item planned: the run cut its request off (the
	// grace after a signal ran out, or the deadline came), and the
	// service may or may not have acted on it. No outcome is recorded, so
	// the item stays planned, and unconfirmed for the rerun, which lists
	// it again or confirms it absent.
	cutOff := func(it *Item, err error) {
		mu.Lock()
		it.Detail = JoinDetail(it.Detail, "cut off in flight by the interruption: the rerun finds out whether it took effect")
		it.UpdatedAt = r.Now().UTC()
		done++
		mu.Unlock()
		r.Log.Warn("a removal was cut off; its outcome is unknown until the rerun",
			zap.String("principal_id", it.PrincipalID), zap.String("source", it.Source),
			zap.String("assignment_id", it.AssignmentID), zap.Error(err))
	}
	// record journals one item's outcome and logs it.
	record := func(it *Item, out Outcome, err error, attempts int, began time.Time) {
		if err != nil {
			out = Outcome{State: Failed, Detail: err.Error()}
		}
		mu.Lock()
		// The plan's detail says what the assignment is (a group's
		// name); the outcome's says what happened to it.
		it.State, it.Detail = out.State, JoinDetail(it.Detail, out.Detail)
		it.Attempts = attempts
		it.UpdatedAt = r.Now().UTC()
		rec := *it
		mu.Unlock()
		if err := r.Recorder.Outcome(rec); err != nil {
			mu.Lock()
			if journalE == nil {
				journalE = err
			}
			mu.Unlock()
			stop(err)
		}
		mu.Lock()
		done++
		mu.Unlock()
		r.Log.Info("outcome",
			zap.String("principal_id", rec.PrincipalID), zap.String("source", rec.Source),
			zap.String("assignment_id", rec.AssignmentID), zap.String("status", string(rec.State)),
			zap.Int("attempts", rec.Attempts), zap.Int64("latency_ms", time.Since(began).Milliseconds()),
			zap.String("detail", rec.Detail))
	}

	var g errgroup.Group
	// A worker is taken before its task is chosen, so that the task is
	// one whose lane is not held (lanes.next).
	workers := make(chan struct{}, r.Concurrency)
	// No new work once ctx is done or requests can no longer be sent:
	// reqCtx carries the deadline on a timer of its own, which may fire
	// a moment before ctx's.
	stopped := func() bool { return runCtx.Err() != nil || reqCtx.Err() != nil }
	queue := newLanes(r.tasks(sources, pending))
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
			if stopped() {
				return nil
			}
			began := time.Now()
			if tk.batch != nil {
				as := make([]Assignment, len(tk.items))
				for i, it := range tk.items {
					as[i] = r.assignment(it)
				}
				results := tk.batch.RemoveBatch(reqCtx, as)
				for i, it := range tk.items {
					var res BatchResult
					if i < len(results) {
						res = results[i]
					} else {
						res.Err = errors.New("the source gave no answer for this removal")
					}
					// Only an assignment still unanswered when the run cut
					// the chunk off is unknown; the others were answered.
					if res.Err != nil && reqCtx.Err() != nil &&
						(errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, context.DeadlineExceeded)) {
						cutOff(it, res.Err)
						continue
					}
					record(it, settleResent(res.Outcome, res.Resent), res.Err, res.Attempts, began)
				}
				return nil
			}
			it := tk.items[0]
			actx, attempts := WithAttempts(reqCtx)
			out, err := tk.src.Remove(actx, r.assignment(it))
			if err != nil && reqCtx.Err() != nil {
				cutOff(it, err)
				return nil
			}
			record(it, settleResent(out, WasResentUnanswered(actx)), err, int(attempts.Load()), began)
			return nil
		})
	}
	_ = g.Wait()
	stop(nil)
	<-progressDone
	if journalE != nil {
		return fmt.Errorf("recording an outcome: %w", journalE)
	}
	return nil
}

// task is one worker's share of the removals: one item, or a chunk of
// items of a source that removes them in batches.
type task struct {
	src   Source
	batch BatchRemover // set for a chunk
	items []*Item
}

// lanes queues the tasks by lane (a source's Holder lane; a source
// without one is one lane), each in the plan's order.
type lanes struct {
	order []string // lanes in the order of their first task
	queue map[string][]task
	at    map[*Item]int // a task's place in the plan
	held  map[string]func() time.Time
}

func newLanes(tasks []task) *lanes {
	l := &lanes{queue: map[string][]task{}, at: map[*Item]int{}, held: map[string]func() time.Time{}}
	for i, tk := range tasks {
		key := tk.src.Name()
		if h, ok := tk.src.(Holder); ok && tk.batch == nil {
			lane := h.Lane(Assignment{Source: tk.items[0].Source, ID: tk.items[0].AssignmentID, Scope: tk.items[0].Scope})
			key += "\x00" + lane
			l.held[key] = func() time.Time { return h.HeldUntil(lane) }
		}
		if _, ok := l.queue[key]; !ok {
			l.order = append(l.order, key)
		}
		l.queue[key] = append(l.queue[key], tk)
		l.at[tk.items[0]] = i
	}
	return l
}

// next takes the first task in the plan's order whose lane is not held
// at now, or, when every lane with work is held, the first task: it waits
// in the pace, as it would have anyway. ok is false when none is left.
func (l *lanes) next(now time.Time) (task, bool) {
	best, bestFree := "", ""
	for _, key := range l.order {
		q := l.queue[key]
		if len(q) == 0 {
			continue
		}
		if best == "" || l.at[q[0].items[0]] < l.at[l.queue[best][0].items[0]] {
			best = key
		}
		free := l.held[key] == nil || !l.held[key]().After(now)
		if free && (bestFree == "" || l.at[q[0].items[0]] < l.at[l.queue[bestFree][0].items[0]]) {
			bestFree = key
		}
	}
	if bestFree != "" {
		best = bestFree
	}
	if best == "" {
		return task{}, false
	}
	tk := l.queue[best][0]
	l.queue[best] = l.queue[best][1:]
	return tk, true
}

// tasks splits the pending items into tasks, in the plan's order: an item
// of a source that batches joins that source's open chunk, which becomes a
// task when it is full (or at the end); any other item is a task alone.
func (r *Runner) tasks(sources map[string]Source, pending []*Item) []task {
	var out []task
	open := map[string]int{} // source → index in out of its open chunk
	for _, it := range pending {
		src := sources[it.Source]
		br, ok := src.(BatchRemover)
		if !ok || br.BatchSize() < 2 {
			out = append(out, task{src: src, items: []*Item{it}})
			continue
		}
		i, ok := open[it.Source]
		if !ok || len(out[i].items) >= br.BatchSize() {
			i = len(out)
			open[it.Source] = i
			out = append(out, task{src: src, batch: br})
		}
		out[i].items = append(out[i].items, it)
	}
	return out
}

// assignment is what a source needs to remove an item.
func (r *Runner) assignment(it *Item) Assignment {
	return Assignment{
		Source: it.Source, ID: it.AssignmentID, PrincipalID: it.PrincipalID,
		RoleDefinitionID: it.RoleDefinitionID, Scope: it.Scope, Raw: it.Raw,
		Justification: r.justification(it.Reference),
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

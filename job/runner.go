package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
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
	skip string   // "protected" or "self": listed but never touched
	keys []string // its mails and employee ids, gathered from its lines
	// Keys is keys, shared by the principal's items.
	Keys *[]string
	// byID: the line named it by object id alone (no key the directory
	// resolved), so nothing yet says the tenant has it.
	byID bool
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
	// Requests in flight get Grace to finish after ctx is done; new work
	// stops at once. WithoutCancel drops the deadline too: it is put back,
	// so that the transport can refuse waits that would end after it.
	reqCtx, cancelReqs := context.WithCancel(WithUnauthorized(context.WithoutCancel(ctx), r.refused))
	defer cancelReqs()
	if deadline, ok := ctx.Deadline(); ok {
		var cancelAtDeadline context.CancelFunc
		reqCtx, cancelAtDeadline = context.WithDeadline(reqCtx, deadline)
		defer cancelAtDeadline()
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
	defer stopGrace()

	p := &plan{runner: r, prev: map[Key]Item{}, relisted: map[Key]Item{}, items: map[Key]*Item{}, unavailable: &unavailableParts{log: r.Log}}
	// One log line per report row: the removals' as they arrive, the
	// others' once the rows are settled.
	logged := &rowLog{}
	defer func() { r.logRows(res.Items, logged) }()
	for _, it := range r.Previous {
		p.prev[it.Key()] = it
	}
	principals := p.admit(ctx, reqCtx, entries)
	p.find(ctx, reqCtx, principals)
	res = Result{}
	defer func() { res.Unavailable, res.NewNotFound = p.unavailable.parts(), p.newNotFound }()
	res.interrupted(ctx)
	if res.Interrupted {
		// Nothing was written yet: report what is known, plan nothing.
		res.Items = p.sorted()
		return res, nil
	}
	pending := p.pending()
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
		holdBack(pending, held)
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
		p.keepUnchanged()
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
	err = r.apply(ctx, reqCtx, pending, p.relisted, p.unavailable, logged)
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
	// relisted holds the earlier rows, done, of assignments listed again.
	relisted map[Key]Item
	mu       sync.Mutex
	items    map[Key]*Item
	// unavailable gathers the parts the services said cannot exist in
	// this tenant, from listings and from removals.
	unavailable *unavailableParts
	// newNotFound counts the not-found rows no earlier run reported.
	newNotFound int
}

// unavailableParts is the run's set of unavailable parts (see
// UnavailableError), each warned about once.
type unavailableParts struct {
	log *zap.Logger
	mu  sync.Mutex
	m   map[string]string
}

// note records an unavailable part; the first time, it logs one warning.
func (u *unavailableParts) note(ue *UnavailableError) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.m[ue.Part]; ok {
		return
	}
	if u.m == nil {
		u.m = map[string]string{}
	}
	u.m[ue.Part] = ue.Reason
	u.log.Warn("a part of a source is unavailable in this tenant: it is left out of this run",
		zap.String("part", ue.Part), zap.String("reason", ue.Reason))
}

// parts returns a copy of the set, nil when it is empty.
func (u *unavailableParts) parts() map[string]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m) == 0 {
		return nil
	}
	return maps.Clone(u.m)
}

// withoutUnavailable splits a Find's error into the UnavailableError it
// carries (nil when none) and what is left of it: the ListingErrors or
// other errors it was joined with, nil when there is nothing else.
func withoutUnavailable(err error) (*UnavailableError, error) {
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		return nil, err
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return ue, nil
	}
	var rest []error
	for _, e := range joined.Unwrap() {
		var other *UnavailableError
		if !errors.As(e, &other) {
			rest = append(rest, e)
		}
	}
	switch len(rest) {
	case 0:
		return ue, nil
	case 1:
		return ue, rest[0]
	}
	return ue, errors.Join(rest...)
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
	prev, seen := p.prev[k]
	if it.State == Failed || it.State == Invalid || it.State == NotFound {
		p.runner.observeItem(it)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if it.State == NotFound && (!seen || prev.State != NotFound) {
		p.newNotFound++
	}
	p.items[k] = &it
}

// keepUnchanged does for the rows a guard changed what put does: a row
// the guard left as the previous run's (skipped, with the same detail)
// keeps that row's time.
func (p *plan) keepUnchanged() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, it := range p.items {
		if prev, ok := p.prev[k]; ok && prev.State == it.State && prev.Detail == it.Detail {
			it.UpdatedAt = prev.UpdatedAt
			if it.Attempts == 0 {
				it.Attempts = prev.Attempts
			}
		}
	}
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
// rows, the keys of every line (UPN, mail, employee id) are resolved in one
// bulk lookup, a line whose keys disagree or match several users is
// refused, duplicates are merged.
func (p *plan) admit(ctx, reqCtx context.Context, entries []Entry) []*principal {
	active, deferred := p.triage(p.runner.reconcileDates(entries))
	answers := p.runner.resolve(ctx, reqCtx, active)
	byID, order := p.principals(active, answers)
	// A principal named on an active line is acted on even when another
	// line names it with a later date (reconcileDates warned of it); of
	// deferred lines naming one object id, the first is its row.
	putDeferred := map[string]bool{}
	for _, e := range deferred {
		if e.PrincipalID != "" && (byID[e.PrincipalID] != nil || putDeferred[e.PrincipalID]) {
			continue
		}
		if e.PrincipalID != "" {
			putDeferred[e.PrincipalID] = true
		}
		p.put(Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, State: Deferred, Line: e.Line,
			Detail: "effective " + e.EffectiveDate.Format(time.DateOnly)})
	}
	return order
}

// reconcileDates finds the lines that name one principal (by object id,
// else by UPN, as the file gives them) with different effective dates: a
// conflict HR's file should not hold, resolved in the departing
// principal's disfavour but never silently. It logs a warning naming
// every such line and its date, and returns the entries with each of them
// carrying the earliest date (no date: today) and every reference of
// them joined ("HR-1; HR-2"), so the principal is acted on as of the
// earlier date and the row keeps both references. entries is not changed.
func (r *Runner) reconcileDates(entries []Entry) []Entry {
	groups := map[string][]int{}
	var order []string
	for i, e := range entries {
		if e.Problem != "" {
			continue
		}
		var k string
		switch {
		case e.PrincipalID != "":
			k = "principal_id " + e.PrincipalID
		case e.UPN != "":
			k = "user_principal_name " + strings.ToLower(e.UPN)
		default:
			continue
		}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	var out []Entry
	for _, k := range order {
		idx := groups[k]
		dates := map[time.Time]bool{}
		for _, i := range idx {
			dates[entries[i].EffectiveDate] = true
		}
		if len(dates) < 2 {
			continue
		}
		if out == nil {
			out = slices.Clone(entries)
		}
		earliest := entries[idx[0]].EffectiveDate
		var lines []int
		var said, refs []string
		for _, i := range idx {
			e := entries[i]
			if e.EffectiveDate.Before(earliest) {
				earliest = e.EffectiveDate
			}
			lines = append(lines, e.Line)
			said = append(said, fmt.Sprintf("line %d: %s", e.Line, effectiveText(e.EffectiveDate)))
			if e.Reference != "" && !slices.Contains(refs, e.Reference) {
				refs = append(refs, e.Reference)
			}
		}
		ref := strings.Join(refs, "; ")
		for _, i := range idx {
			out[i].EffectiveDate, out[i].Reference = earliest, ref
		}
		if r.Log != nil {
			r.Log.Warn("the same principal is on several lines with different effective dates: the earlier applies, and the row keeps every reference",
				zap.String("principal", k), zap.Ints("lines", lines), zap.Strings("effective_dates", said),
				zap.String("kept", effectiveText(earliest)), zap.String("reference", ref))
		}
	}
	if out == nil {
		return entries
	}
	return out
}

// effectiveText is an effective date as a warning names it.
func effectiveText(d time.Time) string {
	if d.IsZero() {
		return "none (effective now)"
	}
	return d.Format(time.DateOnly)
}

// admitted is an active line on its way to a principal.
type admitted struct {
	e    Entry
	id   string
	upn  string   // the directory's UPN, for a line that gave none
	keys []string // the line's mail and employee id, for the journal
	// byKey: the directory resolved a key of the line to its id.
	byKey bool
}

// triage puts the rows of invalid lines and splits the others into those
// effective today and those deferred to a later date.
func (p *plan) triage(entries []Entry) (active []*admitted, deferred []Entry) {
	today := p.runner.Now().UTC().Truncate(24 * time.Hour)
	for _, e := range entries {
		switch {
		case e.Problem != "":
			p.put(Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, State: Invalid, Detail: e.Problem, Line: e.Line})
		case !e.EffectiveDate.IsZero() && e.EffectiveDate.After(today):
			deferred = append(deferred, e)
		default:
			active = append(active, &admitted{e: e, id: e.PrincipalID})
		}
	}
	return active, deferred
}

// resolve looks every key of every active line up, once, in one call: the
// directory groups them into as few requests as it can.
func (r *Runner) resolve(ctx, reqCtx context.Context, active []*admitted) map[UserKey]Resolution {
	var keys []UserKey
	asked := map[UserKey]bool{}
	for _, a := range active {
		if r.Directory == nil {
			break
		}
		for _, k := range entryKeys(a.e) {
			if !asked[k] {
				asked[k] = true
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 || ctx.Err() != nil {
		return nil
	}
	var resolved atomic.Int64
	endPhase := r.observePhase(PhaseResolving, len(keys), func() int { return int(resolved.Load()) })
	answers := r.Directory.Resolve(reqCtx, keys)
	resolved.Store(int64(len(keys)))
	endPhase()
	return answers
}

// knownKeys are the keys an earlier run resolved. They still name the same
// principal when the account has since been deleted (HR often deletes it
// next): UPNs from the rows, mails and employee ids from the keys the
// journal kept.
func knownKeys(previous []Item) map[string]DirectoryUser {
	known := map[string]DirectoryUser{}
	for _, it := range previous {
		if !IsGUID(it.PrincipalID) {
			continue
		}
		u := DirectoryUser{ID: it.PrincipalID, UPN: it.UPN}
		if it.UPN != "" {
			known[UserKey{Kind: KeyUPN, Value: it.UPN}.String()] = u
		}
		if it.Keys != nil {
			for _, k := range *it.Keys {
				known[k] = u
			}
		}
	}
	return known
}

// principals turns the active lines into principals, in the input's
// order: a line whose keys do not resolve is a row instead, and lines
// naming one principal are merged.
func (p *plan) principals(active []*admitted, answers map[UserKey]Resolution) (map[string]*principal, []*principal) {
	r := p.runner
	// A key nobody vouches for could send a departing line to someone
	// else's object id: unsigned rows resolve nothing.
	var known map[string]DirectoryUser
	if !r.PreviousUnsigned {
		known = knownKeys(r.Previous)
	}
	byID := map[string]*principal{}
	var order []*principal
	for _, a := range active {
		if ks := entryKeys(a.e); len(ks) > 0 && (r.Directory != nil || a.id == "") {
			id, upn, row := resolveEntry(a.e, ks, answers, known)
			if row != nil {
				if row.State == Failed {
					r.Log.Warn("resolving a line's keys failed", zap.Int("line", a.e.Line), zap.String("detail", row.Detail))
				}
				p.put(*row)
				continue
			}
			a.id, a.upn, a.byKey = id, upn, r.Directory != nil
			for _, k := range ks {
				if k.Kind != KeyUPN {
					a.keys = append(a.keys, k.String())
				}
			}
		}
		if pr, ok := byID[a.id]; ok {
			pr.byID = pr.byID && !a.byKey
			pr.UPN = cmp.Or(pr.UPN, cmp.Or(a.e.UPN, a.upn))
			pr.Reference = cmp.Or(pr.Reference, a.e.Reference)
			pr.Type = cmp.Or(pr.Type, a.e.Type)
			pr.keys = append(pr.keys, a.keys...)
			continue
		}
		pr := &principal{Principal: Principal{ID: a.id, UPN: cmp.Or(a.e.UPN, a.upn), Type: a.e.Type, Reference: a.e.Reference, Line: a.e.Line},
			keys: a.keys, byID: !a.byKey}
		switch {
		case r.Protect[a.id]:
			pr.skip = "protected"
		case r.SelfID != "" && a.id == r.SelfID:
			pr.skip = "self"
		}
		byID[a.id] = pr
		order = append(order, pr)
	}
	for _, pr := range order {
		if len(pr.keys) > 0 {
			slices.Sort(pr.keys)
			ks := slices.Compact(pr.keys)
			pr.Keys = &ks
		}
	}
	return byID, order
}

// entryKeys are the keys a line names a user by, besides its principal_id.
func entryKeys(e Entry) []UserKey {
	var ks []UserKey
	for _, k := range []UserKey{{KeyUPN, e.UPN}, {KeyMail, e.Mail}, {KeyEmployeeID, e.EmployeeID}} {
		if k.Value != "" {
			ks = append(ks, k)
		}
	}
	return ks
}

// resolveEntry turns the directory's answers for a line's keys into the
// line's object id and the directory's UPN, or into the row that reports
// why the line is not acted on: invalid when a key names several users,
// not the object the line's other keys name, or no user (unless an
// earlier run resolved it, or the line gives the object id: a deleted
// account); failed when a lookup failed or was never made.
func resolveEntry(e Entry, ks []UserKey, answers map[UserKey]Resolution, known map[string]DirectoryUser) (id, upn string, row *Item) {
	refuse := func(state State, format string, args ...any) (string, string, *Item) {
		return "", "", &Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, State: state, Line: e.Line,
			Detail: fmt.Sprintf("line %d: ", e.Line) + fmt.Sprintf(format, args...)}
	}
	type named struct {
		key string // how the detail names the key
		id  string
	}
	var names []named
	if e.PrincipalID != "" {
		names = append(names, named{"principal_id " + e.PrincipalID, e.PrincipalID})
	}
	var failure string
	for _, k := range ks {
		what := fmt.Sprintf("%s %q", k.Kind, k.Value)
		res, ok := answers[k]
		switch {
		case !ok:
			failure = cmp.Or(failure, fmt.Sprintf("interrupted before %s was resolved", k.Kind))
		case errors.Is(res.Err, ErrInvalidKey):
			return refuse(Invalid, "%s cannot be looked up: %v", what, res.Err)
		case res.Err != nil:
			failure = cmp.Or(failure, fmt.Sprintf("resolving %s: %v", k.Kind, res.Err))
		case len(res.Users) > 1:
			return refuse(Invalid, "%s matches %d users", what, len(res.Users))
		case len(res.Users) == 0:
			prev, ok := known[k.String()]
			if !ok && e.PrincipalID != "" {
				// The object id decides: an account already deleted
				// keeps its id and its leftover assignments, while its
				// UPN, mail and employee id name nobody any more.
				continue
			}
			if !ok {
				return refuse(NotFound, "%s names no user of the tenant", what)
			}
			names = append(names, named{what, prev.ID})
			upn = cmp.Or(upn, prev.UPN)
		case !IsGUID(res.Users[0].ID):
			failure = cmp.Or(failure, "the directory answered an id that is not a GUID")
		default:
			names = append(names, named{what, NormalizeGUID(res.Users[0].ID)})
			upn = cmp.Or(upn, res.Users[0].UPN)
		}
	}
	if failure != "" {
		return refuse(Failed, "%s", failure)
	}
	for _, n := range names[1:] {
		if n.id != names[0].id {
			return refuse(Invalid, "the keys name different objects: %s names %s, %s names %s", names[0].key, names[0].id, n.key, n.id)
		}
	}
	return names[0].id, upn, nil
}

// find lists every source for every principal and turns what it found,
// and what earlier runs recorded, into items.
func (p *plan) find(ctx, reqCtx context.Context, principals []*principal) {
	listings := p.runner.listings(principals)
	p.runner.list(ctx, reqCtx, listings)
	m := &merged{holds: map[string]int{}, interned: map[string]string{}, listedOK: map[[2]string]bool{}, seen: map[Key]bool{}}
	for _, l := range listings {
		p.merge(l, m)
		// The items hold what they need of it; at 100,000 assignments
		// the listing is worth dropping before the plan is copied.
		l.found = nil
	}
	p.carry(principals, m)
	p.noAssignments(principals, m.holds, p.runner.absent(reqCtx, principals, m.holds))
}

// absent asks the directory which of the principals named by object id
// alone that hold nothing the tenant does not have. A lookup that fails
// is logged and finds no one absent: they are no-assignments, as before.
func (r *Runner) absent(ctx context.Context, principals []*principal, holds map[string]int) map[string]bool {
	checker, ok := r.Directory.(ObjectChecker)
	if !r.FindMissing || !ok {
		return nil
	}
	var ids []string
	for _, pr := range principals {
		if pr.byID && pr.skip == "" && holds[pr.ID] == 0 {
			ids = append(ids, pr.ID)
		}
	}
	if len(ids) == 0 || ctx.Err() != nil {
		return nil
	}
	absent, err := checker.Absent(ctx, ids)
	if err != nil {
		r.Log.Warn("looking up the principals that hold nothing failed: they are reported no-assignments", zap.Int("principals", len(ids)), zap.Error(err))
		return nil
	}
	return absent
}

// listing is one Find: a source asked about a group of principals.
type listing struct {
	source Source
	group  []*principal
	found  []Assignment
	err    error
}

// listings are the Finds the run makes: per source, its principals in
// groups of the size it lists by.
func (r *Runner) listings(principals []*principal) []*listing {
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
	return listings
}

// list makes the Finds, at most Concurrency at a time, and says how far
// it got: listing thousands of principals takes minutes.
func (r *Runner) list(ctx, reqCtx context.Context, listings []*listing) {
	var listed atomic.Int64
	stopProgress := r.startProgress(ctx, "listing progress", len(listings), func() int { return int(listed.Load()) })
	defer stopProgress()
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
			if errors.Is(l.err, ErrUnauthorized) && r.refused != nil {
				r.refused(unauthorizedWhere(l.err))
			}
			return nil
		})
	}
	_ = g.Wait()
}

// merged is what merging the listings into the plan has learnt so far.
type merged struct {
	holds    map[string]int     // rows per principal id
	listedOK map[[2]string]bool // {principal id, source} listed in full
	seen     map[Key]bool       // assignments listed
	// Thousands of assignments share a handful of roles and scopes: one
	// copy of each string is kept, not one per item.
	interned map[string]string
}

func (m *merged) intern(s string) string {
	if v, ok := m.interned[s]; ok {
		return v
	}
	m.interned[s] = s
	return s
}

// merge puts one listing's rows into the plan: its failed principals,
// then what it found.
func (p *plan) merge(l *listing, m *merged) {
	name := l.source.Name()
	// An unavailable part has no rows; the rest of the source stands.
	// Nothing was listed of the part, and its earlier rows cannot be
	// told from the rest's: none of the source's is settled as gone on
	// this listing's word (an unconfirmed removal stays unconfirmed).
	ue, lerr := withoutUnavailable(l.err)
	unsettled := false
	if ue != nil {
		p.unavailable.note(ue)
		l.err, unsettled = lerr, true
	}
	failed := p.listingFailed(l, m, unsettled)
	members := map[string]*principal{}
	for _, pr := range l.group {
		members[pr.ID] = pr
	}
	// What a principal's own failed listing found (one half of a source
	// that lists two things, the pages before the one that failed) is held
	// all the same, and planned beside its failed row. A failure that is
	// not pinned on the principal (the group's request, a ListingErrors
	// naming none of it) leaves nothing of it standing.
	var named ListingErrors
	errors.As(l.err, &named)
	for _, a := range l.found {
		id := NormalizeGUID(a.PrincipalID)
		if _, ok := failed[id]; ok {
			if _, own := named[id]; !own {
				continue
			}
		}
		pr := members[id]
		if pr == nil {
			p.runner.Log.Warn("the service listed an assignment of a principal it was not asked about",
				zap.String("source", name), zap.String("assignment_id", a.ID))
			continue
		}
		p.found(l.source, pr, a, m)
	}
}

// listingFailed puts a failed row for each principal whose listing
// failed, and notes the others as listed in full (unless a part of the
// source was not listed: unsettled). It returns the failures by principal
// id.
func (p *plan) listingFailed(l *listing, m *merged, unsettled bool) map[string]error {
	name := l.source.Name()
	failed := listingFailures(l.err, l.group)
	for _, pr := range l.group {
		if err, ok := failed[pr.ID]; ok {
			p.put(Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, Source: name, State: Failed, Line: pr.Line, Keys: pr.Keys,
				Detail: "listing failed: " + err.Error()})
			m.holds[pr.ID]++
			continue
		}
		if !unsettled {
			m.listedOK[[2]string{pr.ID, name}] = true
		}
	}
	if len(failed) > 0 {
		p.runner.Log.Warn("listing failed", zap.String("source", name), zap.Int("principals", len(failed)), zap.Error(l.err))
	}
	return failed
}

// found puts the row of an assignment a source listed for a principal.
func (p *plan) found(src Source, pr *principal, a Assignment, m *merged) {
	name := src.Name()
	it := Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, Source: name, Kind: a.Kind, AssignmentID: a.ID, Keys: pr.Keys,
		RoleDefinitionID: m.intern(a.RoleDefinitionID), RoleName: m.intern(a.RoleName), Scope: m.intern(a.Scope), Detail: a.Note, Raw: a.Raw, Line: pr.Line}
	k := it.Key()
	if m.seen[k] {
		return
	}
	m.seen[k] = true
	m.holds[pr.ID]++
	if c, ok := src.(IDChecker); ok {
		if err := c.CheckID(a); err != nil {
			p.runner.Log.Warn(UnexpectedID, zap.String("source", name), zap.String("principal_id", pr.ID), zap.Error(err))
			it.State, it.Detail, it.Raw = Failed, UnexpectedID, nil
			p.put(it)
			return
		}
	}
	// The tenant beats the journal: an assignment listed again is
	// held, whatever an earlier row (or a forged one) says of it,
	// and planned again. Its row starts afresh, unless the removal
	// finds it gone (PIM lists revoked entries for a while): then
	// the earlier row stays as it was.
	if prev, ok := p.prev[k]; ok && prev.State.Done() {
		delete(p.prev, k)
		p.relisted[k] = prev
	}
	switch {
	case pr.skip != "":
		it.State, it.Detail = Skipped, pr.skip
	default:
		it.State = Planned
	}
	p.put(it)
}

// carry puts the rows of earlier runs whose assignment was not listed
// again.
func (p *plan) carry(principals []*principal, m *merged) {
	inRun := map[string]*principal{}
	for _, pr := range principals {
		inRun[pr.ID] = pr
	}
	for k, prev := range p.prev {
		if prev.AssignmentID == "" || m.seen[k] {
			continue
		}
		pr := inRun[prev.PrincipalID]
		if pr == nil || !m.listedOK[[2]string{prev.PrincipalID, prev.Source}] {
			// Not in this run, or its listing failed: what is done stays
			// done; the rest waits for a run that can list it.
			if prev.State.Done() {
				p.put(prev)
				if pr != nil {
					m.holds[pr.ID]++
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
			if p.runner.RemovedDetail != nil {
				it.Detail = JoinDetail(p.runner.RemovedDetail(it.PrincipalID), it.Detail)
			}
		case prev.State == Failed:
			it.State, it.Detail = AlreadyAbsent, "absent on rerun"
		default:
			// Planned in a dry run, or skipped: nothing was done and
			// nothing is there any more.
			continue
		}
		p.put(it)
		m.holds[pr.ID]++
	}
}

// noAssignments puts a row for each principal that holds nothing:
// not-found for one the tenant does not have (absent).
func (p *plan) noAssignments(principals []*principal, holds map[string]int, absent map[string]bool) {
	for _, pr := range principals {
		if holds[pr.ID] > 0 {
			continue
		}
		it := Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, State: NoAssignments, Line: pr.Line, Keys: pr.Keys}
		switch {
		case pr.skip != "":
			it.State, it.Detail = Skipped, pr.skip
		case absent[pr.ID]:
			it.State = NotFound
			it.Detail = fmt.Sprintf("line %d: principal_id %s names no user, service principal or group of the tenant, and holds nothing the sources list", pr.Line, pr.ID)
		}
		p.put(it)
	}
}

// apply removes the pending items, at most Concurrency at a time, recording
// each outcome as it arrives. It stops starting new removals when ctx is
// done or the journal fails.
func (r *Runner) apply(ctx, reqCtx context.Context, pending []*Item, relisted map[Key]Item, unavailable *unavailableParts, logged *rowLog) error {
	sources := map[string]Source{}
	for _, s := range r.Sources {
		sources[s.Name()] = s
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	a := &applying{runner: r, reqCtx: reqCtx, relisted: relisted, unavailable: unavailable, stop: stop, logged: logged}
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
	runner      *Runner
	reqCtx      context.Context
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
	a.record(it, settleResent(out, WasResentUnanswered(actx)), err, int(attempts.Load()), began)
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
		a.record(it, settleResent(res.Outcome, res.Resent), res.Err, res.Attempts, began)
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
	it.Detail = JoinDetail(it.Detail, "cut off in flight by the interruption: the rerun finds out whether it took effect")
	it.UpdatedAt = r.Now().UTC()
	a.done++
	a.mu.Unlock()
	r.Log.Warn(CutOff,
		zap.String("principal_id", it.PrincipalID), zap.String("source", it.Source),
		zap.String("assignment_id", it.AssignmentID), zap.Error(err))
}

// record journals one item's outcome and logs it; a journal that fails
// stops the run.
func (a *applying) record(it *Item, out Outcome, err error, attempts int, began time.Time) {
	r := a.runner
	if err != nil {
		if errors.Is(err, ErrUnauthorized) && r.refused != nil {
			r.refused(unauthorizedWhere(err))
		}
		out = Outcome{State: Failed, Detail: err.Error()}
		// A removal's fallback may learn that a part is unavailable
		// (directory's PIM way): the row stays failed, its detail
		// says why, and the summary names the part.
		if ue := (*UnavailableError)(nil); errors.As(err, &ue) {
			a.unavailable.note(ue)
		}
	}
	rec := a.settle(it, out, err, attempts)
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
	a.logged.mark(rec.Key())
}

// settle gives the item its outcome and returns a copy to record.
func (a *applying) settle(it *Item, out Outcome, err error, attempts int) Item {
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, ok := a.relisted[it.Key()]; ok && err == nil && (out.State == AlreadyAbsent || out.State == AlreadyPresent) {
		// Listed again, found gone: the earlier row stands.
		*it = prev
	} else {
		// The plan's detail says what the assignment is (a group's
		// name); the outcome's says what happened to it.
		it.State, it.Detail = out.State, JoinDetail(it.Detail, out.Detail)
		if out.State == Removed && a.runner.RemovedDetail != nil {
			it.Detail = JoinDetail(a.runner.RemovedDetail(it.PrincipalID), out.Detail)
		}
		it.Attempts = attempts
		it.UpdatedAt = a.runner.Now().UTC()
	}
	return *it
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
		Source: it.Source, Kind: it.Kind, ID: it.AssignmentID, PrincipalID: it.PrincipalID,
		RoleDefinitionID: it.RoleDefinitionID, RoleName: it.RoleName, Scope: it.Scope, Raw: it.Raw,
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

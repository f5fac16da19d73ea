package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Resolution: the input's entries admitted (dates reconciled, deferred
// ones set aside) and their keys resolved to principals.

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
		it := Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, Line: e.Line}
		p.runner.step(&it, NotYetEffective, Words{"date": e.EffectiveDate.Format(time.DateOnly)})
		p.put(it)
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
	// deleted: that id is a soft-deleted user's.
	deleted bool
}

// triage puts the rows of invalid lines and splits the others into those
// effective today and those deferred to a later date.
func (p *plan) triage(entries []Entry) (active []*admitted, deferred []Entry) {
	today := p.runner.Now().UTC().Truncate(24 * time.Hour)
	for _, e := range entries {
		switch {
		case e.Problem != "":
			it := Item{PrincipalID: e.PrincipalID, UPN: e.UPN, Reference: e.Reference, Line: e.Line}
			p.runner.step(&it, LineInvalid, Words{"problem": e.Problem})
			p.put(it)
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
	r.resolveDeleted(reqCtx, answers)
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
			u, refused, words := resolveEntry(a.e, ks, answers, known)
			if refused != "" {
				row := Item{PrincipalID: a.e.PrincipalID, UPN: a.e.UPN, Reference: a.e.Reference, Line: a.e.Line}
				r.step(&row, refused, words)
				if row.State == Failed {
					r.Log.Warn("resolving a line's keys failed", zap.Int("line", a.e.Line), zap.String("detail", row.Detail))
				}
				p.put(row)
				continue
			}
			a.id, a.upn, a.deleted, a.byKey = u.ID, u.UPN, u.Deleted, r.Directory != nil
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
			pr.deleted = pr.deleted || a.deleted
			continue
		}
		pr := &principal{Principal: Principal{ID: a.id, UPN: cmp.Or(a.e.UPN, a.upn), Type: a.e.Type, Reference: a.e.Reference, Line: a.e.Line},
			keys: a.keys, byID: !a.byKey, deleted: a.deleted}
		switch {
		case r.Protect[a.id]:
			pr.skip = HeldProtected
		case r.SelfID != "" && a.id == r.SelfID:
			pr.skip = HeldSelf
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
// line's object id, UPN and whether it is soft-deleted, or into the event
// (and its words) that makes the line's row say why it is not acted on:
// key-refused when a key names several users or not the object the line's
// other keys name; key-names-no-one when it names no user, live or
// soft-deleted (unless an earlier run resolved it, or the line gives the
// object id: a deleted account); resolve-failed when a lookup failed or
// was never made.
func resolveEntry(e Entry, ks []UserKey, answers map[UserKey]Resolution, known map[string]DirectoryUser) (u DirectoryUser, refused Event, w Words) {
	line := fmt.Sprint(e.Line)
	refuse := func(ev Event, word, format string, args ...any) (DirectoryUser, Event, Words) {
		return DirectoryUser{}, ev, Words{"line": line, word: fmt.Sprintf(format, args...)}
	}
	type named struct {
		key string // how the detail names the key
		id  string
	}
	var names []named
	if e.PrincipalID != "" {
		names = append(names, named{"principal_id " + e.PrincipalID, e.PrincipalID})
	}
	var failure, upn string
	deleted := false
	for _, k := range ks {
		what := fmt.Sprintf("%s %q", k.Kind, k.Value)
		res, ok := answers[k]
		switch {
		case !ok:
			failure = cmp.Or(failure, fmt.Sprintf("interrupted before %s was resolved", k.Kind))
		case errors.Is(res.Err, ErrInvalidKey):
			return refuse(KeyRefused, "why", "%s cannot be looked up: %v", what, res.Err)
		case res.Err != nil:
			failure = cmp.Or(failure, fmt.Sprintf("resolving %s: %v", k.Kind, res.Err))
		case len(res.Users) > 1:
			return refuse(KeyRefused, "why", "%s matches %d users", what, len(res.Users))
		case len(res.Users) == 0:
			prev, ok := known[k.String()]
			if !ok && e.PrincipalID != "" {
				// The object id decides: an account already deleted
				// keeps its id and its leftover assignments, while its
				// UPN, mail and employee id name nobody any more.
				continue
			}
			if !ok {
				_, ev, w := refuse(KeyNamesNoOne, "key", "%s", what)
				w["searched"] = deletedNote(res)
				return DirectoryUser{}, ev, w
			}
			names = append(names, named{what, prev.ID})
			upn = cmp.Or(upn, prev.UPN)
		case !IsGUID(res.Users[0].ID):
			failure = cmp.Or(failure, "the directory answered an id that is not a GUID")
		default:
			names = append(names, named{what, NormalizeGUID(res.Users[0].ID)})
			upn = cmp.Or(upn, res.Users[0].UPN)
			deleted = deleted || res.Users[0].Deleted
		}
	}
	if failure != "" {
		return refuse(ResolveFailed, "why", "%s", failure)
	}
	for _, n := range names[1:] {
		if n.id != names[0].id {
			return refuse(KeyRefused, "why", "the keys name different objects: %s names %s, %s names %s", names[0].key, names[0].id, n.key, n.id)
		}
	}
	return DirectoryUser{ID: names[0].id, UPN: upn, Deleted: deleted}, "", nil
}

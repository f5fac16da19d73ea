package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Listing and merging: what each source finds for each principal, merged
// into the plan with what a previous run recorded (rerun and carry).

// find lists every source for every principal and turns what it found,
// and what earlier runs recorded, into items.
func (p *plan) find(ctx, reqCtx context.Context, principals []*principal) {
	listings := p.runner.listings(principals)
	m := &merged{holds: map[string]int{}, interned: map[string]string{}, listedOK: map[[2]string]bool{}}
	p.runner.list(ctx, reqCtx, listings, func(l *listing) {
		p.merge(l, m)
		// The items hold what they need of it: what every listing found
		// and the items made of it are not held at once.
		l.found = nil
	})
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

// list makes the Finds, at most Concurrency at a time, says how far it
// got (listing thousands of principals takes minutes), and hands each
// listing to merge in the order of listings, one at a time, as soon as it
// and every one before it are done.
func (r *Runner) list(ctx, reqCtx context.Context, listings []*listing, merge func(*listing)) {
	var listed atomic.Int64
	stopProgress := r.startProgress(ctx, "listing progress", len(listings), func() int { return int(listed.Load()) })
	defer stopProgress()
	// A merge runs in the worker whose listing let it run (others that
	// finish meanwhile wait for it, holding their slots): merging is
	// quick beside a listing's round trips.
	order := &inOrder{done: make([]bool, len(listings)), each: func(i int) { merge(listings[i]) }}
	var g errgroup.Group
	g.SetLimit(r.Concurrency)
	for i, l := range listings {
		if ctx.Err() != nil {
			l.err = fmt.Errorf("interrupted before listing: %w", ctx.Err())
			order.finished(i)
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
			order.finished(i)
			return nil
		})
	}
	_ = g.Wait()
}

// inOrder runs each for 0, 1, 2, … in turn, each once it and every one
// before it have finished, one at a time, whatever order they finish in.
type inOrder struct {
	mu   sync.Mutex
	done []bool
	next int
	each func(i int)
}

func (o *inOrder) finished(i int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done[i] = true
	for o.next < len(o.done) && o.done[o.next] {
		o.each(o.next)
		o.next++
	}
}

// merged is what merging the listings into the plan has learnt so far.
type merged struct {
	holds    map[string]int     // rows per principal id
	listedOK map[[2]string]bool // {principal id, source} listed in full
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
			it := Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, Source: name, Line: pr.Line, Keys: pr.Keys}
			p.runner.step(&it, ListingFailed, Words{"error": err.Error()})
			p.put(it)
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
	if p.has(k) {
		return // listed twice
	}
	m.holds[pr.ID]++
	if c, ok := src.(IDChecker); ok {
		if err := c.CheckID(a); err != nil {
			p.runner.Log.Warn(UnexpectedID, zap.String("source", name), zap.String("principal_id", pr.ID), zap.Error(err))
			p.runner.step(&it, IDRefused, nil)
			it.Raw = nil
			p.put(it)
			return
		}
	}
	// The tenant beats the journal: an assignment listed again is
	// held, whatever an earlier row (or a forged one) says of it,
	// and planned again. Its row starts afresh, unless the removal
	// finds it gone (PIM lists revoked entries for a while): then
	// the earlier row stays as it was (relisted-found-absent).
	if prev, ok := p.prev[k]; ok && prev.State.Done() {
		delete(p.prev, k)
		p.relisted[k] = prev
	}
	if pr.skip != "" {
		p.runner.step(&it, Protected, Words{"reason": pr.skip})
	} else {
		p.runner.step(&it, Listed, nil)
	}
	p.put(it)
}

// carry puts the rows of earlier runs whose assignment was not listed
// again: listed-absent when its principal's listing was complete,
// not-listed otherwise (not in this run, or its listing failed). The
// table keeps what is done, confirms or settles what the tenant no longer
// holds, and drops the rest.
func (p *plan) carry(principals []*principal, m *merged) {
	inRun := map[string]*principal{}
	for _, pr := range principals {
		inRun[pr.ID] = pr
	}
	for k, prev := range p.prev {
		if prev.AssignmentID == "" || p.has(k) {
			continue
		}
		pr := inRun[prev.PrincipalID]
		it, ev := prev, ListedAbsent
		if pr == nil || !m.listedOK[[2]string{prev.PrincipalID, prev.Source}] {
			ev = NotListed
		}
		if !p.runner.step(&it, ev, p.runner.words(it.PrincipalID, nil)) || it.State == noRow {
			continue
		}
		p.put(it)
		if pr != nil {
			m.holds[pr.ID]++
		}
	}
}

// noAssignments puts a row for each principal that holds nothing:
// not-found for one the tenant does not have (absent).
func (p *plan) noAssignments(principals []*principal, holds map[string]int, absent map[string]bool) {
	for _, pr := range principals {
		if holds[pr.ID] > 0 {
			continue
		}
		it := Item{PrincipalID: pr.ID, UPN: pr.UPN, Reference: pr.Reference, Line: pr.Line, Keys: pr.Keys}
		switch {
		case pr.skip != "":
			p.runner.step(&it, Protected, Words{"reason": pr.skip})
		case absent[pr.ID]:
			p.runner.step(&it, NamesNoObject, Words{"line": fmt.Sprint(pr.Line), "id": pr.ID})
		case pr.deleted:
			p.runner.step(&it, DeletedHoldsNothing, nil)
		default:
			p.runner.step(&it, HoldsNothing, nil)
		}
		p.put(it)
	}
}

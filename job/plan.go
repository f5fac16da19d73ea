package job

import (
	"errors"
	"iter"
	"maps"
	"slices"
	"sync"

	"go.uber.org/zap"
)

// The plan: every row of a run by its key, and the parts of a service
// found unavailable.

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

// has reports whether the plan holds a row of k (for an assignment's key:
// whether it was listed).
func (p *plan) has(k Key) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.items[k]
	return ok
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

// each yields the items in report order, one copy at a time (as often as
// it is ranged over, sorted once): the plan is recorded from it without a
// second copy of every item beside the plan's.
func (p *plan) each() iter.Seq[Item] {
	list := p.list()
	return func(yield func(Item) bool) {
		for _, it := range list {
			if !yield(*it) {
				return
			}
		}
	}
}

// sorted hands the items over in report order, the plan's last use.
func (p *plan) sorted() []Item { return p.handOver(p.list()) }

// handOver copies list (the plan's items, as list returned them) out of
// the plan: each item is let go once copied, so that the copy does not
// double what the run holds, and the plan holds none after.
func (p *plan) handOver(list []*Item) []Item {
	clear(p.items)
	out := make([]Item, len(list))
	for i, it := range list {
		out[i], list[i] = *it, nil
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

package job

import "context"

// Admission is what resolving an input's lines comes to before anything
// is listed: the rows of the lines the run will not act on (invalid,
// not-found, failed lookups; deferred to a later date), how many
// principals it will act on, and how many of the not-found rows no
// earlier run into the report reported (the run exits 1 for those).
type Admission struct {
	Rows        []Item
	Principals  int
	NewNotFound int
}

// Admit is the first step of Run alone, with Run's own code: the lines'
// effective dates reconciled, their keys resolved among live and
// soft-deleted users (Directory, DeletedDirectory) and refused as Run
// refuses them, against Previous as Run reads it. It sends only reads
// and records nothing: `offboard check` counts with it the lines a run
// will report invalid or not-found. A principal_id is not looked up: the
// run does that only for a principal every source listed nothing for.
func (r *Runner) Admit(ctx context.Context, entries []Entry) Admission {
	r.defaults()
	p := newPlan(r)
	principals := p.admit(ctx, ctx, entries)
	return Admission{Rows: p.sorted(), Principals: len(principals), NewNotFound: p.newNotFound}
}

// newPlan is the plan of a run (or an admission) by r, holding r's
// previous rows.
func newPlan(r *Runner) *plan {
	p := &plan{runner: r, prev: map[Key]Item{}, relisted: map[Key]Item{}, items: map[Key]*Item{}, unavailable: &unavailableParts{log: r.Log}}
	for _, it := range r.Previous {
		p.prev[it.Key()] = it
	}
	return p
}

package job

import (
	"time"
)

// Lanes: the removals grouped per source and batch, taken in turn so that
// no source starves another.

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

package job

import (
	"context"
	"slices"
	"testing"
	"time"
)

// laneSource is a source of two lanes, "a" and "b", by the id's first
// letter; held says until when each is held.
type laneSource struct {
	held map[string]time.Time
}

func (laneSource) Name() string { return "azure" }
func (laneSource) Find(context.Context, []Principal) ([]Assignment, error) {
	return nil, nil
}
func (laneSource) Remove(context.Context, Assignment) (Outcome, error) { return Outcome{}, nil }
func (laneSource) Lane(a Assignment) string                            { return a.ID[:1] }
func (s laneSource) HeldUntil(lane string) time.Time                   { return s.held[lane] }

// A free worker takes the first task, in the plan's order, of a lane that
// is not held; when every lane is held, the first task all the same.
func TestLanesSkipAHeldLane(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src := laneSource{held: map[string]time.Time{}}
	var tasks []task
	for _, id := range []string{"a1", "a2", "b1", "a3", "b2"} {
		tasks = append(tasks, task{src: src, items: []*Item{{Source: "azure", AssignmentID: id}}})
	}
	order := func(l *lanes, n int) []string {
		var out []string
		for range n {
			tk, ok := l.next(now)
			if !ok {
				break
			}
			out = append(out, tk.items[0].AssignmentID)
		}
		return out
	}
	if got := order(newLanes(tasks), 6); !slices.Equal(got, []string{"a1", "a2", "b1", "a3", "b2"}) {
		t.Errorf("nothing held: %v, want the plan's order", got)
	}
	src.held["a"] = now.Add(time.Second)
	if got := order(newLanes(tasks), 6); !slices.Equal(got, []string{"b1", "b2", "a1", "a2", "a3"}) {
		t.Errorf("lane a held: %v, want b's first", got)
	}
	src.held["b"] = now.Add(time.Second)
	if got := order(newLanes(tasks), 6); !slices.Equal(got, []string{"a1", "a2", "b1", "a3", "b2"}) {
		t.Errorf("both held: %v, want the plan's order", got)
	}
}

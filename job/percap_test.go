package job

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOverCap(t *testing.T) {
	rows := func(pid string, n int) []*Item {
		var out []*Item
		for i := range n {
			out = append(out, &Item{PrincipalID: pid, Source: SourceDirectory, AssignmentID: fmt.Sprint(i), State: Planned})
		}
		return out
	}
	tests := []struct {
		name    string
		pending []*Item
		limit   int
		held    []string // principal ids held back, in order
		rest    int
	}{
		{"no cap", slices.Concat(rows(alice, 9), rows(bob, 1)), 0, nil, 10},
		{"at the cap goes ahead", slices.Concat(rows(alice, 3), rows(bob, 1)), 3, nil, 4},
		{"over the cap is held back", slices.Concat(rows(alice, 4), rows(bob, 2)), 3, []string{alice}, 2},
		{"several over", slices.Concat(rows(alice, 4), rows(bob, 5), rows(carol, 1)), 3, []string{alice, bob}, 1},
		{"everyone over", slices.Concat(rows(alice, 2), rows(bob, 2)), 1, []string{alice, bob}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held, rest := overCap(tt.pending, tt.limit)
			var ids []string
			for _, h := range held {
				ids = append(ids, h.PrincipalID)
				if h.Cap != tt.limit || h.Planned <= tt.limit {
					t.Errorf("%+v: planned and cap", h)
				}
			}
			if !slices.Equal(ids, tt.held) || rest != tt.rest {
				t.Errorf("held %v, rest %d; want %v, %d", ids, rest, tt.held, tt.rest)
			}
		})
	}
}

// One principal holding more than --max-removals-per-principal is held
// back (deferred, nothing sent) and the others are removed; exit 1, from
// the result's HeldBack, not from any row's detail.
func TestMaxRemovalsPerPrincipalHoldsBackOnlyTheOutlier(t *testing.T) {
	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("o%02d", i))
	}
	src := &fakeSource{held: map[string][]string{alice: slices.Clone(many), bob: {"b1", "b2"}}}
	rec := &fakeRecorder{}
	r := newRunner(src, rec, day1)
	r.MaxRemovals, r.MaxRemovalsPerPrincipal = 10, 5
	entries := []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: bob},
		{Line: 4, PrincipalID: carol, EffectiveDate: day1.AddDate(0, 0, 7).Truncate(24 * time.Hour)}}
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if res.Guard != "" || res.ExitCode() != 1 {
		t.Fatalf("guard %q exit %d, want no guard and exit 1", res.Guard, res.ExitCode())
	}
	if want := []HeldBack{{PrincipalID: alice, Planned: 12, Cap: 5}}; !slices.Equal(res.HeldBack, want) {
		t.Errorf("held back %+v, want %+v", res.HeldBack, want)
	}
	slices.Sort(src.removed)
	if !slices.Equal(src.removed, []string{"b1", "b2"}) {
		t.Errorf("removed %v, want only bob's", src.removed)
	}
	got := states(res.Items)
	for _, a := range many {
		if v := got[alice+"/directory/"+a]; v != "deferred held back: 12 planned removals exceed --max-removals-per-principal 5" {
			t.Errorf("%s: %q", a, v)
		}
	}
	if got[carol+"//"] != "deferred effective 2026-11-30" {
		t.Errorf("carol: %q", got[carol+"//"])
	}

	// The same cap again: held back again, nothing sent, the rows as
	// they were (the report is rewritten byte for byte).
	src.removed = nil
	r = newRunner(src, &fakeRecorder{}, day2)
	r.MaxRemovals, r.MaxRemovalsPerPrincipal, r.Previous = 10, 5, res.Items
	again, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	same := slices.EqualFunc(again.Items, res.Items, func(a, b Item) bool {
		return a.Key() == b.Key() && a.State == b.State && a.Detail == b.Detail && a.UpdatedAt.Equal(b.UpdatedAt)
	})
	if again.ExitCode() != 1 || len(again.HeldBack) != 1 || len(src.removed) != 0 || !same {
		t.Errorf("rerun with the same cap: exit %d, held %v, removed %v, rows the same %v", again.ExitCode(), again.HeldBack, src.removed, same)
	}

	// A higher cap: the rerun does them.
	r = newRunner(src, &fakeRecorder{}, day2)
	r.MaxRemovals, r.MaxRemovalsPerPrincipal, r.Previous = 20, 20, again.Items
	last, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if last.ExitCode() != 0 || len(last.HeldBack) != 0 || len(src.removed) != len(many) {
		t.Errorf("rerun with a higher cap: exit %d, held %v, removed %d of %d", last.ExitCode(), last.HeldBack, len(src.removed), len(many))
	}
	for k, v := range states(last.Items) {
		if k != carol+"//" && v != "removed " {
			t.Errorf("%s: %q, want removed", k, v)
		}
	}
}

// A plan too large without the held-back principals still stops
// everything, as --max-removals always did: no one is held back, every
// row stays planned, exit 3.
func TestMaxRemovalsStillStopsEverythingBesidesTheHeldBack(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1", "a2", "a3", "a4"}, bob: {"b1", "b2"}, carol: {"c1", "c2"}}}
	rec := &fakeRecorder{}
	r := newRunner(src, rec, day1)
	r.MaxRemovals, r.MaxRemovalsPerPrincipal = 3, 3
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: bob}, {Line: 4, PrincipalID: carol}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 3 || len(res.HeldBack) != 0 || len(src.removed) != 0 || rec.applying != 0 {
		t.Fatalf("exit %d, held %v, removed %v: want exit 3 and nothing done", res.ExitCode(), res.HeldBack, src.removed)
	}
	want := "the plan holds 4 removals, more than --max-removals 3 (not counting the removals of 1 principals over --max-removals-per-principal 3)"
	if res.Guard != want {
		t.Errorf("guard %q, want %q", res.Guard, want)
	}
	for _, it := range res.Items {
		if it.State != Planned {
			t.Errorf("%s: %s, want planned", it.AssignmentID, it.State)
		}
	}
}

// A held-back principal keeps what it holds: the last-Global-Administrator
// guard counts its assignment as staying, and lets the colleague's go.
func TestHeldBackAdminCountsAsStaying(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"ga-a", "x1", "x2"}, bob: {"ga-b"}}}
	r := newRunner(src, &fakeRecorder{}, day1)
	r.Sources = []Source{gaSource{src}}
	r.MaxRemovalsPerPrincipal = 2
	r.Guards = []Guard{LastGlobalAdmin{Admins: &fakeAdmins{holders: []AdminHolder{{AssignmentID: "ga-a", PrincipalID: alice}, {AssignmentID: "ga-b", PrincipalID: bob}}}}}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: bob}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.removed, []string{"ga-b"}) || res.ExitCode() != 1 {
		t.Errorf("removed %v, exit %d: the colleague's Global Administrator must go while the held-back one stays", src.removed, res.ExitCode())
	}
}

// gaSource lists the assignments whose id begins with "ga-" as Global
// Administrator ones.
type gaSource struct{ *fakeSource }

func (s gaSource) Find(ctx context.Context, ps []Principal) ([]Assignment, error) {
	as, err := s.fakeSource.Find(ctx, ps)
	for i := range as {
		if strings.HasPrefix(as[i].ID, "ga-") {
			as[i].RoleDefinitionID = GlobalAdministrator
		}
	}
	return as, err
}

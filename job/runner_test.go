package job

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"testing"
	"time"
)

const (
	alice = "11111111-1111-1111-1111-111111111111"
	bob   = "22222222-2222-2222-2222-222222222222"
	carol = "33333333-3333-3333-3333-333333333333"
	self  = "44444444-4444-4444-4444-444444444444"
	guard = "55555555-5555-5555-5555-555555555555"
)

// fakeSource holds assignments per principal and removes them on request.
type fakeSource struct {
	mu       sync.Mutex
	held     map[string][]string // principal → assignment ids
	removed  []string
	listed   [][]string
	failList map[string]bool
	failRm   map[string]error
	group    int
}

func (s *fakeSource) Name() string   { return "directory" }
func (s *fakeSource) GroupSize() int { return max(s.group, 1) }

func (s *fakeSource) Find(_ context.Context, ps []Principal) ([]Assignment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	var out []Assignment
	for _, p := range ps {
		ids = append(ids, p.ID)
		if s.failList[p.ID] {
			return nil, errors.New("HTTP 503 after 6 attempts")
		}
		for _, a := range s.held[p.ID] {
			out = append(out, Assignment{Source: "directory", ID: a, PrincipalID: p.ID, RoleDefinitionID: "role", Scope: "/"})
		}
	}
	s.listed = append(s.listed, ids)
	return out, nil
}

func (s *fakeSource) Remove(_ context.Context, a Assignment) (Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failRm[a.ID]; err != nil {
		return Outcome{}, err
	}
	s.removed = append(s.removed, a.ID)
	before := len(s.held[a.PrincipalID])
	s.held[a.PrincipalID] = slices.DeleteFunc(s.held[a.PrincipalID], func(id string) bool { return id == a.ID })
	if len(s.held[a.PrincipalID]) == before {
		return Outcome{State: AlreadyAbsent}, nil
	}
	return Outcome{State: Removed}, nil
}

type fakeDirectory map[string]string

func (d fakeDirectory) Resolve(_ context.Context, keys []UserKey) map[UserKey]Resolution {
	out := map[UserKey]Resolution{}
	for _, k := range keys {
		var res Resolution
		if id, ok := d[k.Value]; ok && k.Kind == KeyUPN {
			res.Users = []DirectoryUser{{ID: id, UPN: k.Value}}
		}
		out[k] = res
	}
	return out
}

type fakeRecorder struct {
	mu       sync.Mutex
	plans    int
	applying int
	outcomes []Item
}

func (r *fakeRecorder) Plan(iter.Seq[Item]) error { r.plans++; return nil }
func (r *fakeRecorder) Applying() error           { r.applying++; return nil }
func (r *fakeRecorder) Outcome(it Item) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, it)
	return nil
}

var (
	day1 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	day2 = day1.Add(24 * time.Hour)
)

func newRunner(src *fakeSource, rec *fakeRecorder, now time.Time) *Runner {
	return &Runner{
		Sources: []Source{src}, Directory: fakeDirectory{"alice@contoso.com": alice}, Recorder: rec,
		Now: func() time.Time { return now }, Concurrency: 4, MaxRemovals: 100,
		Protect: map[string]bool{guard: true}, SelfID: self,
	}
}

// states maps "principal/source/assignment" (or "line N" for rows without
// a principal) to "state detail".
func states(items []Item) map[string]string {
	out := map[string]string{}
	for _, it := range items {
		k := it.PrincipalID + "/" + it.Source + "/" + it.AssignmentID
		if it.PrincipalID == "" || it.State == Invalid {
			k = fmt.Sprintf("line %d", it.Line)
		}
		out[k] = string(it.State) + " " + it.Detail
	}
	return out
}

func TestRunOneOfEach(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1", "a2"}, self: {"s1"}, guard: {"g1"}}, group: 2}
	rec := &fakeRecorder{}
	entries := []Entry{
		{Line: 2, UPN: "alice@contoso.com"},
		{Line: 3, PrincipalID: alice}, // duplicate of line 2
		{Line: 4, PrincipalID: "x' or 1 eq 1", Problem: "line 4: principal_id is not a GUID"},
		{Line: 5, PrincipalID: bob, EffectiveDate: day1.AddDate(0, 0, 7).Truncate(24 * time.Hour)},
		{Line: 6, PrincipalID: carol},
		{Line: 7, PrincipalID: self},
		{Line: 8, PrincipalID: guard},
		{Line: 9, UPN: "nobody@contoso.com"},
	}
	res, err := newRunner(src, rec, day1).Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		alice + "/directory/a1": "removed ",
		alice + "/directory/a2": "removed ",
		"line 4":                "invalid line 4: principal_id is not a GUID",
		bob + "//":              "deferred effective 2026-11-30",
		carol + "//":            "no-assignments ",
		self + "/directory/s1":  "skipped self",
		guard + "/directory/g1": "skipped protected",
		"line 9":                `not-found line 9: user_principal_name "nobody@contoso.com" names no user of the tenant`,
	}
	got := states(res.Items)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}
	slices.Sort(src.removed)
	if !slices.Equal(src.removed, []string{"a1", "a2"}) {
		t.Errorf("removed %v, want only alice's", src.removed)
	}
	if res.ExitCode() != 1 {
		t.Errorf("exit %d, want 1 (invalid rows)", res.ExitCode())
	}
	for _, ids := range src.listed {
		if slices.Contains(ids, bob) {
			t.Error("a deferred principal was listed")
		}
	}
	if rec.plans != 1 || rec.applying != 1 || len(rec.outcomes) != 2 {
		t.Errorf("journal: %d plans, %d applying, %d outcomes", rec.plans, rec.applying, len(rec.outcomes))
	}
}

func TestRunGuardsAndDryRunWriteNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Runner)
		code  int
		guard bool
	}{
		{"max-removals", func(r *Runner) { r.MaxRemovals = 1 }, 3, true},
		{"dry run", func(r *Runner) { r.DryRun = true }, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{held: map[string][]string{alice: {"a1", "a2"}}}
			rec := &fakeRecorder{}
			r := newRunner(src, rec, day1)
			tc.setup(r)
			res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
			if err != nil {
				t.Fatal(err)
			}
			if len(src.removed) != 0 || rec.applying != 0 {
				t.Errorf("removed %v (applying %d), want nothing", src.removed, rec.applying)
			}
			if (res.Guard != "") != tc.guard || res.ExitCode() != tc.code {
				t.Errorf("guard %q exit %d", res.Guard, res.ExitCode())
			}
			for _, it := range res.Items {
				if it.State != Planned {
					t.Errorf("%s: %s, want planned", it.AssignmentID, it.State)
				}
			}
		})
	}
}

func TestRerun(t *testing.T) {
	removedAt := day1.Add(time.Minute)
	prev := []Item{
		{PrincipalID: alice, Source: "directory", AssignmentID: "done", State: Removed, UpdatedAt: removedAt, Attempts: 1},
		{PrincipalID: alice, Source: "directory", AssignmentID: "killed", State: Planned, Unconfirmed: true, UpdatedAt: day1},
		{PrincipalID: alice, Source: "directory", AssignmentID: "killed-still-there", State: Planned, Unconfirmed: true, UpdatedAt: day1},
		{PrincipalID: alice, Source: "directory", AssignmentID: "failed", State: Failed, Detail: "HTTP 403", UpdatedAt: day1},
		{PrincipalID: alice, Source: "directory", AssignmentID: "dry", State: Planned, UpdatedAt: day1},
		{PrincipalID: carol, Source: "directory", AssignmentID: "c1", State: Removed, UpdatedAt: removedAt},
		{PrincipalID: "", UPN: "gone@contoso.com", State: NoAssignments, UpdatedAt: day1, Line: 4},
	}
	// "done" is listed again although the earlier run recorded it
	// removed: the tenant beats the journal, it is removed again.
	src := &fakeSource{
		held:     map[string][]string{alice: {"done", "killed-still-there", "failed", "new"}},
		failList: map[string]bool{carol: true},
	}
	rec := &fakeRecorder{}
	r := newRunner(src, rec, day2)
	r.Previous = prev
	r.Directory = fakeDirectory{}
	// bob resolves through the previous run's rows: the account was deleted.
	r.Previous = append(r.Previous, Item{PrincipalID: bob, UPN: "bob@contoso.com", Source: "directory", AssignmentID: "b1", State: Removed, UpdatedAt: removedAt})
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: carol}, {Line: 5, UPN: "bob@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	want := map[string]string{
		alice + "/directory/done":               "removed ",
		alice + "/directory/killed":             "removed confirmed absent on rerun",
		alice + "/directory/killed-still-there": "removed ",
		alice + "/directory/failed":             "removed ",
		alice + "/directory/new":                "removed ",
		carol + "/directory/":                   "failed listing failed: HTTP 503 after 6 attempts",
		carol + "/directory/c1":                 "removed ",
		bob + "/directory/b1":                   "removed ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}
	slices.Sort(src.removed)
	if !slices.Equal(src.removed, []string{"done", "failed", "killed-still-there", "new"}) {
		t.Errorf("removed %v", src.removed)
	}
	for _, it := range res.Items {
		if it.AssignmentID == "b1" && !it.UpdatedAt.Equal(removedAt) {
			t.Errorf("a kept row's updated_at changed to %v", it.UpdatedAt)
		}
	}
}

func TestRerunOfACleanRunChangesNothing(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
	first, err := newRunner(src, &fakeRecorder{}, day1).Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: carol}})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(src, &fakeRecorder{}, day2)
	r.Previous = first.Items
	second, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: carol}})
	if err != nil {
		t.Fatal(err)
	}
	if len(src.removed) != 1 {
		t.Errorf("removals %v, want the first run's one", src.removed)
	}
	if !slices.EqualFunc(first.Items, second.Items, func(a, b Item) bool {
		return a.Key() == b.Key() && a.State == b.State && a.Detail == b.Detail && a.UpdatedAt.Equal(b.UpdatedAt) && a.Attempts == b.Attempts
	}) {
		t.Errorf("rerun changed the rows:\n%v\n%v", first.Items, second.Items)
	}
}

func TestRemoveErrorIsAFailedRowAndTheRestGoOn(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1", "a2", "a3"}}, failRm: map[string]error{"a2": errors.New("HTTP 403 Authorization_RequestDenied: no")}}
	res, err := newRunner(src, &fakeRecorder{}, day1).Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	if got[alice+"/directory/a2"] != "failed HTTP 403 Authorization_RequestDenied: no" || got[alice+"/directory/a1"] != "removed " || got[alice+"/directory/a3"] != "removed " {
		t.Errorf("rows %v", got)
	}
	if res.ExitCode() != 1 {
		t.Errorf("exit %d, want 1", res.ExitCode())
	}
}

func TestInterruptedBeforeApplyWritesNothing(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
	rec := &fakeRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := newRunner(src, rec, day1).Run(ctx, []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, UPN: "alice@contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 4 || len(src.removed) != 0 || rec.applying != 0 {
		t.Errorf("exit %d, removed %v", res.ExitCode(), src.removed)
	}
}

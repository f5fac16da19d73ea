package job

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestScheduleResume(t *testing.T) {
	now := day1
	tests := []struct {
		name       string
		in         Schedule
		want       Schedule
		detail     string // a substring; "" wants none
		wantExpire bool
	}{
		{"ahead: as it was", Schedule{Start: now.Add(time.Hour), End: now.Add(48 * time.Hour)},
			Schedule{Start: now.Add(time.Hour), End: now.Add(48 * time.Hour)}, "", false},
		{"started: from now to the same end", Schedule{Start: now.Add(-time.Hour), End: now.Add(48 * time.Hour)},
			Schedule{Start: now, End: now.Add(48 * time.Hour)}, "2026-11-23T01:00:00Z has passed", false},
		{"started, no end", Schedule{Start: now.Add(-time.Hour)}, Schedule{Start: now}, "has passed", false},
		{"no start recorded", Schedule{}, Schedule{Start: now}, "", false},
		{"ended", Schedule{Start: now.Add(-48 * time.Hour), End: now.Add(-time.Hour)}, Schedule{}, "", true},
		{"ends now", Schedule{Start: now.Add(-48 * time.Hour), End: now}, Schedule{}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, detail, err := tt.in.Resume(now.Add(300 * time.Millisecond))
			if tt.wantExpire {
				if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "ended at") {
					t.Fatalf("error %v, want ErrExpired saying when", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
				t.Errorf("schedule %+v, want %+v", got, tt.want)
			}
			if tt.detail == "" && detail != "" || !strings.Contains(detail, tt.detail) {
				t.Errorf("detail %q, want %q", detail, tt.detail)
			}
		})
	}
}

func TestSelectRemoved(t *testing.T) {
	items := []Item{
		{PrincipalID: alice, UPN: "Alice@contoso.com", Source: "directory", AssignmentID: "a1", State: Removed},
		{PrincipalID: alice, UPN: "Alice@contoso.com", Source: "directory", AssignmentID: "a2", State: AlreadyAbsent},
		{PrincipalID: alice, UPN: "Alice@contoso.com", Source: "pim", AssignmentID: "a3", State: Planned, Unconfirmed: true},
		{PrincipalID: alice, UPN: "Alice@contoso.com", Source: "groups", AssignmentID: "a4", State: Planned},
		{PrincipalID: bob, Source: "directory", AssignmentID: "b1", State: Removed},
		{PrincipalID: bob, Source: "directory", AssignmentID: "b2", State: Failed},
		{PrincipalID: carol, State: NoAssignments},
		{PrincipalID: guard, Source: "directory", AssignmentID: "g1", State: Skipped, Detail: "protected"},
		{PrincipalID: "x' or 1 eq 1", State: Invalid, Line: 4},
	}
	ids := func(sel []Item) []string {
		var out []string
		for _, it := range sel {
			out = append(out, it.AssignmentID)
		}
		return out
	}
	tests := []struct {
		names       []string
		want, wantU []string
	}{
		// a3's removal was never confirmed: it is not put back (issue 24).
		{nil, []string{"a1", "b1"}, nil},
		{[]string{"alice@CONTOSO.com"}, []string{"a1"}, nil},
		{[]string{strings.ToUpper(bob)}, []string{"b1"}, nil},
		{[]string{carol, guard}, nil, nil},
		{[]string{bob, "nobody@contoso.com", "x' or 1 eq 1"}, []string{"b1"}, []string{"nobody@contoso.com", "x' or 1 eq 1"}},
	}
	for _, tt := range tests {
		sel, unknown := SelectRemoved(items, tt.names)
		if !slices.Equal(ids(sel), tt.want) || !slices.Equal(unknown, tt.wantU) {
			t.Errorf("%v: selected %v unknown %v, want %v %v", tt.names, ids(sel), unknown, tt.want, tt.wantU)
		}
	}
	if got := ids(SelectUnconfirmed(items, nil)); !slices.Equal(got, []string{"a3"}) {
		t.Errorf("SelectUnconfirmed = %v, want [a3]", got)
	}
	if got := SelectUnconfirmed(items, []string{bob}); len(got) != 0 {
		t.Errorf("SelectUnconfirmed(bob) = %v, want none", ids(got))
	}
}

// fakeRestorer re-creates what it is asked to, answering AlreadyPresent
// for what it holds already.
type fakeRestorer struct {
	mu      sync.Mutex
	present map[string]bool
	fail    map[string]error
	sent    []Assignment
}

func (f *fakeRestorer) Restore(_ context.Context, a Assignment) (Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, a)
	if err := f.fail[a.ID]; err != nil {
		return Outcome{}, err
	}
	if f.present[a.ID] {
		return Outcome{State: AlreadyPresent, Detail: "HTTP 400 RoleAssignmentExists"}, nil
	}
	f.present[a.ID] = true
	return Outcome{State: Restored}, nil
}

func removedItems() []Item {
	return []Item{
		{PrincipalID: alice, UPN: "alice@contoso.com", Reference: "HR-1", Source: "directory", AssignmentID: "a1", RoleDefinitionID: "r1", Scope: "/", State: Removed, Raw: []byte(`{"id":"a1"}`), Line: 2},
		{PrincipalID: alice, UPN: "alice@contoso.com", Reference: "HR-1", Source: "pim", AssignmentID: "a2", State: Removed, Line: 2},
		{PrincipalID: bob, Source: "directory", AssignmentID: "b1", State: Removed, Line: 3},
	}
}

func newRestore(rec *fakeRecorder, restorers map[string]Restorer, prev []Item) *Restore {
	return &Restore{Restorers: restorers, Recorder: rec, Now: func() time.Time { return day2 },
		Concurrency: 2, MaxRestorations: 10, Previous: prev, RunID: "r-1"}
}

func TestRestoreRun(t *testing.T) {
	dir := &fakeRestorer{present: map[string]bool{"b1": true}}
	pim := &fakeRestorer{present: map[string]bool{}, fail: map[string]error{"a2": errors.New("its schedule ended at ...: schedule expired")}}
	rec := &fakeRecorder{}
	res, err := newRestore(rec, map[string]Restorer{"directory": dir, "pim": pim}, nil).Run(context.Background(), removedItems())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		alice + "/directory/a1": "restored ",
		alice + "/pim/a2":       "failed its schedule ended at ...: schedule expired",
		bob + "/directory/b1":   "already-present HTTP 400 RoleAssignmentExists",
	}
	if got := states(res.Items); !maps.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	if res.ExitCode() != 1 || rec.plans != 1 || rec.applying != 1 || len(rec.outcomes) != 3 {
		t.Errorf("exit %d, %d plans, %d applying, %d outcomes", res.ExitCode(), rec.plans, rec.applying, len(rec.outcomes))
	}
	a1 := dir.sent[slices.IndexFunc(dir.sent, func(a Assignment) bool { return a.ID == "a1" })]
	if a1.RoleDefinitionID != "r1" || a1.Scope != "/" || string(a1.Raw) != `{"id":"a1"}` || a1.Justification != "offboard restore r-1: HR-1" {
		t.Errorf("the restorer got %+v", a1)
	}
	for _, it := range res.Items {
		if it.UPN == "" && it.PrincipalID == alice || !it.UpdatedAt.Equal(day2) {
			t.Errorf("row %+v", it)
		}
	}
}

func TestRestoreRerunSendsNothingForWhatIsDone(t *testing.T) {
	restorer := &fakeRestorer{present: map[string]bool{}}
	prev := []Item{
		{PrincipalID: alice, UPN: "alice@contoso.com", Reference: "HR-1", Source: "directory", AssignmentID: "a1", State: Restored, UpdatedAt: day1, Attempts: 1},
		{PrincipalID: alice, Source: "pim", AssignmentID: "a2", State: AlreadyPresent, Detail: "HTTP 400", UpdatedAt: day1, Attempts: 1},
		// Started by a killed restore: the service has it now.
		{PrincipalID: bob, Source: "directory", AssignmentID: "b1", State: Planned, Unconfirmed: true, UpdatedAt: day1},
		// Of a principal not restored this time.
		{PrincipalID: carol, Source: "directory", AssignmentID: "c1", State: Restored, UpdatedAt: day1},
		{PrincipalID: carol, Source: "directory", AssignmentID: "c2", State: Failed, UpdatedAt: day1},
		// The run no longer reports it removed: dropped, not "absent".
		{PrincipalID: bob, Source: "directory", AssignmentID: "b9", State: Failed, UpdatedAt: day1},
	}
	restorer.present["b1"] = true
	rec := &fakeRecorder{}
	res, err := newRestore(rec, map[string]Restorer{"directory": restorer, "pim": restorer}, prev).Run(context.Background(), removedItems())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		alice + "/directory/a1": "restored ",
		alice + "/pim/a2":       "already-present HTTP 400",
		bob + "/directory/b1":   "restored confirmed present on rerun",
		carol + "/directory/c1": "restored ",
	}
	if got := states(res.Items); !maps.Equal(got, want) {
		t.Errorf("states %v, want %v", got, want)
	}
	if len(restorer.sent) != 1 || restorer.sent[0].ID != "b1" {
		t.Errorf("sent %v, want b1 only", restorer.sent)
	}
	for _, it := range res.Items {
		if it.AssignmentID != "b1" && !it.UpdatedAt.Equal(day1) {
			t.Errorf("a kept row was touched: %+v", it)
		}
	}
}

func TestRestoreGuardAndDryRun(t *testing.T) {
	for _, tt := range []struct {
		name      string
		max       int
		dryRun    bool
		wantGuard bool
	}{
		{"over the guard", 2, false, true},
		{"at the guard", 3, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			restorer := &fakeRestorer{present: map[string]bool{}}
			rec := &fakeRecorder{}
			r := newRestore(rec, map[string]Restorer{"directory": restorer, "pim": restorer}, nil)
			r.MaxRestorations, r.DryRun = tt.max, tt.dryRun
			res, err := r.Run(context.Background(), removedItems())
			if err != nil {
				t.Fatal(err)
			}
			if (res.Guard != "") != tt.wantGuard || tt.wantGuard && (res.ExitCode() != 3 || !strings.Contains(res.Guard, "3 restorations")) {
				t.Errorf("guard %q, exit %d", res.Guard, res.ExitCode())
			}
			if len(restorer.sent) != 0 || rec.applying != 0 || rec.plans != 1 {
				t.Errorf("sent %d, %d applying, %d plans", len(restorer.sent), rec.applying, rec.plans)
			}
			for _, it := range res.Items {
				if it.State != Planned {
					t.Errorf("row %+v, want planned", it)
				}
			}
		})
	}
}

func TestRestoreWithoutRestorerFailsTheRow(t *testing.T) {
	rec := &fakeRecorder{}
	items := []Item{{PrincipalID: alice, Source: "mailboxes", AssignmentID: "m1", State: Removed}}
	res, err := newRestore(rec, nil, nil).Run(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 1 || res.Items[0].State != Failed || !strings.Contains(res.Items[0].Detail, "cannot restore") {
		t.Errorf("items %+v", res.Items)
	}
}

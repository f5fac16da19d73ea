package job

import (
	"context"
	"slices"
	"testing"
)

// Issue 18, finding 2: an appended `removed` outcome in the journal made the
// next run report removed an assignment the tenant still held, and send
// nothing for it. The tenant beats the journal.
func TestAppendedRemovedOutcomeDoesNotHideAHeldAssignment(t *testing.T) {
	forged := Item{PrincipalID: alice, Source: "directory", AssignmentID: "still-held", State: Removed, UpdatedAt: day1, Attempts: 1}
	src := &fakeSource{held: map[string][]string{alice: {"still-held"}}}
	r := newRunner(src, &fakeRecorder{}, day2)
	r.Previous = []Item{forged}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.removed, []string{"still-held"}) {
		t.Errorf("removals sent %v, want the assignment the listing returned", src.removed)
	}
	if got := states(res.Items)[alice+"/directory/still-held"]; got != "removed " {
		t.Errorf("row %q, want removed", got)
	}
	for _, it := range res.Items {
		if it.AssignmentID == "still-held" && !it.UpdatedAt.Equal(day2) {
			t.Errorf("updated_at %v: the row kept the forged line's time", it.UpdatedAt)
		}
	}

	// In a dry run the held assignment is planned, not reported done.
	src = &fakeSource{held: map[string][]string{alice: {"still-held"}}}
	r = newRunner(src, &fakeRecorder{}, day2)
	r.Previous, r.DryRun = []Item{forged}, true
	res, err = r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if got := states(res.Items)[alice+"/directory/still-held"]; got != "planned " {
		t.Errorf("dry run row %q, want planned", got)
	}
}

// A rerun that no longer finds an assignment an earlier run removed keeps
// the earlier row as it was (the clean rerun stays byte-identical).
func TestRerunThatFindsItGoneKeepsTheEarlierRow(t *testing.T) {
	prev := Item{PrincipalID: alice, Source: "directory", AssignmentID: "gone", State: Removed, UpdatedAt: day1, Attempts: 2}
	src := &fakeSource{held: map[string][]string{}}
	r := newRunner(src, &fakeRecorder{}, day2)
	r.Previous = []Item{prev}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if len(src.removed) != 0 {
		t.Errorf("removals sent %v, want none", src.removed)
	}
	if len(res.Items) != 1 || res.Items[0].State != Removed || !res.Items[0].UpdatedAt.Equal(day1) || res.Items[0].Attempts != 2 {
		t.Errorf("rows %+v, want the earlier row as it was", res.Items)
	}
}

// lingering lists assignments that are gone (PIM lists revoked entries for
// a while): their removal answers already-absent.
type lingering struct {
	*fakeSource
	gone map[string]bool
}

func (s lingering) Remove(ctx context.Context, a Assignment) (Outcome, error) {
	if s.gone[a.ID] {
		s.mu.Lock()
		s.removed = append(s.removed, a.ID)
		s.mu.Unlock()
		return Outcome{State: AlreadyAbsent, Detail: "HTTP 400 RoleAssignmentDoesNotExist"}, nil
	}
	return s.fakeSource.Remove(ctx, a)
}

// An assignment listed again whose removal finds it gone keeps the earlier
// row, in the report and in the journal, so that the rerun is byte-identical.
func TestRelistedButGoneKeepsTheEarlierRow(t *testing.T) {
	prev := Item{PrincipalID: alice, Source: "directory", AssignmentID: "revoked", RoleDefinitionID: "role", Scope: "/",
		State: Removed, Detail: "eligible", UpdatedAt: day1, Attempts: 1, Line: 2}
	src := lingering{&fakeSource{held: map[string][]string{alice: {"revoked"}}}, map[string]bool{"revoked": true}}
	rec := &fakeRecorder{}
	r := newRunner(src.fakeSource, rec, day2)
	r.Sources = []Source{src}
	r.Previous = []Item{prev}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.removed, []string{"revoked"}) {
		t.Errorf("removals sent %v, want the listed one", src.removed)
	}
	if len(res.Items) != 1 || !sameRow(res.Items[0], prev) {
		t.Errorf("rows %+v, want the earlier row %+v", res.Items, prev)
	}
	if len(rec.outcomes) != 1 || !sameRow(rec.outcomes[0], prev) {
		t.Errorf("journaled %+v, want the earlier row", rec.outcomes)
	}
}

func sameRow(a, b Item) bool {
	return a.Key() == b.Key() && a.State == b.State && a.Detail == b.Detail && a.Attempts == b.Attempts && a.UpdatedAt.Equal(b.UpdatedAt)
}

// A journal line nobody vouches for (no MAC) names bob beside a leaver's
// UPN that no longer resolves (HR deleted the account): it must not send
// the leaver's line to bob. A signed journal's keys still resolve.
func TestUnsignedPreviousResolvesNoKey(t *testing.T) {
	for _, unsigned := range []bool{true, false} {
		src := &fakeSource{held: map[string][]string{bob: {"ceo-ga"}}}
		r := newRunner(src, &fakeRecorder{}, day1)
		r.Previous = []Item{{PrincipalID: bob, UPN: "leaver@contoso.com", Source: "directory", AssignmentID: "old", State: Removed}}
		r.PreviousUnsigned = unsigned
		res, err := r.Run(context.Background(), []Entry{{Line: 2, UPN: "leaver@contoso.com"}})
		if err != nil {
			t.Fatal(err)
		}
		removed := !slices.Contains(src.held[bob], "ceo-ga")
		if unsigned && removed {
			t.Errorf("an unsigned journal line sent the leaver's line to bob: %v", states(res.Items))
		}
		if !unsigned && !removed {
			t.Errorf("a signed journal's UPN no longer resolves after the account is deleted: %v", states(res.Items))
		}
	}
}

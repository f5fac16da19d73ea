package job

import (
	"context"
	"testing"
)

// skipAll is a guard that skips every planned row, as a source's guard
// skips a group's last owner.
type skipAll struct{}

func (skipAll) Check(_ context.Context, items []*Item) (string, error) {
	for _, it := range items {
		if it.State == Planned {
			it.State, it.Detail = Skipped, "last-owner"
		}
	}
	return "", nil
}

// A row a guard skips again on the rerun, for the same reason, keeps the
// first run's time: the rerun rewrites the report byte for byte.
func TestGuardSkippedRowKeepsItsTimeOnRerun(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
	r := newRunner(src, &fakeRecorder{}, day1)
	r.Guards = []Guard{skipAll{}}
	first, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	r = newRunner(src, &fakeRecorder{}, day2)
	r.Guards = []Guard{skipAll{}}
	r.Previous = first.Items
	second, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Items) != 1 || second.Items[0].State != Skipped || !second.Items[0].UpdatedAt.Equal(day1) {
		t.Errorf("rerun rows %+v, want the skipped row of %v", second.Items, day1)
	}
}

// A group's last member who holds its membership through an active PIM
// for Groups assignment as well loses it by either removal: both are
// skipped when the group holds the tenant's last Global Administrator.
func TestLastGlobalAdminCountsActiveGroupMembers(t *testing.T) {
	const grp = "66666666-6666-6666-6666-666666666666"
	admins := &fakeAdmins{holders: []AdminHolder{{AssignmentID: "g", PrincipalID: grp, Group: true, Members: []string{bob}}}}
	items := []*Item{membership(bob, grp), groupRow(bob, grp, KindGroupActiveMember), groupRow(bob, grp, KindGroupOwner)}
	if _, err := (LastGlobalAdmin{Admins: admins}).Check(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	if items[0].State != Skipped || items[1].State != Skipped || items[2].State != Planned {
		t.Errorf("states %s %s %s, want the membership and the active assignment skipped, the ownership planned",
			items[0].State, items[1].State, items[2].State)
	}
}

package job

import (
	"context"
	"errors"
	"testing"
)

type fakeAdmins struct {
	holders []AdminHolder
	err     error
	calls   int
}

func (f *fakeAdmins) GlobalAdmins(context.Context) ([]AdminHolder, error) {
	f.calls++
	return f.holders, f.err
}

func ga(pid, id string) *Item {
	return &Item{PrincipalID: pid, Source: SourceDirectory, Kind: KindDirectoryRole, AssignmentID: id, RoleDefinitionID: GlobalAdministrator, State: Planned}
}

func membership(pid, group string) *Item { return groupRow(pid, group, KindGroupMember) }

// groupRow is a planned row of the groups source: kind of access to group.
func groupRow(pid, group, kind string) *Item {
	return &Item{PrincipalID: pid, Source: SourceGroups, Kind: kind, AssignmentID: group + "/" + kind, Scope: GroupScope(group), State: Planned}
}

func TestLastGlobalAdmin(t *testing.T) {
	const grp = "66666666-6666-6666-6666-666666666666"
	tests := []struct {
		name    string
		holders []AdminHolder
		items   []*Item
		skipped []int // indexes of items the guard must skip
		listed  bool
	}{
		{
			name:    "another admin stays",
			holders: []AdminHolder{{AssignmentID: "a", PrincipalID: alice}, {AssignmentID: "b", PrincipalID: bob}},
			items:   []*Item{ga(alice, "a")},
			listed:  true,
		},
		{
			name:    "every admin leaves",
			holders: []AdminHolder{{AssignmentID: "a", PrincipalID: alice}, {AssignmentID: "b", PrincipalID: bob}},
			items:   []*Item{ga(alice, "a"), ga(bob, "b"), {PrincipalID: bob, Source: SourceDirectory, Kind: KindDirectoryRole, AssignmentID: "c", RoleDefinitionID: "other", State: Planned}},
			skipped: []int{0, 1},
			listed:  true,
		},
		{
			name: "a group keeps a member",
			holders: []AdminHolder{{AssignmentID: "a", PrincipalID: alice},
				{AssignmentID: "g", PrincipalID: grp, Group: true, Members: []string{bob, carol}}},
			items:  []*Item{ga(alice, "a"), membership(bob, grp)},
			listed: true,
		},
		{
			name: "the group's last member leaves too",
			holders: []AdminHolder{{AssignmentID: "a", PrincipalID: alice},
				{AssignmentID: "g", PrincipalID: grp, Group: true, Members: []string{bob}}},
			items:   []*Item{ga(alice, "a"), membership(bob, grp)},
			skipped: []int{0, 1},
			listed:  true,
		},
		{
			name: "an empty group holds nothing",
			holders: []AdminHolder{{AssignmentID: "a", PrincipalID: alice},
				{AssignmentID: "g", PrincipalID: grp, Group: true}},
			items:   []*Item{ga(alice, "a")},
			skipped: []int{0},
			listed:  true,
		},
		{
			name:    "nothing relevant planned: no request",
			holders: []AdminHolder{{AssignmentID: "a", PrincipalID: alice}},
			items:   []*Item{{PrincipalID: alice, Source: SourceDirectory, Kind: KindDirectoryRole, AssignmentID: "x", RoleDefinitionID: "other", State: Planned}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admins := &fakeAdmins{holders: tt.holders}
			stop, err := LastGlobalAdmin{Admins: admins}.Check(context.Background(), tt.items)
			if err != nil || stop != "" {
				t.Fatalf("Check = %q, %v", stop, err)
			}
			want := map[int]bool{}
			for _, i := range tt.skipped {
				want[i] = true
			}
			for i, it := range tt.items {
				skipped := it.State == Skipped && it.Detail == "last-global-admin"
				if skipped != want[i] {
					t.Errorf("item %d (%s): %s %q", i, it.AssignmentID, it.State, it.Detail)
				}
			}
			if (admins.calls > 0) != tt.listed {
				t.Errorf("listed the admins %d times", admins.calls)
			}
		})
	}
}

func TestLastGlobalAdminUnknownStopsTheRun(t *testing.T) {
	src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
	r := newRunner(src, &fakeRecorder{}, day1)
	r.Guards = []Guard{LastGlobalAdmin{Admins: &fakeAdmins{err: errors.New("HTTP 403")}}}
	// fakeSource lists role "role"; make it a group membership so the
	// guard has to look.
	r.Sources = []Source{groupsSource{src}}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 3 || len(src.removed) != 0 {
		t.Errorf("exit %d, removed %v: a guard that cannot be checked must stop the run", res.ExitCode(), src.removed)
	}
}

type groupsSource struct{ *fakeSource }

func (groupsSource) Name() string { return SourceGroups }

func (s groupsSource) Find(ctx context.Context, ps []Principal) ([]Assignment, error) {
	as, err := s.fakeSource.Find(ctx, ps)
	for i := range as {
		as[i].Source, as[i].Kind, as[i].Scope = SourceGroups, KindGroupMember, GroupScope(as[i].ID)
	}
	return as, err
}

package simtenant

import (
	"slices"
	"testing"
)

// The generated estate holds a security group with an Azure role and a
// departing user in it.
func TestGenerateARMGroupHolder(t *testing.T) {
	tn, s, departing, staying := armGenerated(7)
	if s.GroupHolder == "" || s.GroupMember != departing[0] {
		t.Fatalf("group holder %q, member %q, want departing[0] %q", s.GroupHolder, s.GroupMember, departing[0])
	}
	i := slices.IndexFunc(tn.Groups(), func(g Group) bool { return g.ID == s.GroupHolder })
	if i < 0 || tn.Groups()[i].IsAssignableToRole {
		t.Fatalf("the group holder is not a plain group: %d", i)
	}
	a, ok := tn.ARMRoleAssignment(s.GroupAssignment)
	if !ok || a.PrincipalID != s.GroupHolder || a.PrincipalType != "Group" || a.Scope != s.Scopes[0] || !slices.Contains(s.Remaining, a.ID) {
		t.Fatalf("the group's assignment %+v", a)
	}
	if got := tn.Members(s.GroupHolder); !slices.Contains(got, s.GroupMember) || !slices.Contains(got, staying[len(staying)-1]) {
		t.Fatalf("members %v", got)
	}
}

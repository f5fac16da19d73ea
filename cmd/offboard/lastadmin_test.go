package main

// The last Global Administrator guard, end to end, where
// TestLastGlobalAdministratorGuard does not reach: a group that holds the
// role losing its last member, an eligible (not active) Global
// Administrator, and holders that cannot be listed.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// globalAdmin adds a user holding Global Administrator directly.
func (tn *tenant) globalAdmin(upn string) (user, assignment string) {
	id, _ := tn.user(upn, 0)
	a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: id, RoleDefinitionID: simtenant.GlobalAdministrator})
	return id, a.ID
}

func TestLastGlobalAdministratorGuardEdges(t *testing.T) {
	t.Parallel()
	t.Run("the group's last member leaves", func(t *testing.T) {
		tn := startTenant(t, simtenant.Config{Seed: 171})
		u, a := tn.globalAdmin("one@contoso.com")
		grp := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
		tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: grp.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
		member, _ := tn.user("member@contoso.com", 0)
		if err := tn.AddMember(grp.ID, member); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", u, member), "--report", dir,
			"--sources", "directory,groups"), 0)
		rows := readReport(t, dir)
		var ga, membership row
		for _, r := range rows {
			switch {
			case r["assignment_id"] == a:
				ga = r
			case r["principal_id"] == member && r["source"] == "groups" && r["assignment_id"] == grp.ID:
				membership = r
			}
		}
		for name, r := range map[string]row{"the user's Global Administrator": ga, "the last member's membership": membership} {
			if r["status"] != "skipped" || r["detail"] != "last-global-admin" {
				t.Errorf("%s: %v, want skipped last-global-admin", name, r)
			}
		}
		if w := tn.writes(); len(w) != 0 {
			t.Errorf("sent %d writes, the first %s %s", len(w), w[0].Method, w[0].Path)
		}
		if _, ok := tn.RoleAssignment(a); !ok || len(tn.MemberOf(member)) != 1 {
			t.Error("the last way to Global Administrator was removed")
		}
	})

	t.Run("an eligible Global Administrator is not counted", func(t *testing.T) {
		tn := startTenant(t, simtenant.Config{Seed: 172})
		u1, a1 := tn.globalAdmin("one@contoso.com")
		u2, a2 := tn.globalAdmin("two@contoso.com")
		// Someone who stays may activate Global Administrator, but holds
		// no active assignment: the tenant would be left without one.
		stays, _ := tn.user("eligible@contoso.com", 0)
		tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: stays, RoleDefinitionID: simtenant.GlobalAdministrator})
		dir := t.TempDir()
		wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", u1, u2), "--report", dir), 0)
		got := byAssignment(readReport(t, dir))
		for _, a := range []string{a1, a2} {
			if got[a]["status"] != "skipped" || got[a]["detail"] != "last-global-admin" {
				t.Errorf("GA row %v, want skipped last-global-admin", got[a])
			}
			if _, ok := tn.RoleAssignment(a); !ok {
				t.Errorf("the last active Global Administrator assignment %s was removed", a)
			}
		}
		if w := tn.writes(); len(w) != 0 {
			t.Errorf("sent %d writes, the first %s %s", len(w), w[0].Method, w[0].Path)
		}
	})

	t.Run("holders cannot be listed", func(t *testing.T) {
		tn := startTenant(t, simtenant.Config{Seed: 173})
		u, a := tn.globalAdmin("one@contoso.com")
		other, otherIDs := tn.user("other@contoso.com", 2)
		tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/roleManagement/directory/roleAssignments",
			QueryContains: "roleDefinitionId", Status: http.StatusForbidden})
		dir := t.TempDir()
		r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", u, other), "--report", dir)
		wantCode(t, r, 3)
		if w := tn.writes(); len(w) != 0 {
			t.Errorf("sent %d writes, the first %s %s", len(w), w[0].Method, w[0].Path)
		}
		listed := false
		for _, req := range tn.Requests() {
			listed = listed || strings.Contains(req.RawQuery, "roleDefinitionId") && req.Status == http.StatusForbidden
		}
		if !listed {
			t.Error("the guard's listing was never refused: the case did not happen")
		}
		s := readSummary(t, dir)
		if s.ExitCode != 3 || !strings.Contains(s.Guard, "could not be checked") || s.Counts["planned"] != 1+len(otherIDs) {
			t.Errorf("summary %+v", s)
		}
		if _, ok := tn.RoleAssignment(a); !ok || len(tn.RoleAssignmentsOf(other)) != len(otherIDs) {
			t.Error("an assignment was removed")
		}
	})
}

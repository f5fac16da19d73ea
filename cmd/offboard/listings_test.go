package main

// End-to-end tests of the listings the real services allow an application
// identity (issue 26): a user's ownedObjects is not one of them, getByIds
// and a user's memberOf need Directory.Read.All, a mail-enabled group is
// Exchange's, `in` on employeeId may be refused; and `offboard check`
// knowing every permission a run needs.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// requestsTo counts the requests whose path ends with suffix (any case)
// and that the tenant answered status (0: any).
func requestsTo(tn *simtenant.Tenant, suffix string, status int) int {
	n := 0
	for _, r := range tn.Requests() {
		if strings.HasSuffix(strings.ToLower(r.Path), strings.ToLower(suffix)) && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// A run of few principals in a tenant of many role-assignable groups
// lists each principal's access, and the ownerships of a user come from
// the groups' owners: GET /users/{id}/ownedObjects is "Application: Not
// supported" (the tenant refuses it). Without Directory.Read.All, which
// getByIds and a user's memberOf need, the groups are listed instead:
// no row fails for it.
func TestOwnershipsWithoutUsersOwnedObjects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		deny []string
	}{{"with Directory.Read.All", nil}, {"without Directory.Read.All", []string{simtenant.PermDirectoryRead}}} {
		t.Run(tt.name, func(t *testing.T) {
			tn := startTenant(t, simtenant.Config{Seed: 261, Deny: tt.deny})
			ann, _ := tn.user("ann@contoso.com", 0)
			stays, _ := tn.user("stays@contoso.com", 0)
			tier0 := tn.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
			alone := tn.AddGroup(simtenant.Group{DisplayName: "Ann's Own", IsAssignableToRole: true})
			for range 40 {
				tn.AddGroup(simtenant.Group{DisplayName: "Other Admins", IsAssignableToRole: true})
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(tn.AddMember(tier0.ID, ann))
			must(tn.AddOwner(tier0.ID, ann))
			must(tn.AddOwner(tier0.ID, stays))
			must(tn.AddOwner(alone.ID, ann))
			tn.ResetRequests()
			dir := t.TempDir()
			r := tn.offboard(t, []string{"OFFBOARD_LOG_FORMAT=json"}, "run", "--input", writeCSV(t, "principal_id", ann),
				"--report", dir, "--sources", "groups")
			wantCode(t, r, 0)
			rows := byAssignment(readReport(t, dir))
			for id, want := range map[string][2]string{
				tier0.ID:            {"removed", ""},
				tier0.ID + "/owner": {"removed", ""},
				alone.ID + "/owner": {"skipped", "last-owner"},
			} {
				if got := rows[id]; got["status"] != want[0] || (want[1] != "" && got["detail"] != want[1]) {
					t.Errorf("row %s: %v, want %v", id, got, want)
				}
			}
			if len(rows) != 3 {
				t.Errorf("%d rows, want 3: %v", len(rows), rows)
			}
			if n := requestsTo(tn.Tenant, "/getByIds", 0); n == 0 {
				t.Error("no getByIds: the run did not list by principal")
			}
			for _, q := range tn.Requests() {
				if strings.Contains(strings.ToLower(q.Path), "/users/") && strings.HasSuffix(strings.ToLower(q.Path), "/ownedobjects") {
					t.Errorf("asked for %s", q.Path)
				}
			}
			if got := tn.Owners(tier0.ID); !slices.Equal(got, []string{stays}) {
				t.Errorf("Tier0's owners %v, want %s alone", got, stays)
			}
			refused := countLines(r.stderr, `"level":"warn"`, "Graph refused listing group access by principal")
			if want := len(tt.deny); refused != want {
				t.Errorf("%d warnings of the fallback, want %d:\n%s", refused, want, r.stderr)
			}
		})
	}
}

// A mail-enabled security group or a distribution list holding an Azure
// role is Exchange's to change: its membership row is skipped, the
// detail naming Exchange Online, and nothing is sent; a Microsoft 365
// group's membership is removed. The same when the memberships are
// listed by principal and Graph refuses that (no Directory.Read.All).
func TestExchangeManagedGroupsAreSkipped(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		more int
		deny []string
	}{{"by group", 0, nil}, {"by principal without Directory.Read.All", 40, []string{simtenant.PermDirectoryRead}}} {
		t.Run(tt.name, func(t *testing.T) {
			a := startAzureTenant(t, simtenant.Config{Seed: 262, Deny: tt.deny})
			ann, _ := a.user("ann@contoso.com", 0)
			mailSec := a.AddGroup(simtenant.Group{DisplayName: "Sub Readers Mail", Mail: simtenant.MailSecurity})
			list := a.AddGroup(simtenant.Group{DisplayName: "Sub Readers List", Mail: simtenant.MailDistribution})
			m365 := a.AddGroup(simtenant.Group{DisplayName: "Sub Team", Mail: simtenant.MailUnified})
			for _, g := range []string{mailSec.ID, list.ID, m365.ID} {
				if err := a.AddMember(g, ann); err != nil {
					t.Fatal(err)
				}
				a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: g, PrincipalType: "Group", Scope: a.s1,
					RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMReader)})
			}
			for i := range tt.more {
				g := a.AddGroup(simtenant.Group{DisplayName: fmt.Sprintf("Other Readers %d", i)})
				a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: g.ID, PrincipalType: "Group", Scope: a.s1,
					RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMReader)})
			}
			dir := t.TempDir()
			a.ResetRequests()
			wantCode(t, a.offboard(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, "run", "--input", writeCSV(t, "principal_id", ann),
				"--report", dir, "--sources", "groups,azure", "--azure-scopes", a.s1), 0)
			rows := byAssignment(readReport(t, dir))
			for id, what := range map[string]string{mailSec.ID: "a mail-enabled security group", list.ID: "a distribution list"} {
				r := rows[id]
				if r["status"] != "skipped" || !strings.HasPrefix(r["detail"], "mail-enabled: group ") ||
					!strings.Contains(r["detail"], what) || !strings.Contains(r["detail"], "Exchange Online") {
					t.Errorf("the membership of %s: %v", what, r)
				}
				if !slices.Contains(a.Members(id), ann) {
					t.Errorf("ann left %s", what)
				}
			}
			if r := rows[m365.ID]; r["status"] != "removed" {
				t.Errorf("the Microsoft 365 group's membership: %v", r)
			}
			for _, w := range a.writes() {
				if strings.Contains(w.Path, mailSec.ID) || strings.Contains(w.Path, list.ID) {
					t.Errorf("sent %s %s", w.Method, w.Path)
				}
			}
			if tt.more > 0 && requestsTo(a.Tenant, "/getByIds", http.StatusForbidden) == 0 {
				t.Error("the listing by principal was not tried")
			}
		})
	}
}

// A tenant that refuses `in` on employeeId: the employee ids are looked
// up again with eq, and every line resolves.
func TestEmployeeIDInRefusedFallsBackToEq(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 263, EmployeeIDInRefused: true})
	lines := []string{"employee_id"}
	var assignments []string
	for i := range 3 {
		u := tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("e%d@contoso.com", i), EmployeeID: fmt.Sprintf("E%03d", i)})
		a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: simtenant.SecurityReader})
		assignments = append(assignments, a.ID)
		lines = append(lines, u.EmployeeID)
	}
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_LOG_FORMAT=json"}, "run", "--input", writeCSV(t, lines...), "--report", dir,
		"--sources", "directory")
	wantCode(t, r, 0)
	for _, row := range readReport(t, dir) {
		if row["status"] != "removed" {
			t.Errorf("row %v", row)
		}
	}
	for _, id := range assignments {
		if _, ok := tn.RoleAssignment(id); ok {
			t.Errorf("assignment %s is still there", id)
		}
	}
	eq := 0
	for _, q := range tn.Requests() {
		if strings.HasSuffix(q.Path, "/users") && strings.Contains(q.RawQuery, "employeeId+eq") || strings.Contains(q.RawQuery, "employeeId%20eq") {
			eq++
		}
	}
	if eq != 3 {
		t.Errorf("%d lookups with eq, want one an employee id", eq)
	}
	if n := countLines(r.stderr, `"level":"warn"`, "employeeId"); n != 1 {
		t.Errorf("%d warnings about employeeId, want 1:\n%s", n, r.stderr)
	}
}

// check knows what a run needs: the groups source's owners need
// Group.ReadWrite.All (GroupMember.ReadWrite.All is not enough); pim needs
// only RoleEligibilitySchedule.ReadWrite.Directory; directory's
// last-Global-Administrator guard reads the members of the groups holding
// the role.
func TestCheckKnowsEveryPermission(t *testing.T) {
	t.Parallel()
	t.Run("owners need Group.ReadWrite.All", func(t *testing.T) {
		a, args := checkTenant(t, simtenant.Config{Seed: 264, Deny: []string{simtenant.PermGroupReadWrite}}, simtenant.ARMUserAccessAdministrator)
		r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
		wantCode(t, r, 1)
		if s, d := out.status("source", "groups"); s != "missing" || !strings.Contains(d, "Group.ReadWrite.All") {
			t.Errorf("groups: %q %q", s, d)
		}
	})
	t.Run("pim needs RoleEligibilitySchedule.ReadWrite.Directory alone", func(t *testing.T) {
		a, args := checkTenant(t, simtenant.Config{Seed: 265, Deny: []string{simtenant.PermRoleManagement}}, simtenant.ARMUserAccessAdministrator)
		r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
		wantCode(t, r, 1)
		if s, d := out.status("source", "pim"); s != "ok" {
			t.Errorf("pim: %q %q", s, d)
		}
		if s, d := out.status("source", "directory"); s != "missing" || !strings.Contains(d, "RoleManagement.ReadWrite.Directory") {
			t.Errorf("directory: %q %q", s, d)
		}
	})
	t.Run("the guard reads the Global Administrators' groups", func(t *testing.T) {
		deny := []string{simtenant.PermGroupMember, simtenant.PermGroupReadWrite, simtenant.PermDirectoryRead}
		tn := startTenant(t, simtenant.Config{Seed: 266, Deny: deny})
		admin, _ := tn.globalAdmin("admin@contoso.com")
		grp := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
		tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: grp.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
		member, _ := tn.user("member@contoso.com", 0)
		if err := tn.AddMember(grp.ID, member); err != nil {
			t.Fatal(err)
		}
		r, out := tn.check(t, nil, "--sources", "directory")
		wantCode(t, r, 1)
		if s, d := out.status("source", "directory"); s != "missing" || !strings.Contains(d, "GroupMember.Read.All") {
			t.Errorf("directory: %q %q", s, d)
		}
		// What check foresees: the run stops at the guard.
		wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", admin), "--report", t.TempDir(),
			"--sources", "directory"), 3)
	})
}

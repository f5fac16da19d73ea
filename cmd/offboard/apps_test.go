package main

// End-to-end tests of the apps source: ownerships of applications and
// service principals, the last owner kept; app role assignments of
// service principals (Microsoft Graph's application permissions) and
// users, each removed, left alone by a rerun, and restored; and what the
// listing costs in a tenant of 2,000 applications. No request ever goes
// to /users/{id}/ownedObjects, which Graph does not serve to an
// application identity.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// appsAccess is what a principal holds over applications, as the tests
// compare it: the objects it owns and its own app role grants.
func appsAccess(tn *simtenant.Tenant, principal string) []string {
	var out []string
	for _, o := range tn.OwnedApps(principal) {
		out = append(out, o+" owner")
	}
	for _, a := range tn.AppRoleAssignmentsOf(principal) {
		out = append(out, a.ResourceID+" "+a.AppRoleID)
	}
	slices.Sort(out)
	return out
}

// ownedObjectsRequests lists the requests to /users/{id}/ownedObjects.
func ownedObjectsRequests(tn *simtenant.Tenant) []string {
	var out []string
	for _, r := range tn.Requests() {
		if p := strings.ToLower(r.Path); strings.HasPrefix(p, "/v1.0/users/") && strings.Contains(p, "/ownedobjects") {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func TestAppsRemovedRerunRestored(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 26})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ann, _ := tn.user("ann@contoso.com", 0)
	dave, _ := tn.user("dave@contoso.com", 0)
	carl, _ := tn.user("carl@contoso.com", 0)
	workload := tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "Nightly Export"})
	graph := tn.AddMicrosoftGraph()
	payroll := tn.AddApplication(simtenant.Application{DisplayName: "Payroll Sync"})
	payrollSP := tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "Payroll Sync", AppID: payroll.AppID})
	sandbox := tn.AddApplication(simtenant.Application{DisplayName: "Developer Sandbox"})
	shared := tn.AddApplication(simtenant.Application{DisplayName: "Shared Tool"})
	big := tn.AddApplication(simtenant.Application{DisplayName: "Big Team App"})
	expenses := tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "Expense Reports"})
	tn.SetAppRoles(expenses.ID, []simtenant.AppRole{{Value: "Expenses.Approve", DisplayName: "Approver", AllowedMemberTypes: []string{"User"}}})
	approve := tn.AppRoles(expenses.ID)[0].ID
	approvers := tn.AddGroup(simtenant.Group{DisplayName: "Expense Approvers"})
	must(tn.AddMember(approvers.ID, ann))

	for _, o := range []string{payroll.ID, payrollSP.ID, workload.ID} {
		must(tn.AddAppOwner(o, ann))
		must(tn.AddAppOwner(o, carl))
	}
	must(tn.AddAppOwner(sandbox.ID, ann))
	must(tn.AddAppOwner(shared.ID, ann))
	must(tn.AddAppOwner(shared.ID, dave))
	// More owners than an $expand answers: ann among them.
	must(tn.AddAppOwner(big.ID, ann))
	for i := range 24 {
		u, _ := tn.user(fmt.Sprintf("team%02d@contoso.com", i), 0)
		must(tn.AddAppOwner(big.ID, u))
	}
	grant := func(principal, resource, role string) string {
		t.Helper()
		a, err := tn.AddAppRoleAssignment(simtenant.AppRoleAssignment{PrincipalID: principal, ResourceID: resource, AppRoleID: role})
		must(err)
		return a.ID
	}
	rmw := grant(workload.ID, graph.ID, simtenant.AppRoleRoleManagementRWDir)
	users := grant(workload.ID, graph.ID, simtenant.AppRoleUserReadAll)
	annApprove := grant(ann, expenses.ID, approve)
	// The group's grant shows in ann's listing; it is not hers to lose.
	groupApprove := grant(approvers.ID, expenses.ID, approve)
	before := map[string][]string{}
	for _, p := range []string{ann, dave, workload.ID} {
		before[p] = appsAccess(tn.Tenant, p)
	}

	dir := t.TempDir()
	input := writeCSV(t, "principal_id,reference", ann+",HR-1", dave+",HR-2", workload.ID+",CHG-3")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "apps"), 0)

	rows := map[string]row{}
	for _, r := range readReport(t, dir) {
		rows[r["principal_id"]+" "+r["assignment_id"]] = r
	}
	want := map[string][4]string{ // status, kind, role_name, detail prefix
		ann + " " + payroll.ID:    {"removed", "app-owner", "Payroll Sync", "owner of application Payroll Sync"},
		ann + " " + payrollSP.ID:  {"removed", "service-principal-owner", "Payroll Sync", "owner of service principal Payroll Sync"},
		ann + " " + workload.ID:   {"removed", "service-principal-owner", "Nightly Export", "owner of service principal Nightly Export"},
		ann + " " + big.ID:        {"removed", "app-owner", "Big Team App", "owner of application Big Team App"},
		ann + " " + sandbox.ID:    {"skipped", "app-owner", "Developer Sandbox", "last-owner: application Developer Sandbox (" + sandbox.ID + ")"},
		ann + " " + shared.ID:     {"skipped", "app-owner", "Shared Tool", "last-owner: application Shared Tool"},
		dave + " " + shared.ID:    {"skipped", "app-owner", "Shared Tool", "last-owner: application Shared Tool"},
		ann + " " + annApprove:    {"removed", "app-role-assignment", "Expenses.Approve", "Expense Reports: Expenses.Approve"},
		workload.ID + " " + rmw:   {"removed", "app-role-assignment", "RoleManagement.ReadWrite.Directory", "Microsoft Graph: RoleManagement.ReadWrite.Directory"},
		workload.ID + " " + users: {"removed", "app-role-assignment", "User.Read.All", "Microsoft Graph: User.Read.All"},
	}
	for k, w := range want {
		r, ok := rows[k]
		if !ok || r["status"] != w[0] || r["kind"] != w[1] || r["role_name"] != w[2] || !strings.HasPrefix(r["detail"], w[3]) {
			t.Errorf("row %s: %v\nwant status %s, kind %s, role_name %q, detail %q…", k, r, w[0], w[1], w[2], w[3])
		}
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(rows), len(want), rows)
	}
	if r := rows[workload.ID+" "+rmw]; r["role_definition_id"] != simtenant.AppRoleRoleManagementRWDir || r["scope"] != "/servicePrincipals/"+graph.ID {
		t.Errorf("the Graph permission's row: %v", r)
	}
	if got := tn.AppOwners(payroll.ID); !slices.Equal(got, []string{carl}) {
		t.Errorf("Payroll Sync's owners %v, want carl alone", got)
	}
	if got := tn.AppOwners(sandbox.ID); !slices.Equal(got, []string{ann}) {
		t.Errorf("Developer Sandbox's owners %v, want its last owner kept", got)
	}
	if got := appsAccess(tn.Tenant, workload.ID); len(got) != 0 {
		t.Errorf("the workload still holds %v", got)
	}
	if !slices.ContainsFunc(tn.AppRoleAssignments(), func(a simtenant.AppRoleAssignment) bool { return a.ID == groupApprove }) {
		t.Error("the group's app role assignment was removed")
	}
	log := ownedObjectsRequests(tn.Tenant)

	// The rerun finds nothing more to do: not one write, the same report.
	reportBefore, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "apps"), 0)
	log = append(log, ownedObjectsRequests(tn.Tenant)...)
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %d writes, first %s %s", len(w), w[0].Method, w[0].Path)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "report.csv")); string(after) != string(reportBefore) {
		t.Errorf("the rerun changed report.csv:\n%s\nwas:\n%s", after, reportBefore)
	}

	// The restore puts back every ownership and grant.
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all"), 0)
	log = append(log, ownedObjectsRequests(tn.Tenant)...)
	for p, was := range before {
		if got := appsAccess(tn.Tenant, p); !slices.Equal(got, was) {
			t.Errorf("%s after the restore:\n%s\nbefore the run:\n%s", p, strings.Join(got, "\n"), strings.Join(was, "\n"))
		}
	}
	restored, _ := readRestore(t, dir)
	if len(restored) != 7 {
		t.Errorf("%d restore rows, want 7: %v", len(restored), restored)
	}
	for _, r := range restored {
		if r["status"] != "restored" {
			t.Errorf("restore row %v", r)
		}
	}
	// A second restore finds them there.
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all"), 0)
	if len(log) != 0 {
		t.Errorf("requests to /users/{id}/ownedObjects, which Graph refuses an application: %v", log)
	}
	if v := tn.Violations(); len(v) != 0 {
		t.Errorf("violations: %v", v)
	}
}

// A tenant of 2,000 applications, each with its service principal, and 50
// departing principals is listed in at most 150 round trips (a $batch is
// one), whatever each holds.
func TestAppsListingCost(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2000})
	graph := tn.AddMicrosoftGraph()
	var staff []string
	for i := range 20 {
		u := tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("staff%02d@contoso.com", i)})
		staff = append(staff, u.ID)
	}
	var departing []string
	for i := range 40 {
		u := tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("leaver%02d@contoso.com", i)})
		departing = append(departing, u.ID)
	}
	for i := range 10 {
		sp := tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: fmt.Sprintf("Workload %02d", i)})
		departing = append(departing, sp.ID)
	}
	wantOwned, wantGrants := 0, 0
	for i := range 2000 {
		app := tn.AddApplication(simtenant.Application{DisplayName: fmt.Sprintf("App %04d", i)})
		sp := tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: app.DisplayName, AppID: app.AppID})
		for _, o := range []string{app.ID, sp.ID} {
			if err := tn.AddAppOwner(o, staff[i%len(staff)]); err != nil {
				t.Fatal(err)
			}
		}
		if i%10 == 0 {
			if err := tn.AddAppOwner(app.ID, departing[(i/10)%len(departing)]); err != nil {
				t.Fatal(err)
			}
			wantOwned++
		}
	}
	for i, p := range departing {
		if i%2 == 0 {
			if _, err := tn.AddAppRoleAssignment(simtenant.AppRoleAssignment{PrincipalID: p, ResourceID: graph.ID,
				AppRoleID: simtenant.AppRoleDirectoryReadAll}); err != nil {
				t.Fatal(err)
			}
			wantGrants++
		}
	}
	lines := []string{"principal_id"}
	lines = append(lines, departing...)
	input := writeCSV(t, lines...)
	tn.ResetRequests()
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--dry-run", "--input", input, "--report", dir, "--sources", "apps"), 0)
	st := tn.Stats()
	t.Logf("2,000 applications, %d service principals, 50 principals: %d round trips (%d $batch carrying %d requests)",
		len(tn.ServicePrincipals()), st.Requests, st.Batches, st.SubRequests)
	if st.Requests > 150 {
		t.Errorf("listing took %d round trips, want at most 150", st.Requests)
	}
	owned, grants := 0, 0
	for _, r := range readReport(t, dir) {
		switch r["kind"] {
		case "app-owner":
			owned++
		case "app-role-assignment":
			grants++
		}
		if r["status"] != "planned" && r["status"] != "no-assignments" {
			t.Errorf("row %v", r)
		}
	}
	if owned != wantOwned || grants != wantGrants {
		t.Errorf("planned %d ownerships and %d app role assignments, want %d and %d", owned, grants, wantOwned, wantGrants)
	}
	if log := ownedObjectsRequests(tn.Tenant); len(log) != 0 {
		t.Errorf("requests to /users/{id}/ownedObjects: %v", log[:1])
	}
}

// `offboard check --sources apps` reads as a run does, sends no write, and
// names the permission the identity lacks.
func TestCheckApps(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 49})
	r, out := tn.check(t, nil, "--sources", "apps")
	wantCode(t, r, 0)
	if s, d := out.status("source", "apps"); s != "ok" {
		t.Errorf("apps: %q %q", s, d)
	}
	for _, perm := range []string{simtenant.PermAppRoleAssignment, simtenant.PermApplicationWrite} {
		tn := startTenant(t, simtenant.Config{Seed: 50, Deny: []string{perm}})
		r, out := tn.check(t, nil, "--sources", "apps")
		wantCode(t, r, 1)
		if s, d := out.status("source", "apps"); s != "missing" || !strings.Contains(d, perm) {
			t.Errorf("apps without %s: %q %q", perm, s, d)
		}
	}
}

// Ids the service hands out that are not what Graph issues (an object id
// that is no GUID, an app role assignment id with a slash, a resource
// that is no GUID) are failed rows, never put in a request.
func TestAppsUnexpectedIDsAreFailedRows(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 27})
	ann, _ := tn.user("ann@contoso.com", 0)
	graph := tn.AddMicrosoftGraph()
	odd := tn.AddApplication(simtenant.Application{ID: "..%2F..%2Fusers", DisplayName: "Odd"})
	if err := tn.AddAppOwner(odd.ID, ann); err != nil {
		t.Fatal(err)
	}
	slash, err := tn.AddAppRoleAssignment(simtenant.AppRoleAssignment{ID: "a/../../b", PrincipalID: ann, ResourceID: graph.ID,
		AppRoleID: simtenant.AppRoleUserReadAll})
	if err != nil {
		t.Fatal(err)
	}
	good, err := tn.AddAppRoleAssignment(simtenant.AppRoleAssignment{PrincipalID: ann, ResourceID: graph.ID,
		AppRoleID: simtenant.AppRoleDirectoryReadAll})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	input := writeCSV(t, "principal_id", ann)
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "apps"), 1)
	rows := map[string]row{}
	for _, r := range readReport(t, dir) {
		rows[r["kind"]+" "+r["status"]] = r
		if r["status"] == "failed" && r["detail"] != "unexpected id from the service" {
			t.Errorf("row %v", r)
		}
	}
	if r := rows["app-owner failed"]; r == nil {
		t.Errorf("no failed ownership row: %v", rows)
	}
	if r := rows["app-role-assignment failed"]; r == nil {
		t.Errorf("no failed app role assignment row for %s: %v", slash.ID, rows)
	}
	if r := rows["app-role-assignment removed"]; r == nil || r["assignment_id"] != good.ID {
		t.Errorf("the good grant: %v", r)
	}
	for _, w := range tn.writes() {
		if !strings.Contains(w.Path, good.ID) {
			t.Errorf("a write for a refused id: %s %s", w.Method, w.EscapedPath)
		}
	}
}

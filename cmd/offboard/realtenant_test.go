package main

// End-to-end tests of what real tenants lack: PIM's licence (simulate
// --no-p2), a permission (--deny), the `in` operator; one principal's
// broken listing inside a group; and `offboard check`.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// countLines counts the lines of s holding every one of parts.
func countLines(s string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

func TestNoP2TenantLeavesPIMOutAndRemovesTheRest(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 41, NoP2: true})
	tier0 := tn.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	lines := []string{"principal_id"}
	var assigned []string
	for i := range 25 {
		id, ids := tn.user(fmt.Sprintf("p%d@contoso.com", i), 1+i%2)
		assigned = append(assigned, ids...)
		lines = append(lines, id)
		if i%5 == 0 {
			if err := tn.AddMember(tier0.ID, id); err != nil {
				t.Fatal(err)
			}
		}
		// An eligibility the licence-less endpoints never show.
		tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: id, RoleDefinitionID: simtenant.SecurityReader})
	}
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_LOG_FORMAT=json"}, "run", "--input", writeCSV(t, lines...), "--report", dir)
	wantCode(t, r, 0)
	for _, row := range readReport(t, dir) {
		switch {
		case row["status"] == "failed":
			t.Errorf("failed row %v", row)
		case row["source"] == "pim":
			t.Errorf("a row of the unavailable source: %v", row)
		}
	}
	for _, id := range assigned {
		if _, ok := tn.RoleAssignment(id); ok {
			t.Errorf("directory assignment %s is still there", id)
		}
	}
	if got := tn.Members(tier0.ID); len(got) != 0 {
		t.Errorf("members left in the role-assignable group: %v", got)
	}
	s := readSummary(t, dir)
	// Both PIM parts: pim's Entra roles, and the groups source's PIM for
	// Groups; the groups source's memberships and ownerships are listed.
	for _, part := range []string{"pim", "groups-pim"} {
		if reason := s.Unavailable[part]; !strings.Contains(reason, "AadPremiumLicenseRequired") {
			t.Errorf("summary.json unavailable[%s]: %v", part, s.Unavailable)
		}
		if n := countLines(r.stderr, `"level":"warn"`, `"part":"`+part+`"`); n != 1 {
			t.Errorf("%d warnings about %s, want 1:\n%s", n, part, r.stderr)
		}
	}
	if len(s.Unavailable) != 2 {
		t.Errorf("summary.json unavailable: %v", s.Unavailable)
	}
	// Once PIM is known to be unavailable, no more PIM requests: the
	// first $batch of listings answered it.
	pimRequests := 0
	for _, q := range tn.Requests() {
		if strings.Contains(q.Path, "roleEligibilitySchedules") {
			pimRequests++
		}
	}
	if pimRequests > 25 {
		t.Errorf("%d PIM requests after the licence was known missing", pimRequests)
	}
}

func TestNoP2DirectoryFallbackIsAFailedRowNamingPIM(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 42, NoP2: true, PIMManagedDeleteRefused: true})
	id, ids := tn.user("lee@contoso.com", 2)
	tn.MarkPIMManaged(ids[0])
	dir := t.TempDir()
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir, "--sources", "directory")
	wantCode(t, r, 1)
	got := byAssignment(readReport(t, dir))
	if row := got[ids[0]]; row["status"] != "failed" || !strings.Contains(row["detail"], "not removed the PIM way") ||
		!strings.Contains(row["detail"], "AadPremiumLicenseRequired") {
		t.Errorf("refused row %v", row)
	}
	if row := got[ids[1]]; row["status"] != "removed" {
		t.Errorf("plain row %v", row)
	}
	if s := readSummary(t, dir); !strings.Contains(s.Unavailable["pim"], "AadPremiumLicenseRequired") {
		t.Errorf("summary.json unavailable: %v", s.Unavailable)
	}
}

func TestOnePrincipalsBrokenListingStaysItsOwn(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 43})
	lines := []string{"principal_id"}
	var users []string
	for i := range 20 {
		id, _ := tn.user(fmt.Sprintf("u%d@contoso.com", i), 1)
		tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: id, RoleDefinitionID: simtenant.SecurityReader})
		users = append(users, id)
		lines = append(lines, id)
	}
	bad := users[7]
	// The directory listing of any group holding bad fails for good; the
	// PIM page of bad is cut off half-way, which cuts off the $batch of
	// 20 that carries it.
	tn.AddRule(simtenant.Rule{Method: "GET", PathContains: "roleManagement/directory/roleAssignments", QueryContains: bad, Status: 503})
	tn.AddRule(simtenant.Rule{Method: "GET", PathContains: "roleEligibilitySchedules", QueryContains: bad, CutAnswer: true})
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_MAX_ATTEMPTS=2"}, "run", "--input", writeCSV(t, lines...), "--report", dir,
		"--sources", "directory,pim")
	wantCode(t, r, 1)
	failed := map[string]int{}
	for _, row := range readReport(t, dir) {
		if row["principal_id"] != bad {
			if row["status"] != "removed" {
				t.Errorf("another principal's row %v", row)
			}
			continue
		}
		if row["status"] == "failed" {
			failed[row["source"]]++
		}
	}
	if failed["directory"] != 1 || failed["pim"] != 1 {
		t.Errorf("failed rows of the broken principal by source: %v", failed)
	}
	for _, id := range users {
		if id != bad && len(tn.RoleAssignmentsOf(id)) != 0 {
			t.Errorf("%s still holds directory roles", id)
		}
	}
}

func TestInOperatorRefusedListsEveryPrincipalWithEq(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 44})
	lines := []string{"principal_id"}
	for i := range 20 {
		id, _ := tn.user(fmt.Sprintf("v%d@contoso.com", i), 2)
		lines = append(lines, id)
	}
	tn.AddRule(simtenant.Rule{Method: "GET", PathContains: "roleManagement/directory/roleAssignments",
		QueryContains: "principalId in (", Status: 400, Code: "Request_UnsupportedQuery", Message: "Unsupported Query."})
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_LOG_FORMAT=json", "OFFBOARD_CONCURRENCY=1"}, "run",
		"--input", writeCSV(t, lines...), "--report", dir, "--sources", "directory")
	wantCode(t, r, 0)
	rows := readReport(t, dir)
	if len(rows) != 40 {
		t.Errorf("%d rows, want 40", len(rows))
	}
	for _, row := range rows {
		if row["status"] != "removed" {
			t.Errorf("row %v", row)
		}
	}
	if n := len(tn.RoleAssignments()); n != 0 {
		t.Errorf("%d assignments left", n)
	}
	in := 0
	for _, q := range tn.Requests() {
		if strings.Contains(q.RawQuery, "%20in%20") || strings.Contains(q.RawQuery, "+in+") {
			in++
		}
	}
	if in != 1 {
		t.Errorf("%d listings with in, want 1: the refusal switches the rest of the run to eq", in)
	}
	if n := countLines(r.stderr, "refused the `in` operator"); n != 1 {
		t.Errorf("%d log lines about the refused in, want 1:\n%s", n, r.stderr)
	}
}

// checkOutput is what `offboard check --output json` prints.
type checkOutput struct {
	Usable bool `json:"usable"`
	Checks []struct {
		Check, Name, Status, Detail, Fix string
	} `json:"checks"`
}

// check runs `offboard check --output json` and reads its answer; the
// tenant must have received no write.
func (tn *tenant) check(t *testing.T, env []string, args ...string) (result, checkOutput) {
	t.Helper()
	tn.ResetRequests()
	r := tn.offboard(t, env, append([]string{"check", "--output", "json"}, args...)...)
	var out checkOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("check's output is not JSON: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	st := tn.Stats()
	for method, n := range st.ByMethod {
		if method != http.MethodGet && n > 0 {
			t.Errorf("check sent %d %s requests", n, method)
		}
	}
	if st.Batches != 0 {
		t.Errorf("check sent %d $batch requests", st.Batches)
	}
	return r, out
}

// status is the status of the named check, "" when there is none.
func (o checkOutput) status(check, name string) (string, string) {
	for _, c := range o.Checks {
		if c.Check == check && c.Name == name {
			return c.Status, c.Detail + " " + c.Fix
		}
	}
	return "", ""
}

// checkTenant is an Azure tenant whose caller holds role at the first
// subscription, an input file and a report directory not yet made.
func checkTenant(t *testing.T, cfg simtenant.Config, role string) (*azureTenant, []string) {
	a := startAzureTenant(t, cfg)
	a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: a.CallerID(), PrincipalType: "ServicePrincipal",
		Scope: a.s1, RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, role)})
	id, _ := a.user("mia@contoso.com", 1)
	report := filepath.Join(t.TempDir(), "reports", "nightly")
	args := []string{"--sources", "directory,pim,groups,azure", "--azure-scopes", a.s1,
		"--input", writeCSV(t, "principal_id", id), "--report", report}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Dir(report)); err == nil {
			t.Errorf("check left %s behind", filepath.Dir(report))
		}
	})
	return a, args
}

func TestCheckHealthyTenant(t *testing.T) {
	t.Parallel()
	a, args := checkTenant(t, simtenant.Config{Seed: 45}, simtenant.ARMUserAccessAdministrator)
	r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
	wantCode(t, r, 0)
	if !out.Usable {
		t.Errorf("not usable: %+v", out)
	}
	for _, c := range out.Checks {
		if c.Status != "ok" {
			t.Errorf("check %+v", c)
		}
	}
	for _, want := range [][2]string{{"source", "directory"}, {"source", "pim"}, {"source", "groups"},
		{"permission", "users"}, {"azure-scope", a.s1}, {"input", args[5]}, {"report", args[7]}} {
		if s, _ := out.status(want[0], want[1]); s != "ok" {
			t.Errorf("%s %s: %q", want[0], want[1], s)
		}
	}
}

func TestCheckNoP2ShowsPIMUnavailable(t *testing.T) {
	t.Parallel()
	a, args := checkTenant(t, simtenant.Config{Seed: 46, NoP2: true}, simtenant.ARMUserAccessAdministrator)
	r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
	wantCode(t, r, 1)
	if s, d := out.status("source", "pim"); s != "unavailable" || !strings.Contains(d, "AadPremiumLicenseRequired") {
		t.Errorf("pim: %q %q", s, d)
	}
	if s, _ := out.status("source", "directory"); s != "ok" {
		t.Errorf("directory: %q", s)
	}
	if s, _ := out.status("source", "azure-eligibility "+a.s1); s != "unavailable" {
		t.Errorf("azure-eligibility: %q", s)
	}
}

func TestCheckWithheldPermissionIsMissing(t *testing.T) {
	t.Parallel()
	// Group.ReadWrite.All includes GroupMember.ReadWrite.All: both withheld.
	a, args := checkTenant(t, simtenant.Config{Seed: 47, Deny: []string{simtenant.PermGroupMember, simtenant.PermGroupReadWrite}}, simtenant.ARMUserAccessAdministrator)
	r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
	wantCode(t, r, 1)
	if s, d := out.status("source", "groups"); s != "missing" || !strings.Contains(d, "GroupMember.ReadWrite.All") {
		t.Errorf("groups: %q %q", s, d)
	}
	if s, _ := out.status("source", "directory"); s != "ok" {
		t.Errorf("directory: %q", s)
	}
}

func TestCheckAzureScopeWithoutDeleteRightsIsMissing(t *testing.T) {
	t.Parallel()
	a, args := checkTenant(t, simtenant.Config{Seed: 48}, simtenant.ARMContributor)
	r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
	wantCode(t, r, 1)
	if s, d := out.status("azure-scope", a.s1); s != "missing" || !strings.Contains(d, "roleAssignments/delete") {
		t.Errorf("azure scope: %q %q", s, d)
	}
	if s, _ := out.status("source", "directory"); s != "ok" {
		t.Errorf("directory: %q", s)
	}
}

package main

// Issue 27 item 2: a UPN, mail or employee id that matches a soft-deleted
// user (directory/deletedItems) resolves to it, and what ARM still holds
// for it is removed.

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// deletedItemsRequests are the requests (sub-requests of a $batch
// included) for deleted users, with their decoded $filter.
func deletedItemsRequests(tn *tenant) []string {
	var out []string
	for _, r := range tn.Requests() {
		if !strings.Contains(strings.ToLower(r.Path), "/directory/deleteditems") {
			continue
		}
		q, _ := url.ParseQuery(r.RawQuery)
		out = append(out, q.Get("$filter"))
	}
	return out
}

func TestDeletedUserKeysResolveAndTheirAzureRolesAreRemoved(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 280})
	add := func(upn, mail, employee string) string {
		return a.AddUser(simtenant.User{UserPrincipalName: upn, DisplayName: upn, Mail: mail, EmployeeID: employee}).ID
	}
	byUPN := add("gone@contoso.com", "gone@contoso.com", "")
	byMail := add("left@contoso.com", "left.mail@contoso.com", "")
	byEmployee := add("quit@contoso.com", "", "E-77")
	empty := add("empty@contoso.com", "", "")
	live, _ := a.user("ada@contoso.com", 1)
	roles := map[string]string{}
	for _, id := range []string{byUPN, byMail, byEmployee} {
		roles[id] = a.assign(id, a.s1, simtenant.ARMReader)
		if _, ok := a.DeleteUser(id); !ok {
			t.Fatal("DeleteUser")
		}
	}
	a.DeleteUser(empty)

	input := writeCSV(t, "user_principal_name,mail,employee_id,reference",
		"gone@contoso.com,,,HR-1", ",left.mail@contoso.com,,HR-2", ",,E-77,HR-3", "empty@contoso.com,,,HR-4",
		"ada@contoso.com,,,HR-5", "nobody@contoso.com,,,HR-6")
	dir := filepath.Join(t.TempDir(), "report")
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}
	r := a.offboard(t, env, "run", "--input", input, "--report", dir, "--sources", "directory,azure", "--azure-scopes", a.s1)
	wantCode(t, r, 1) // nobody@ is a new not-found

	rows := readReport(t, dir)
	byID := map[string][]row{}
	for _, row := range rows {
		byID[row["principal_id"]] = append(byID[row["principal_id"]], row)
	}
	for id, upn := range map[string]string{byUPN: "gone@contoso.com", byMail: "left@contoso.com", byEmployee: "quit@contoso.com"} {
		got := byID[id]
		if len(got) != 1 || got[0]["status"] != "removed" || got[0]["assignment_id"] != roles[id] || got[0]["user_principal_name"] != upn {
			t.Errorf("soft-deleted %s: rows %v, want its Azure role removed under its UPN", upn, got)
		}
	}
	if got := byID[empty]; len(got) != 1 || got[0]["status"] != "no-assignments" || !strings.Contains(got[0]["detail"], "soft-deleted") {
		t.Errorf("soft-deleted user holding nothing: %v", got)
	}
	if got := byID[live]; len(got) != 1 || got[0]["status"] != "removed" {
		t.Errorf("live user: %v", got)
	}
	var notFound []row
	for _, row := range rows {
		if row["status"] == "not-found" {
			notFound = append(notFound, row)
		}
	}
	if len(notFound) != 1 || !strings.Contains(notFound[0]["detail"], `"nobody@contoso.com" names no user of the tenant`) {
		t.Errorf("not-found rows %v, want nobody@ alone", notFound)
	}
	for _, id := range []string{byUPN, byMail, byEmployee} {
		if len(a.ARMRoleAssignmentsOf(id)) != 0 {
			t.Errorf("%s still holds its Azure role", id)
		}
	}

	// Deleted users were asked for the keys no live user matched, and for
	// nothing else: each UPN alone (endswith), mails and employee ids
	// grouped.
	asked := deletedItemsRequests(a.tenant)
	want := map[string]bool{
		"endswith(userPrincipalName,'gone@contoso.com')":   true,
		"endswith(userPrincipalName,'empty@contoso.com')":  true,
		"endswith(userPrincipalName,'nobody@contoso.com')": true,
		"mail in ('left.mail@contoso.com')":                true,
		"employeeId in ('E-77')":                           true,
	}
	if len(asked) != len(want) {
		t.Errorf("deletedItems requests %q, want %d", asked, len(want))
	}
	for _, f := range asked {
		if !want[f] {
			t.Errorf("unexpected deletedItems request $filter=%q", f)
		}
	}

	// The rerun asks nothing: the journal names those objects.
	a.ResetRequests()
	wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", dir, "--sources", "directory,azure", "--azure-scopes", a.s1), 0)
	if asked := deletedItemsRequests(a.tenant); len(asked) != 1 || !strings.Contains(asked[0], "nobody@contoso.com") {
		t.Errorf("rerun deletedItems requests %q, want nobody@'s alone", asked)
	}
}

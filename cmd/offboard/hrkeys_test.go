package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// hrUser adds a user with a mail and an employee id holding n directory
// role assignments.
func (tn *tenant) hrUser(upn, mail, employeeID string, n int) (string, []string) {
	u := tn.AddUser(simtenant.User{UserPrincipalName: upn, DisplayName: upn, Mail: mail, EmployeeID: employeeID})
	roles := []string{simtenant.UserAdministrator, simtenant.HelpdeskAdministrator, simtenant.SecurityReader}
	var ids []string
	for i := range n {
		a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: roles[i%len(roles)],
			DirectoryScopeID: scopeFor(i, len(roles))})
		ids = append(ids, a.ID)
	}
	return u.ID, ids
}

// userQueries are the $filter of every GET /users the tenant received,
// decoded, batched or not.
func (tn *tenant) userQueries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range tn.Requests() {
		if r.Method != http.MethodGet || r.Path != "/v1.0/users" {
			continue
		}
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			t.Fatalf("GET /users with a query that does not parse: %q", r.RawQuery)
		}
		out = append(out, q.Get("$filter"))
	}
	return out
}

func TestHRKeysEachKeyRemoves(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 31})
	const guestUPN = "gina_fabrikam.com#EXT#@contoso.onmicrosoft.com"
	alice, aliceIDs := tn.hrUser("alice@contoso.onmicrosoft.com", "alice@contoso.com", "100001", 2)
	bob, bobIDs := tn.hrUser("bob@contoso.onmicrosoft.com", "bob@contoso.com", "100002", 2)
	carol, carolIDs := tn.hrUser("carol@contoso.onmicrosoft.com", "carol@contoso.com", "100003", 2)
	gina, ginaIDs := tn.hrUser(guestUPN, "gina@fabrikam.com", "", 1)
	dave, daveIDs := tn.hrUser("dave@contoso.onmicrosoft.com", "dave@contoso.com", "100004", 1)
	stay, stayIDs := tn.hrUser("stay@contoso.onmicrosoft.com", "stay@contoso.com", "100005", 2)
	in := writeCSV(t,
		"User_Principal_Name , MAIL,employee_id,reference",
		"alice@contoso.onmicrosoft.com,,,HR-1",
		",BOB@contoso.com,,HR-2", // mail compares without case
		",,100003,HR-3",
		",gina@fabrikam.com,,HR-4",                                  // a guest by its external address
		"dave@contoso.onmicrosoft.com,dave@contoso.com,100004,HR-5", // three keys that agree
	)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", dir), 0)

	want := map[string]struct{ id, upn string }{}
	for _, u := range []struct {
		id, upn string
		ids     []string
	}{
		{alice, "alice@contoso.onmicrosoft.com", aliceIDs}, {bob, "bob@contoso.onmicrosoft.com", bobIDs},
		{carol, "carol@contoso.onmicrosoft.com", carolIDs}, {gina, guestUPN, ginaIDs},
		{dave, "dave@contoso.onmicrosoft.com", daveIDs},
	} {
		for _, a := range u.ids {
			want[a] = struct{ id, upn string }{u.id, u.upn}
		}
		if left := tn.RoleAssignmentsOf(u.id); len(left) != 0 {
			t.Errorf("%s still holds %d assignments", u.upn, len(left))
		}
	}
	got := byAssignment(readReport(t, dir))
	for a, w := range want {
		r := got[a]
		// For a row by mail or employee id, the report names the user by
		// the directory's UPN.
		if r["status"] != "removed" || r["principal_id"] != w.id || r["user_principal_name"] != w.upn {
			t.Errorf("assignment %s: row %v, want removed, %s, %s", a, r, w.id, w.upn)
		}
	}
	if len(tn.RoleAssignmentsOf(stay)) != len(stayIDs) {
		t.Error("a user no row names lost an assignment")
	}
	// In bulk: no GET /users/{key}, one GET /users per kind of key.
	for _, r := range tn.Requests() {
		if strings.HasPrefix(r.Path, "/v1.0/users/") {
			t.Errorf("a key was looked up on its own: %s %s", r.Method, r.EscapedPath)
		}
	}
	queries := tn.userQueries(t)
	if len(queries) != 3 {
		t.Errorf("%d GET /users, want 3 (one per kind of key): %q", len(queries), queries)
	}
	for _, q := range queries {
		if !strings.Contains(q, " in (") {
			t.Errorf("$filter %q is not an in list", q)
		}
	}
}

func TestHRKeysMatchingSeveralUsersAreRefused(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 32})
	// Entra does not keep mail or employeeId unique.
	m1, m1IDs := tn.hrUser("max@contoso.onmicrosoft.com", "shared@contoso.com", "200001", 2)
	m2, m2IDs := tn.hrUser("max2@contoso.onmicrosoft.com", "shared@contoso.com", "200002", 1)
	e1, e1IDs := tn.hrUser("eve@contoso.onmicrosoft.com", "eve@contoso.com", "300001", 2)
	e2, e2IDs := tn.hrUser("eve2@contoso.onmicrosoft.com", "eve2@contoso.com", "300001", 1)
	in := writeCSV(t,
		"mail,employee_id,reference",
		"shared@contoso.com,,HR-1",
		",300001,HR-2",
	)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", dir), 1)
	rows := readReport(t, dir)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want the 2 invalid lines: %v", len(rows), rows)
	}
	details := map[string]bool{}
	for _, r := range rows {
		if r["status"] != "invalid" || r["principal_id"] != "" {
			t.Errorf("row %v, want invalid without a principal", r)
		}
		details[r["detail"]] = true
	}
	for _, d := range []string{`line 2: mail "shared@contoso.com" matches 2 users`, `line 3: employee_id "300001" matches 2 users`} {
		if !details[d] {
			t.Errorf("no row with detail %q: %v", d, details)
		}
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("%d write requests, want none", len(w))
	}
	for id, n := range map[string]int{m1: len(m1IDs), m2: len(m2IDs), e1: len(e1IDs), e2: len(e2IDs)} {
		if got := len(tn.RoleAssignmentsOf(id)); got != n {
			t.Errorf("%s holds %d assignments, want %d", id, got, n)
		}
	}
}

func TestHRKeysThatDisagreeAreInvalid(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 33})
	ann, annIDs := tn.hrUser("ann@contoso.onmicrosoft.com", "ann@contoso.com", "400001", 2)
	ben, benIDs := tn.hrUser("ben@contoso.onmicrosoft.com", "ben@contoso.com", "400002", 2)
	in := writeCSV(t,
		"principal_id,user_principal_name,mail,employee_id",
		ann+",,ben@contoso.com,",                              // id of one, mail of the other
		",ann@contoso.onmicrosoft.com,,400002",                // UPN of one, employee id of the other
		",,ann@contoso.com,400002",                            // mail of one, employee id of the other
		",ben@contoso.onmicrosoft.com,ann@contoso.com,400002", // two agree, one does not
	)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", dir), 1)
	rows := readReport(t, dir)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 invalid: %v", len(rows), rows)
	}
	for i, r := range rows {
		if r["status"] != "invalid" || !strings.Contains(r["detail"], "the keys name different objects") {
			t.Errorf("row %d %v, want invalid: the keys name different objects", i, r)
		}
	}
	wantDetail := map[string]bool{
		"line 2: the keys name different objects: principal_id " + ann + " names " + ann + `, mail "ben@contoso.com" names ` + ben:                        true,
		`line 3: the keys name different objects: user_principal_name "ann@contoso.onmicrosoft.com" names ` + ann + `, employee_id "400002" names ` + ben: true,
	}
	for _, r := range rows {
		delete(wantDetail, r["detail"])
	}
	if len(wantDetail) != 0 {
		t.Errorf("no row with detail %v", wantDetail)
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("%d write requests, want none", len(w))
	}
	if len(tn.RoleAssignmentsOf(ann)) != len(annIDs) || len(tn.RoleAssignmentsOf(ben)) != len(benIDs) {
		t.Error("an assignment was removed for a line whose keys disagree")
	}
}

func TestHRKeysQuoteIsEscapedAndNeverWidensTheFilter(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 34})
	obrien, obrienIDs := tn.hrUser("obrien@contoso.onmicrosoft.com", "o'brien@contoso.com", "500001", 2)
	decoy, decoyIDs := tn.hrUser("decoy@contoso.onmicrosoft.com", "decoy@contoso.com", "1", 2)
	// Each hostile value, pasted into a filter unescaped, would match the
	// decoy (or everyone).
	in := writeCSV(t,
		"mail,employee_id",
		"o'brien@contoso.com,",
		",x') or ('1'='1",
		`,"1','500001"`,
		"x'@contoso.com') or mail in ('decoy@contoso.com,",
	)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", dir), 1)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, a := range obrienIDs {
		if got[a]["status"] != "removed" || got[a]["principal_id"] != obrien {
			t.Errorf("o'brien's assignment %s: %v", a, got[a])
		}
	}
	invalid := map[string]bool{} // issue 27: the keys that name no one are not-found
	for _, r := range rows {
		if r["status"] == "invalid" || r["status"] == "not-found" {
			invalid[r["detail"]] = true
		}
	}
	for _, d := range []string{
		`line 3: employee_id "x') or ('1'='1" names no user of the tenant`,
		`line 4: employee_id "1','500001" names no user of the tenant`,
	} {
		if !invalid[d] {
			t.Errorf("no invalid row %q: %v", d, invalid)
		}
	}
	// The mail with white space never reaches the service.
	if len(invalid) != 3 || !strings.HasPrefix(firstWith(invalid, "line 5: "), `line 5: mail "x'@contoso.com') or mail in ('decoy@contoso.com" cannot be looked up`) {
		t.Errorf("invalid rows %v", invalid)
	}
	if len(tn.RoleAssignmentsOf(decoy)) != len(decoyIDs) {
		t.Error("the decoy lost an assignment: a value widened the filter")
	}
	var sawMail, sawID bool
	for _, q := range tn.userQueries(t) {
		if strings.Contains(q, "decoy") {
			t.Errorf("a filter carried the refused mail: %q", q)
		}
		sawMail = sawMail || strings.Contains(q, "'o''brien@contoso.com'")
		sawID = sawID || strings.Contains(q, "'x'') or (''1''=''1'") && strings.Contains(q, "'1'',''500001'")
	}
	if !sawMail || !sawID {
		t.Errorf("the values did not reach the service with their quotes doubled: %q", tn.userQueries(t))
	}
}

// firstWith returns the first key of set that begins with prefix.
func firstWith(set map[string]bool, prefix string) string {
	for k := range set {
		if strings.HasPrefix(k, prefix) {
			return k
		}
	}
	return ""
}

func TestHRKeysUnknownIsInvalidWithItsLine(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 35})
	ivy, ivyIDs := tn.hrUser("ivy@contoso.onmicrosoft.com", "ivy@contoso.com", "600001", 1)
	in := writeCSV(t,
		"mail,employee_id,reference",
		"nobody@contoso.com,,HR-1",
		",999999,HR-2",
		"ivy@contoso.com,,HR-3",
	)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", dir), 1)
	details := map[string]string{}
	for _, r := range readReport(t, dir) {
		details[r["detail"]] = r["status"]
	}
	for _, d := range []string{`line 2: mail "nobody@contoso.com" names no user of the tenant`, `line 3: employee_id "999999" names no user of the tenant`} {
		if details[d] != "not-found" { // issue 27
			t.Errorf("no not-found row %q: %v", d, details)
		}
	}
	if len(tn.RoleAssignmentsOf(ivy)) != 0 || byAssignment(readReport(t, dir))[ivyIDs[0]]["status"] != "removed" {
		t.Error("the known mail on the next line was not acted on")
	}
}

func TestHRKeysResolvedEarlierStillResolveAfterTheAccountIsDeleted(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 36})
	kim, kimIDs := tn.hrUser("kim@contoso.onmicrosoft.com", "kim@contoso.com", "700001", 2)
	lou, louIDs := tn.hrUser("lou@contoso.onmicrosoft.com", "lou@contoso.com", "700002", 2)
	in := writeCSV(t, "mail,employee_id,reference", "kim@contoso.com,,HR-1", ",700002,HR-2")
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--dry-run", "--input", in, "--report", dir), 0)
	// HR deletes the accounts next; their role assignments stay behind.
	if !tn.DeleteObject(kim) || !tn.DeleteObject(lou) {
		t.Fatal("deleting the users")
	}
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", dir), 0)
	got := byAssignment(readReport(t, dir))
	for id, ids := range map[string][]string{kim: kimIDs, lou: louIDs} {
		for _, a := range ids {
			if got[a]["status"] != "removed" || got[a]["principal_id"] != id {
				t.Errorf("assignment %s: %v", a, got[a])
			}
		}
		if len(tn.RoleAssignmentsOf(id)) != 0 {
			t.Errorf("%s still holds assignments", id)
		}
	}
}

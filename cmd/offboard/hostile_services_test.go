package main

// Services that answer what they should not (issue 18, findings 3 and 4):
// ids that are not the ids the service issues, nextLinks to another host
// or back to a page already read. Each answer is scripted on the simulated
// tenant, or served by a small hostile server on another loopback port.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// page is a listing's answer: Graph's shape (@odata.nextLink) or ARM's
// (nextLink).
func listingPage(t *testing.T, value []map[string]any, nextKey, next string) string {
	t.Helper()
	p := map[string]any{"value": value}
	if next != "" {
		p[nextKey] = next
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestARMListingALockIDIsAFailedRowNotADelete: an ARM listing that hands a
// lock's id out as a role assignment's gets a failed row; the lock is never
// sent a DELETE, and the true assignment next to it is removed.
func TestARMListingALockIDIsAFailedRowNotADelete(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 1801})
	user, _ := a.user("lars@contoso.com", 0)
	real := a.assign(user, a.s1, simtenant.ARMOwner)
	lock := a.rg + "/providers/Microsoft.Authorization/locks/prod-delete-lock"
	role := simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMOwner)
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/providers/Microsoft.Authorization/roleAssignments",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			{"id": lock, "name": "prod-delete-lock", "type": "Microsoft.Authorization/roleAssignments",
				"properties": map[string]any{"principalId": user, "roleDefinitionId": role, "scope": a.rg}},
			{"id": real, "name": real[strings.LastIndex(real, "/")+1:], "type": "Microsoft.Authorization/roleAssignments",
				"properties": map[string]any{"principalId": user, "roleDefinitionId": role, "scope": a.s1}},
		}, "", "")})

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	r := a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir, "--azure-scopes", a.s1)
	wantCode(t, r, 1)
	got := byAssignment(readReport(t, dir))
	if row := got[lock]; row["status"] != "failed" || row["detail"] != job.UnexpectedID {
		t.Errorf("the lock's row: %v", row)
	}
	if row := got[real]; row["status"] != "removed" {
		t.Errorf("the true assignment's row: %v", row)
	}
	for _, w := range a.writes() {
		if strings.Contains(strings.ToLower(w.Path), "/locks/") {
			t.Errorf("a write was sent to the lock: %s %s", w.Method, w.Path)
		}
	}
	if n := len(a.writes()); n != 1 {
		t.Errorf("%d writes, want the true assignment's DELETE only", n)
	}
}

// TestGraphListingDotDotIDIsAFailedRowNothingSent: a Graph role assignment
// listed with the id ".." gets a failed row and no request at all.
func TestGraphListingDotDotIDIsAFailedRowNothingSent(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 1802})
	user, _ := tn.user("dora@contoso.com", 0)
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/roleManagement/directory/roleAssignments",
		QueryContains: user, Status: http.StatusOK, Body: listingPage(t, []map[string]any{
			{"id": "..", "principalId": user, "roleDefinitionId": simtenant.UserAdministrator, "directoryScopeId": "/"},
		}, "", "")})
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_SOURCES=directory"}, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir)
	wantCode(t, r, 1)
	if row := byAssignment(readReport(t, dir))[".."]; row["status"] != "failed" || row["detail"] != job.UnexpectedID {
		t.Errorf("the row of id \"..\": %v", row)
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("%d writes sent, the first %s %s", len(w), w[0].Method, w[0].EscapedPath)
	}
}

// recorder is a hostile server on another loopback port: it answers every
// request with an empty page and remembers the Authorization headers it
// was sent.
type recorder struct {
	mu    sync.Mutex
	n     int
	auths []string
	url   string
}

func startRecorder(t *testing.T) *recorder {
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.n++
		if a := r.Header.Get("Authorization"); a != "" {
			rec.auths = append(rec.auths, a)
		}
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[]}`))
	}))
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

// TestNextLinkToAnotherHostGetsNoTokenAndFailsTheListing: a page whose
// nextLink points at another loopback port, for Graph and for ARM: that
// host is sent nothing (no token), and the principal's listing fails.
func TestNextLinkToAnotherHostGetsNoTokenAndFailsTheListing(t *testing.T) {
	t.Parallel()
	for _, service := range []string{"graph", "arm"} {
		t.Run(service, func(t *testing.T) {
			a := startAzureTenant(t, simtenant.Config{Seed: 1803})
			user, _ := a.user("otto@contoso.com", 0)
			rec := startRecorder(t)
			env := []string{"OFFBOARD_SOURCES=directory"}
			args := []string{}
			rule := simtenant.Rule{Method: http.MethodGet, QueryContains: user, Times: 1, Status: http.StatusOK}
			if service == "graph" {
				rule.PathContains = "/roleManagement/directory/roleAssignments"
				rule.Body = listingPage(t, nil, "@odata.nextLink", rec.url+"/v1.0/roleManagement/directory/roleAssignments?$skiptoken=x")
			} else {
				env = []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
				args = []string{"--azure-scopes", a.s1}
				rule.PathContains = "/providers/Microsoft.Authorization/roleAssignments"
				rule.Body = listingPage(t, nil, "nextLink", rec.url+a.s1+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$skiptoken=x")
			}
			a.AddRule(rule)
			dir := t.TempDir()
			r := a.offboard(t, env, append([]string{"run", "--input", writeCSV(t, "principal_id", user), "--report", dir}, args...)...)
			rec.mu.Lock()
			n, auths := rec.n, rec.auths
			rec.mu.Unlock()
			if len(auths) > 0 {
				t.Errorf("the other host received the token %d times", len(auths))
			}
			if n > 0 {
				t.Errorf("the other host received %d requests", n)
			}
			wantCode(t, r, 1)
			rows := readReport(t, dir)
			if len(rows) != 1 || rows[0]["status"] != "failed" || !strings.Contains(rows[0]["detail"], "listing failed") ||
				!strings.Contains(rows[0]["detail"], "host other than the configured endpoint") {
				t.Errorf("rows: %v", rows)
			}
		})
	}
}

// TestSelfRepeatingNextLinkEnds: a page whose nextLink is itself, for
// Graph and for ARM: the page is read once, and the listing fails instead
// of going round.
func TestSelfRepeatingNextLinkEnds(t *testing.T) {
	t.Parallel()
	for _, service := range []string{"graph", "arm"} {
		t.Run(service, func(t *testing.T) {
			a := startAzureTenant(t, simtenant.Config{Seed: 1804})
			user, _ := a.user("ivo@contoso.com", 0)
			env := []string{"OFFBOARD_SOURCES=directory"}
			args := []string{}
			// The rule runs out after 50 pages (the job of old would go
			// round for ever): the test then sees 50 reads of the page.
			rule := simtenant.Rule{Method: http.MethodGet, QueryContains: user, Times: 50, Status: http.StatusOK}
			var loop string
			if service == "graph" {
				rule.PathContains = "/roleManagement/directory/roleAssignments"
				loop = a.url + "/v1.0/roleManagement/directory/roleAssignments?%24skiptoken=" + user
				rule.Body = listingPage(t, nil, "@odata.nextLink", loop)
			} else {
				env = []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
				args = []string{"--azure-scopes", a.s1}
				rule.PathContains = "/providers/Microsoft.Authorization/roleAssignments"
				loop = a.url + a.s1 + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&%24skiptoken=" + user
				rule.Body = listingPage(t, nil, "nextLink", loop)
			}
			a.AddRule(rule)
			dir := t.TempDir()
			r := a.offboard(t, env, append([]string{"run", "--input", writeCSV(t, "principal_id", user), "--report", dir}, args...)...)
			reads := 0
			for _, q := range a.Requests() {
				if strings.Contains(q.RawQuery, "skiptoken="+user) {
					reads++
				}
			}
			if reads != 1 {
				t.Errorf("the self-repeating page was read %d times, want once", reads)
			}
			wantCode(t, r, 1)
			rows := readReport(t, dir)
			if len(rows) != 1 || rows[0]["status"] != "failed" || !strings.Contains(rows[0]["detail"], "the listing does not end") {
				t.Errorf("rows: %v", rows)
			}
		})
	}
}

// loopReads counts the requests the tenant received whose query holds
// marker: the reads of a self-repeating page, batched or not.
func loopReads(tn *tenant, marker string) int {
	n := 0
	for _, q := range tn.Requests() {
		if strings.Contains(q.RawQuery, marker) {
			n++
		}
	}
	return n
}

// TestSelfRepeatingNextLinkEndsAUserLookup (issue 24, item 5): the lookup
// of one UPN answers a page whose @odata.nextLink is itself; the job of
// old sent it for ever (141,000 identical GETs in 40 s), and no row of the
// file was listed. The lookup fails at the second read of the page and
// fails only the line that needs it: the UPN it shared a grouped query
// with, the mail sent in the same $batch and the principal_id line are
// resolved, listed and removed as usual. The rule runs out after 50
// answers, so that the job of old ends (with 49 reads) rather than hang.
func TestSelfRepeatingNextLinkEndsAUserLookup(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2401})
	tn.user("broken@contoso.com", 1)
	_, okIDs := tn.user("ok@contoso.com", 1)
	byID, byIDIDs := tn.user("byid@contoso.com", 1)
	_, mailIDs := tn.hrUser("mailed@contoso.onmicrosoft.com", "mailed@contoso.com", "", 1)
	const marker = "loop-broken"
	// "broken" is in the first page's $filter and in the looping link.
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/v1.0/users", QueryContains: "broken", Times: 50,
		Status: http.StatusOK, Body: listingPage(t, nil, "@odata.nextLink", tn.url+"/v1.0/users?%24skiptoken="+marker)})
	dir := t.TempDir()
	in := writeCSV(t, "principal_id,user_principal_name,mail",
		",broken@contoso.com,",
		",ok@contoso.com,",
		byID+",,",
		",,mailed@contoso.com")
	r := tn.offboard(t, []string{"OFFBOARD_SOURCES=directory"}, "run", "--input", in, "--report", dir)
	// Once in the grouped query's listing, once in broken's own.
	if n := loopReads(tn, marker); n > 2 {
		t.Errorf("the self-repeating page was read %d times, want at most once a listing (2)", n)
	}
	wantCode(t, r, 1)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, id := range append(append(okIDs, byIDIDs...), mailIDs...) {
		if got[id]["status"] != "removed" {
			t.Errorf("assignment %s: %v", id, got[id])
		}
	}
	var broken []row
	for _, rw := range rows {
		if rw["user_principal_name"] == "broken@contoso.com" {
			broken = append(broken, rw)
		}
	}
	if len(broken) != 1 || broken[0]["status"] != "failed" || !strings.Contains(broken[0]["detail"], "line 2") ||
		!strings.Contains(broken[0]["detail"], "the listing does not end") {
		t.Errorf("broken's rows: %v", broken)
	}
	if len(rows) != 4 {
		t.Errorf("%d rows, want 4: %v", len(rows), rows)
	}
}

// TestSelfRepeatingNextLinkEndsTheCheck (issue 24, item 5): `offboard
// check`'s listing of the identity's own role assignments at a scope
// answers a page whose nextLink is itself. The page is read once, and the
// azure check is an error naming the problem instead of a check that
// never ends. The rule runs out after 50 answers (the check of old: 49
// reads).
func TestSelfRepeatingNextLinkEndsTheCheck(t *testing.T) {
	t.Parallel()
	a, args := checkTenant(t, simtenant.Config{Seed: 2402}, simtenant.ARMUserAccessAdministrator)
	const marker = "assignedTo-loop"
	a.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/providers/Microsoft.Authorization/roleAssignments",
		QueryContains: "assignedTo", Times: 50, Status: http.StatusOK, Body: listingPage(t, nil, "nextLink",
			a.url+a.s1+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&%24skiptoken="+marker)})
	r, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, args...)
	if n := loopReads(a.tenant, marker); n != 1 {
		t.Errorf("the self-repeating page was read %d times, want once", n)
	}
	wantCode(t, r, 1)
	if s, d := out.status("source", "azure"); s != "error" || !strings.Contains(d, "the listing does not end") {
		t.Errorf("azure: %q %q", s, d)
	}
	if s, _ := out.status("source", "directory"); s != "ok" {
		t.Errorf("directory: %q", s)
	}
}

package main

// Security checks as tests: what must never happen, whatever the input.

import (
	"encoding/csv"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

const deliberateViolation = "OFFBOARD_TEST_DELIBERATE_VIOLATION"

// TestDeliberateViolation only runs inside TestAViolationFailsTheTest: it
// sends what the contract forbids, a DELETE of a group member without
// /$ref (answered by a scripted 429, before any handler), and must fail.
func TestDeliberateViolation(t *testing.T) {
	t.Parallel()
	if os.Getenv(deliberateViolation) != "1" {
		t.Skip("run by TestAViolationFailsTheTest")
	}
	tn := startTenant(t, simtenant.Config{Seed: 900})
	g := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
	u, _ := tn.user("victim@contoso.com", 0)
	if err := tn.AddMember(g.ID, u); err != nil {
		t.Fatal(err)
	}
	tn.AddRule(simtenant.Rule{Method: http.MethodDelete, Times: 1, Status: http.StatusTooManyRequests})
	req, _ := http.NewRequest(http.MethodDelete, tn.url+"/v1.0/groups/"+g.ID+"/members/"+u, nil)
	req.Header.Set("Authorization", "Bearer "+tn.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestAViolationFailsTheTest proves the safety net under every end-to-end
// test: a request the simulated tenant records as a violation fails the
// test that sent it, even when no handler ever saw it.
func TestAViolationFailsTheTest(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeliberateViolation$", "-test.count=1")
	cmd.Env = append(os.Environ(), deliberateViolation+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a test that sent DELETE .../members/{id} without /$ref passed:\n%s", out)
	}
	if !strings.Contains(string(out), "a real one would punish") || !strings.Contains(string(out), "without /$ref") {
		t.Errorf("the failure does not name the violation:\n%s", out)
	}
}

// TestTheTokenCheckCatchesALeak proves the check every end-to-end run's
// report directory goes through.
func TestTheTokenCheckCatchesALeak(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.csv"), []byte("x,Bearer eyJ.secret.sig,y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &fatalRecorder{}
	checkNoToken(rec, dir, "eyJ.secret.sig")
	if !rec.failed {
		t.Error("a token written into the report directory went unnoticed")
	}
	rec = &fatalRecorder{}
	checkNoToken(rec, dir, "eyJ.other.sig")
	if rec.failed {
		t.Error("the check failed without a token")
	}
}

type fatalRecorder struct{ failed bool }

func (*fatalRecorder) Helper()                 {}
func (r *fatalRecorder) Fatalf(string, ...any) { r.failed = true }

// TestProtectSelfAndFormulas: --protect holds whether a line gives the
// principal's id or only its UPN; the job's own id (from the token's oid)
// is never touched; no report cell can run as a spreadsheet formula.
func TestProtectSelfAndFormulas(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 901})
	keep, keepIDs := tn.user("breakglass2@contoso.com", 2)
	self := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: tn.CallerID(), RoleDefinitionID: simtenant.UserAdministrator})
	gone, goneIDs := tn.user("mallory@contoso.com", 1)
	input := writeCSV(t,
		"principal_id,user_principal_name,reference",
		`,breakglass2@contoso.com,"=HYPERLINK(""http://evil.example/"",""x"")"`,
		tn.CallerID()+",,+SUM(1;2)",
		gone+",,@cmd",
		`"=1+1",,-2`,
		",\t=tab@contoso.com,\t=x",
	)
	dir := t.TempDir()
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--protect", keep)
	wantCode(t, r, 1) // the formula id and the tab UPN are invalid lines
	got := byAssignment(readReport(t, dir))
	for _, a := range keepIDs {
		if got[a]["status"] != "skipped" || got[a]["detail"] != "protected" {
			t.Errorf("protected row named by UPN only: %v", got[a])
		}
	}
	if got[self.ID]["status"] != "skipped" || got[self.ID]["detail"] != "self" {
		t.Errorf("self row: %v", got[self.ID])
	}
	if got[goneIDs[0]]["status"] != "removed" {
		t.Errorf("mallory's row: %v", got[goneIDs[0]])
	}
	for _, w := range tn.writes() {
		if strings.Contains(w.Path, keepIDs[0]) || strings.Contains(w.Path, keepIDs[1]) || strings.Contains(w.Path, self.ID) {
			t.Errorf("a write touched a protected or own assignment: %s %s", w.Method, w.Path)
		}
	}
	if len(tn.RoleAssignmentsOf(keep)) != 2 || len(tn.RoleAssignmentsOf(tn.CallerID())) != 1 {
		t.Error("a protected or own assignment is gone")
	}

	// Every cell, as a spreadsheet would read it.
	f, err := os.Open(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	neutralised := 0
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
			if strings.HasPrefix(cell, "'") {
				neutralised++
			}
		}
	}
	if neutralised < 4 {
		t.Errorf("%d neutralised cells, want the four formula references and the invalid id", neutralised)
	}
}

// TestStaticTokenOnlyOnLoopback: with OFFBOARD_STATIC_TOKEN, an endpoint
// off loopback (Graph or ARM) stops the run before any request.
func TestStaticTokenOnlyOnLoopback(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 902})
	id, _ := tn.user("nina@contoso.com", 1)
	input := writeCSV(t, "principal_id", id)
	proxy := startRecordingProxy(t) // sees a request to a real host, which the tenant's log cannot
	for _, args := range [][]string{
		{"--arm-endpoint", "https://management.azure.com", "--sources", "azure", "--azure-scopes", "all"},
		{"--graph-endpoint", "https://graph.microsoft.com"},
		{"--graph-endpoint", "https://127.0.0.1.nip.io"},
	} {
		r := tn.offboard(t, proxy.env(), append([]string{"run", "--input", input, "--report", t.TempDir()}, args...)...)
		proxy.wantNothingSent(t)
		wantCode(t, r, 2)
		if !strings.Contains(r.stderr, "OFFBOARD_STATIC_TOKEN") {
			t.Errorf("%v: stderr does not say why:\n%s", args, r.stderr)
		}
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

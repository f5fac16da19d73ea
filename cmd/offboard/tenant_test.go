package main

// Issue 31: many tenants, one deployment. The tenant is configuration
// (--tenant, OFFBOARD_TENANT_ID) and record (summary.json, the journal's
// run record, the pages); a token of another tenant is refused before
// any request, and so are restore and watch of another tenant's report.

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/simtenant"
)

const (
	tenantA = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
	tenantB = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
)

// firstRunRecord reads the first line of dir's journal: the run record
// naming the directory and its tenant.
func firstRunRecord(t *testing.T, dir string) (rec struct {
	Type     string `json:"type"`
	DirID    string `json:"dir_id"`
	TenantID string `json:"tenant_id"`
}) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatal("empty journal")
	}
	if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestTokenOfAnotherTenantIsRefusedBeforeAnyRequest: with --tenant (or
// OFFBOARD_TENANT_ID) naming tenant B, a token whose tid is tenant A's
// stops run, plan, watch and check's siblings with exit 2, and the tenant
// sees no request at all (the static token needs no token request).
func TestTokenOfAnotherTenantIsRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	a := startTenant(t, simtenant.Config{Seed: 311, TenantID: tenantA})
	id, _ := a.user("ann@a.example", 2)
	input := writeCSV(t, "principal_id", id)
	for name, tc := range map[string]struct {
		env  []string
		args []string
	}{
		"run --tenant":           {args: []string{"run", "--tenant", tenantB}},
		"run OFFBOARD_TENANT_ID": {env: []string{"OFFBOARD_TENANT_ID=" + tenantB}, args: []string{"run"}},
		"run OFFBOARD_TENANT":    {env: []string{"OFFBOARD_TENANT=" + strings.ToUpper(tenantB)}, args: []string{"run"}},
		"plan":                   {args: []string{"plan", "--tenant", tenantB}},
	} {
		t.Run(name, func(t *testing.T) {
			a.ResetRequests()
			dir := filepath.Join(t.TempDir(), "report")
			r := a.offboard(t, tc.env, append(tc.args, "--input", input, "--report", dir)...)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, "not for the tenant") || !strings.Contains(r.stderr, tenantA) {
				t.Errorf("stderr does not say the token is tenant %s's:\n%s", tenantA, r.stderr)
			}
			if n := len(a.Requests()); n != 0 {
				t.Errorf("%d requests reached the tenant, want 0", n)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("the report directory was created")
			}
		})
	}
	// The same configuration with the right tenant runs.
	dir := t.TempDir()
	wantCode(t, a.offboard(t, []string{"OFFBOARD_TENANT_ID=" + tenantA}, "run", "--input", input, "--report", dir), 0)
	if got := readSummary(t, dir).TenantID; got != tenantA {
		t.Errorf("summary.json tenant_id %q, want %q", got, tenantA)
	}
	a.ResetRequests()
	wantCode(t, a.offboard(t, nil, "watch", "--reports", dir, "--tenant", tenantB), 2)
	wantCode(t, a.offboard(t, nil, "restore", "--report", dir, "--principal", id, "--tenant", tenantB), 2)
	if n := len(a.Requests()); n != 0 {
		t.Errorf("refused watch and restore sent %d requests", n)
	}
}

// TestTenantFlagMustBeAGUID: a tenant that is not a GUID, or two
// variables naming two tenants, is a usage error before any request.
func TestTenantFlagMustBeAGUID(t *testing.T) {
	t.Parallel()
	a := startTenant(t, simtenant.Config{Seed: 312, TenantID: tenantA})
	input := writeCSV(t, "principal_id", "00000000-0000-0000-0000-000000000001")
	for name, env := range map[string][]string{
		"flag":         nil,
		"variable":     {"OFFBOARD_TENANT_ID=contoso.onmicrosoft.com"},
		"two tenants":  {"OFFBOARD_TENANT=" + tenantA, "OFFBOARD_TENANT_ID=" + tenantB},
		"unknown auth": {"OFFBOARD_AUTH=secret"},
		"static and federated": {"OFFBOARD_AUTH=federated", "OFFBOARD_TENANT_ID=" + tenantA,
			"AZURE_CLIENT_ID=" + tenantB, "OFFBOARD_MANAGED_IDENTITY_CLIENT_ID=" + tenantB},
	} {
		t.Run(name, func(t *testing.T) {
			a.ResetRequests()
			args := []string{"run", "--input", input, "--report", t.TempDir()}
			if name == "flag" {
				args = append(args, "--tenant", "contoso")
			}
			wantCode(t, a.offboard(t, env, args...), 2)
			if n := len(a.Requests()); n != 0 {
				t.Errorf("%d requests reached the tenant, want 0", n)
			}
		})
	}
	wantCode(t, a.offboard(t, nil, "restore", "--report", t.TempDir(), "--principal", "x@a.example", "--tenant", "x"), 2)
	wantCode(t, a.offboard(t, nil, "watch", "--reports", t.TempDir(), "--tenant", "x"), 2)
	wantCode(t, a.offboard(t, nil, "check", "--tenant", "x"), 2)
}

// TestTwoTenantsSideBySide: two simulated tenants, each with its own tid
// and its own data, run side by side; each run touches only its own
// tenant and records it; a token of one is refused for the other's
// report (restore, watch, a rerun into it), with or without --tenant.
func TestTwoTenantsSideBySide(t *testing.T) {
	t.Parallel()
	a := startTenant(t, simtenant.Config{Seed: 313, TenantID: tenantA})
	b := startTenant(t, simtenant.Config{Seed: 314, TenantID: tenantB})
	idA, assignA := a.user("ann@a.example", 2)
	idB, assignB := b.user("bob@b.example", 3)
	inputA, inputB := writeCSV(t, "principal_id", idA), writeCSV(t, "principal_id", idB)
	reportsA, reportsB := t.TempDir(), t.TempDir()
	dirA, dirB := filepath.Join(reportsA, "night"), filepath.Join(reportsB, "night")

	type done struct {
		r   result
		who string
	}
	ch := make(chan done, 2)
	go func() {
		ch <- done{a.offboard(t, nil, "run", "--tenant", tenantA, "--input", inputA, "--report", dirA), "a"}
	}()
	go func() {
		ch <- done{b.offboard(t, []string{"OFFBOARD_TENANT_ID=" + tenantB}, "run", "--input", inputB, "--report", dirB), "b"}
	}()
	for range 2 {
		d := <-ch
		wantCode(t, d.r, 0)
	}
	for _, c := range []struct {
		tn      *tenant
		dir     string
		tenant  string
		assigns []string
	}{{a, dirA, tenantA, assignA}, {b, dirB, tenantB, assignB}} {
		rows := byAssignment(readReport(t, c.dir))
		if len(rows) != len(c.assigns) {
			t.Errorf("%s: %d rows, want %d", c.dir, len(rows), len(c.assigns))
		}
		for _, id := range c.assigns {
			if rows[id]["status"] != "removed" {
				t.Errorf("%s: assignment %s %q, want removed", c.dir, id, rows[id]["status"])
			}
		}
		// Every write a tenant received is of its own assignments.
		for _, w := range c.tn.writes() {
			if !strings.Contains(strings.Join(c.assigns, " "), w.Path[strings.LastIndex(w.Path, "/")+1:]) {
				t.Errorf("tenant %s received a write of something not its own: %s %s", c.tenant, w.Method, w.Path)
			}
		}
		if got := readSummary(t, c.dir).TenantID; got != c.tenant {
			t.Errorf("%s: summary.json tenant_id %q, want %q", c.dir, got, c.tenant)
		}
		if rec := firstRunRecord(t, c.dir); rec.Type != "run" || rec.TenantID != c.tenant || rec.DirID == "" {
			t.Errorf("%s: first journal record %+v, want a run record of tenant %s next to its dir_id", c.dir, rec, c.tenant)
		}
		page, err := os.ReadFile(filepath.Join(c.dir, "summary.html"))
		if err != nil || !strings.Contains(string(page), `id="tenant">`+c.tenant+`</td>`) {
			t.Errorf("%s: summary.html does not name tenant %s (%v)", c.dir, c.tenant, err)
		}
	}

	// B's token, for A's report: refused whether B names its tenant or
	// not, and neither tenant sees a request.
	a.ResetRequests()
	b.ResetRequests()
	for _, extra := range [][]string{nil, {"--tenant", tenantB}, {"--tenant", tenantA}} {
		r := b.offboard(t, nil, append([]string{"restore", "--report", dirA, "--principal", idA}, extra...)...)
		wantCode(t, r, 2)
		if !strings.Contains(r.stderr, "another tenant") && !strings.Contains(r.stderr, "not for the tenant") {
			t.Errorf("restore %v: stderr does not say why:\n%s", extra, r.stderr)
		}
		wantCode(t, b.offboard(t, nil, append([]string{"watch", "--reports", reportsA}, extra...)...), 2)
	}
	// A rerun with B's token into A's report directory, same input.
	r := b.offboard(t, nil, "run", "--input", inputA, "--report", dirA)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "another tenant") {
		t.Errorf("rerun into another tenant's report: stderr does not say why:\n%s", r.stderr)
	}
	if n := len(a.Requests()) + len(b.Requests()); n != 0 {
		t.Errorf("refused commands sent %d requests", n)
	}
	for _, f := range []string{"restore.csv", "restore.jsonl"} {
		if _, err := os.Stat(filepath.Join(dirA, f)); err == nil {
			t.Errorf("a refused restore wrote %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(reportsA, "watch")); err == nil {
		t.Error("a refused watch wrote its report")
	}

	// A's own token restores A's report, and watches A's reports.
	wantCode(t, a.offboard(t, nil, "restore", "--report", dirA, "--principal", idA, "--dry-run"), 0)
	w := a.offboard(t, nil, "watch", "--reports", reportsA, "--tenant", tenantA)
	wantCode(t, w, 0)
	att := readAttestation(t, filepath.Join(reportsA, "watch", time.Now().UTC().Format(time.DateOnly)))
	if att.TenantID != tenantA {
		t.Errorf("attestation tenant_id %q, want %q", att.TenantID, tenantA)
	}
}

// TestReportsWithoutATenantStillRestoreAndWatch: a report written before
// tenants were recorded names none: restore and watch read it under any
// tenant, as before.
func TestReportsWithoutATenantStillRestoreAndWatch(t *testing.T) {
	t.Parallel()
	a := startTenant(t, simtenant.Config{Seed: 315, TenantID: tenantA})
	id, _ := a.user("old@a.example", 0)
	reports := t.TempDir()
	dir := filepath.Join(reports, "legacy")
	writeRemovedReport(t, dir, testJournalKey, time.Now().Add(-24*time.Hour), id, "legacy-assignment")
	if rec := firstRunRecord(t, dir); rec.TenantID != "" {
		t.Fatalf("the legacy report names tenant %q", rec.TenantID)
	}
	w := a.offboard(t, nil, "watch", "--reports", reports, "--tenant", tenantA)
	wantCode(t, w, 0)
	att := readAttestation(t, filepath.Join(reports, "watch", time.Now().UTC().Format(time.DateOnly)))
	if v := verdictsOf(att)[id]; v.Verdict != "clean" {
		t.Errorf("the legacy report's principal: verdict %q, want clean", v.Verdict)
	}
	r := a.offboard(t, nil, "restore", "--report", dir, "--principal", id, "--dry-run", "--tenant", tenantA)
	if r.code == 2 {
		t.Errorf("restore of a report without a tenant refused:\n%s", r.stderr)
	}
}

// TestDeployFixesEachJobsTenant: deploy/ makes, per entry of its tenants
// parameter, jobs whose tenant id is that entry's and whose drop folder,
// processed folder and reports are under that entry's name, so that a
// file dropped under one tenant's prefix can only run against that
// tenant (the job refuses any other tenant's token, and any other
// tenant's report: TestTwoTenantsSideBySide). The example parameters
// file is two tenants.
func TestDeployFixesEachJobsTenant(t *testing.T) {
	b, err := os.ReadFile("../../deploy/job.bicep")
	if err != nil {
		t.Fatal(err)
	}
	bicep := string(b)
	for _, want := range []string{
		"resource job 'Microsoft.App/jobs@2024-03-01' = [for t in tenants: {",
		"resource watchJob 'Microsoft.App/jobs@2024-03-01' = [for t in tenants: {",
		"'${blobEndpoint}${incoming.name}/${t.name}/'",
		"'${blobEndpoint}${reports.name}/${t.name}/'",
		"'${blobEndpoint}${processed.name}/${t.name}/'",
		"blobPrefix: '${t.name}/'",
		"registries: registries",
		"keyVaultUrl: '${vault.properties.vaultUri}secrets/journal-key'",
	} {
		if !strings.Contains(bicep, want) {
			t.Errorf("deploy/job.bicep lacks %s", want)
		}
	}
	if n := strings.Count(bicep, "{ name: 'OFFBOARD_TENANT_ID', value: t.id }"); n != 2 {
		t.Errorf("deploy/job.bicep fixes OFFBOARD_TENANT_ID from the tenant's entry in %d jobs, want 2 (run and watch)", n)
	}
	p, err := os.ReadFile("../../deploy/tenants.example.json")
	if err != nil {
		t.Fatal(err)
	}
	var params struct {
		Parameters struct {
			Tenants struct {
				Value []struct{ ID, Name string }
			} `json:"tenants"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(p, &params); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, tn := range params.Parameters.Tenants.Value {
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(tn.ID) ||
			!regexp.MustCompile(`^[a-z0-9-]{1,12}$`).MatchString(tn.Name) || seen[tn.Name] || seen[tn.ID] {
			t.Errorf("tenants.example.json: entry %+v: an id GUID, a short unique name", tn)
		}
		seen[tn.Name], seen[tn.ID] = true, true
	}
	if len(params.Parameters.Tenants.Value) != 2 {
		t.Errorf("tenants.example.json holds %d tenants, want 2", len(params.Parameters.Tenants.Value))
	}
}

// TestCheckTenant: check --tenant says whether a token for the tenant can
// be had; a token of another tenant is an error line naming the fix, and
// nothing else is read.
func TestCheckTenant(t *testing.T) {
	t.Parallel()
	a := startTenant(t, simtenant.Config{Seed: 316, TenantID: tenantA})
	r := a.offboard(t, nil, "check", "--tenant", tenantA, "--output", "json")
	wantCode(t, r, 0)
	var out struct {
		Checks []struct{ Check, Name, Status, Fix string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	found := false
	for _, res := range out.Checks {
		if res.Check == "tenant" {
			found = res.Name == tenantA && res.Status == "ok"
		}
	}
	if !found {
		t.Errorf("no tenant line ok for %s:\n%s", tenantA, r.stdout)
	}
	a.ResetRequests()
	r = a.offboard(t, nil, "check", "--tenant", tenantB)
	wantCode(t, r, 1)
	if !strings.Contains(r.stdout, "tenant") || !strings.Contains(r.stdout, "OFFBOARD_AUTH=federated") {
		t.Errorf("the check does not say the token is another tenant's:\n%s", r.stdout)
	}
	if n := len(a.Requests()); n != 0 {
		t.Errorf("check under another tenant's token sent %d requests", n)
	}
}

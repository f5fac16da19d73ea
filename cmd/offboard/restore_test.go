package main

// End-to-end tests of `offboard restore`: a run removes, the restore puts
// back, against the simulated tenant over HTTP.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// readRestore reads restore.csv, checking that its header is report.csv's.
func readRestore(t *testing.T, dir string) ([]row, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "restore.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runHeader, err := csv.NewReader(f).Read()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], runHeader) {
		t.Fatalf("restore.csv header %v, report.csv's %v", recs[0], runHeader)
	}
	var rows []row
	for _, rec := range recs[1:] {
		r := row{}
		for i, h := range recs[0] {
			r[h] = rec[i]
		}
		rows = append(rows, r)
	}
	return rows, b
}

func readRestoreSummary(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "restore-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// roleKeys lists a principal's directory assignments as role@scope.
func roleKeys(tn *tenant, principal string) []string {
	var out []string
	for _, a := range tn.RoleAssignmentsOf(principal) {
		out = append(out, a.RoleDefinitionID+"@"+a.DirectoryScopeID)
	}
	slices.Sort(out)
	return out
}

// schedule is an eligibility as the tests compare it.
type schedule struct {
	role, scope string
	start, end  time.Time
}

func eligibilitiesOf(tn *tenant, principal string) []schedule {
	var out []schedule
	for _, e := range tn.EligibilitiesOf(principal) {
		s := schedule{role: e.RoleDefinitionID, scope: e.DirectoryScopeID, start: e.StartDateTime}
		if e.EndDateTime != nil {
			s.end = *e.EndDateTime
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b schedule) int { return strings.Compare(a.role, b.role) })
	return out
}

func armEligibilitiesOf(a *azureTenant, principal string) []schedule {
	var out []schedule
	for _, e := range a.ARMEligibilitySchedulesOf(principal) {
		out = append(out, schedule{role: e.RoleDefinitionID, scope: e.Scope, start: e.StartDateTime, end: e.EndDateTime})
	}
	slices.SortFunc(out, func(a, b schedule) int { return strings.Compare(a.role+a.scope, b.role+b.scope) })
	return out
}

func TestRestorePutsBackEverySource(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 30, RevokedLinger: time.Hour})
	now := time.Now().UTC().Truncate(time.Second)
	user, _ := a.user("ann@contoso.com", 2)
	a.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: user, RoleDefinitionID: simtenant.SecurityReader,
		DirectoryScopeID: "/administrativeUnits/00000000-0000-0000-0000-000000000042"})
	stays, stayRoles := a.user("ben@contoso.com", 1)
	future := a.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.PrivilegedRoleAdministrator,
		StartDateTime: now.Add(24 * time.Hour), EndDateTime: ptr(now.Add(30 * 24 * time.Hour))})
	started := a.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.GlobalReader,
		StartDateTime: now.Add(-48 * time.Hour), EndDateTime: ptr(now.Add(10 * 24 * time.Hour))})
	permanent := a.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.UserAdministrator,
		StartDateTime: now.Add(-time.Hour)})
	tier0 := a.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	staff := a.AddGroup(simtenant.Group{DisplayName: "All Staff"})
	for _, g := range []string{tier0.ID, staff.ID} {
		if err := a.AddMember(g, user); err != nil {
			t.Fatal(err)
		}
	}
	conditioned := a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: user, Scope: a.s1,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMOwner),
		Condition:        "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'logs'",
		Description:      "on-call owner"})
	atRG := a.assign(user, a.rg, simtenant.ARMContributor)
	atMG := a.assign(user, a.mg, simtenant.ARMReader)
	elig := a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: user, Scope: a.s2,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s2, simtenant.ARMOwner),
		StartDateTime:    now.Add(2 * time.Hour), EndDateTime: now.Add(90 * 24 * time.Hour)})

	roles := roleKeys(a.tenant, user)
	eligible := eligibilitiesOf(a.tenant, user)
	var armBefore []simtenant.ARMRoleAssignment
	for _, id := range []string{conditioned.ID, atRG, atMG} {
		ra, _ := a.ARMRoleAssignment(id)
		armBefore = append(armBefore, ra)
	}
	armEligible := armEligibilitiesOf(a, user)

	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}
	input := writeCSV(t, "principal_id,user_principal_name,reference", user+",ann@contoso.com,HR-7", stays+",,HR-8")
	wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", dir,
		"--sources", "directory,pim,groups,azure", "--azure-scopes", a.s1+","+a.s2), 0)
	if len(a.RoleAssignmentsOf(user)) != 0 || len(a.EligibilitiesOf(user)) != 0 || slices.Contains(a.MemberOf(user), tier0.ID) ||
		len(a.ARMRoleAssignmentsOf(user)) != 0 || len(a.ARMEligibilitySchedulesOf(user)) != 0 {
		t.Fatal("the run left something to restore in place")
	}
	removed := 0
	for _, r := range readReport(t, dir) {
		if r["principal_id"] == user && r["status"] == "removed" {
			removed++
		}
	}

	a.ResetRequests()
	r := a.offboard(t, env, "restore", "--report", dir, "--principal", "ANN@contoso.com")
	wantCode(t, r, 0)
	rows, before := readRestore(t, dir)
	if len(rows) != removed || removed != 3+3+1+4 {
		t.Errorf("%d restore rows for %d removals", len(rows), removed)
	}
	for _, row := range rows {
		if row["status"] != "restored" || row["principal_id"] != user || row["user_principal_name"] != "ann@contoso.com" || row["reference"] != "HR-7" {
			t.Errorf("row %v", row)
		}
	}

	if got := roleKeys(a.tenant, user); !slices.Equal(got, roles) {
		t.Errorf("directory roles after the restore %v, before the run %v", got, roles)
	}
	if got := roleKeys(a.tenant, stays); len(got) != 0 || len(stayRoles) != 1 {
		t.Errorf("the other principal got %v back", got)
	}
	got := eligibilitiesOf(a.tenant, user)
	if len(got) != len(eligible) {
		t.Fatalf("eligibilities after the restore %v, before the run %v", got, eligible)
	}
	for i, e := range got {
		want := eligible[i]
		if e.role != want.role || e.scope != want.scope || !e.end.Equal(want.end) {
			t.Errorf("eligibility %+v, want %+v", e, want)
		}
		switch e.role {
		case future.RoleDefinitionID:
			if !e.start.Equal(want.start) {
				t.Errorf("future eligibility starts %v, want %v", e.start, want.start)
			}
		case started.RoleDefinitionID, permanent.RoleDefinitionID:
			if e.start.Before(now) || e.start.After(time.Now().Add(time.Minute)) {
				t.Errorf("an eligibility whose start had passed starts %v, want now", e.start)
			}
		}
	}
	if !slices.Contains(a.MemberOf(user), tier0.ID) || !slices.Contains(a.MemberOf(user), staff.ID) {
		t.Errorf("memberships after the restore %v", a.MemberOf(user))
	}
	for _, want := range armBefore {
		ra, ok := a.ARMRoleAssignment(want.ID)
		if !ok {
			t.Errorf("Azure assignment %s was not put back under its id", want.ID)
			continue
		}
		if ra.RoleDefinitionID != want.RoleDefinitionID || ra.PrincipalType != want.PrincipalType || ra.Scope != want.Scope ||
			ra.Condition != want.Condition || ra.ConditionVersion != want.ConditionVersion || ra.Description != want.Description {
			t.Errorf("Azure assignment %+v, before the run %+v", ra, want)
		}
	}
	if got := armEligibilitiesOf(a, user); len(got) != 1 || got[0].role != armEligible[0].role || got[0].scope != armEligible[0].scope ||
		!got[0].start.Equal(armEligible[0].start) || !got[0].end.Equal(armEligible[0].end) {
		t.Errorf("Azure eligibilities after the restore %v, before the run %v (%s)", got, armEligible, elig.ID)
	}
	for _, w := range a.writes() {
		if w.Method != http.MethodPost && w.Method != http.MethodPut {
			t.Errorf("the restore sent %s %s", w.Method, w.Path)
		}
		if strings.Contains(w.Path, "roleEligibilityScheduleRequests") && !strings.Contains(string(w.Body), "offboard restore") {
			t.Errorf("a PIM request without the restore's justification: %s", w.Body)
		}
	}
	if s := readRestoreSummary(t, dir); !strings.Contains(s, `"restored": 11`) || !strings.Contains(s, `"exit_code": 0`) {
		t.Errorf("restore-summary.json:\n%s", s)
	}

	// Again: nothing is sent, restore.csv stays byte for byte the same.
	a.ResetRequests()
	wantCode(t, a.offboard(t, env, "restore", "--report", dir, "--principal", user), 0)
	if _, after := readRestore(t, dir); !bytes.Equal(before, after) {
		t.Errorf("the second restore changed restore.csv:\n%s\n---\n%s", before, after)
	}
	if w := a.writes(); len(w) != 0 {
		t.Errorf("the second restore sent %s %s", w[0].Method, w[0].Path)
	}
}

func TestRestoreOnePrincipalOfThree(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 31})
	var ids []string
	lines := []string{"principal_id,user_principal_name"}
	for i := range 3 {
		upn := fmt.Sprintf("p%d@contoso.com", i)
		tn.user(upn, 2)
		u, _ := tn.User(upn)
		ids = append(ids, u.ID)
		lines = append(lines, ","+upn)
	}
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, lines...), "--report", dir), 0)
	tn.ResetRequests()

	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--principal", "p1@contoso.com"), 0)
	for i, id := range ids {
		if n := len(tn.RoleAssignmentsOf(id)); n != map[bool]int{true: 2, false: 0}[i == 1] {
			t.Errorf("principal %d holds %d roles after restoring p1 only", i, n)
		}
	}
	for _, w := range tn.writes() {
		if !strings.Contains(string(w.Body), ids[1]) {
			t.Errorf("a write for someone else: %s %s %s", w.Method, w.Path, w.Body)
		}
	}
	rows, _ := readRestore(t, dir)
	if len(rows) != 2 {
		t.Errorf("%d rows, want p1's 2", len(rows))
	}

	// Another principal later, named through a variable: the first one's
	// rows stay as they were.
	wantCode(t, tn.offboard(t, []string{"OFFBOARD_PRINCIPAL=" + strings.ToUpper(ids[2])}, "restore", "--report", dir), 0)
	rows, _ = readRestore(t, dir)
	who := map[string]int{}
	for _, r := range rows {
		if r["status"] != "restored" {
			t.Errorf("row %v", r)
		}
		who[r["principal_id"]]++
	}
	if len(rows) != 4 || who[ids[1]] != 2 || who[ids[2]] != 2 {
		t.Errorf("rows by principal %v", who)
	}
	if len(tn.RoleAssignmentsOf(ids[0])) != 0 {
		t.Error("p0 was restored")
	}
}

func TestRestoreAlreadyPresentAndExpired(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 32})
	now := time.Now().UTC().Truncate(time.Second)
	user, roles := a.user("cal@contoso.com", 2)
	grp := a.AddGroup(simtenant.Group{DisplayName: "Tier1", IsAssignableToRole: true})
	if err := a.AddMember(grp.ID, user); err != nil {
		t.Fatal(err)
	}
	// Listed though it has ended: the simulated tenant keeps it.
	expired := a.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.GlobalReader,
		StartDateTime: now.Add(-72 * time.Hour), EndDateTime: ptr(now.Add(-time.Hour))})
	owner := a.assign(user, a.s1, simtenant.ARMOwner)
	first, _ := a.RoleAssignment(roles[0])
	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}
	wantCode(t, a.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir,
		"--sources", "directory,pim,groups,azure", "--azure-scopes", a.s1), 0)

	// Someone puts some of it back by hand before the restore.
	a.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: user, RoleDefinitionID: first.RoleDefinitionID, DirectoryScopeID: first.DirectoryScopeID})
	if err := a.AddMember(grp.ID, user); err != nil {
		t.Fatal(err)
	}
	a.assign(user, a.s1, simtenant.ARMOwner) // under another name

	r := a.offboard(t, env, "restore", "--all", "--report", dir)
	wantCode(t, r, 1)
	rows, _ := readRestore(t, dir)
	got := byAssignment(rows)
	for id, want := range map[string]string{roles[0]: "already-present", roles[1]: "restored", grp.ID: "already-present",
		owner: "already-present", expired.ID: "failed"} {
		if got[id]["status"] != want {
			t.Errorf("%s: %v, want %s", id, got[id], want)
		}
	}
	if d := got[expired.ID]["detail"]; !strings.Contains(d, "expired") {
		t.Errorf("expired eligibility detail %q", d)
	}
	if got[owner]["detail"] == "" || got[roles[0]]["detail"] == "" {
		t.Errorf("already-present rows without the service's answer: %v %v", got[owner], got[roles[0]])
	}
	if len(a.RoleAssignmentsOf(user)) != 2 || len(a.ARMRoleAssignmentsOf(user)) != 1 {
		t.Errorf("duplicates: %d directory, %d Azure", len(a.RoleAssignmentsOf(user)), len(a.ARMRoleAssignmentsOf(user)))
	}
}

func TestRestoreDryRunAndGuard(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 33})
	id, ids := tn.user("dan@contoso.com", 4)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)
	journal, _ := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	runReport, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	tn.ResetRequests()

	wantCode(t, tn.offboard(t, nil, "restore", "--all", "--report", dir, "--dry-run"), 0)
	rows, _ := readRestore(t, dir)
	if len(rows) != len(ids) {
		t.Errorf("%d rows, want %d", len(rows), len(ids))
	}
	for _, r := range rows {
		if r["status"] != "planned" {
			t.Errorf("dry-run row %v", r)
		}
	}

	r := tn.offboard(t, []string{"OFFBOARD_MAX_REMOVALS=3"}, "restore", "--all", "--report", dir)
	wantCode(t, r, 3)
	if s := readRestoreSummary(t, dir); !strings.Contains(s, "--max-removals 3") || !strings.Contains(s, `"planned": 4`) {
		t.Errorf("restore-summary.json after the guard:\n%s", s)
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("a dry run or the guard let %s %s through", w[0].Method, w[0].Path)
	}
	if len(tn.RoleAssignmentsOf(id)) != 0 {
		t.Error("something was restored")
	}

	wantCode(t, tn.offboard(t, []string{"OFFBOARD_MAX_REMOVALS=3"}, "restore", "--all", "--report", dir, "--max-removals", "4"), 0)
	if len(tn.RoleAssignmentsOf(id)) != len(ids) {
		t.Errorf("%d roles back, want %d", len(tn.RoleAssignmentsOf(id)), len(ids))
	}
	// The run's own files are the run's.
	if b, _ := os.ReadFile(filepath.Join(dir, "journal.jsonl")); !bytes.Equal(b, journal) {
		t.Error("a restore changed the run's journal")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.csv")); !bytes.Equal(b, runReport) {
		t.Error("a restore changed report.csv")
	}
}

func TestRestoreRefusals(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 34})
	id, _ := tn.user("eve@contoso.com", 1)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)
	tn.ResetRequests()

	empty := t.TempDir()
	r := tn.offboard(t, nil, "restore", "--all", "--report", empty)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "no run journal") {
		t.Errorf("stderr does not say why: %s", r.stderr)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("a refused restore left %d files in the directory", len(entries))
	}

	r = tn.offboard(t, nil, "restore", "--report", dir, "--principal", "nobody@contoso.com")
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "nobody@contoso.com") {
		t.Errorf("stderr does not name the principal: %s", r.stderr)
	}
	wantCode(t, tn.offboard(t, nil, "restore"), 2)

	// A run (or restore) holding the directory keeps a restore out.
	held, err := report.Open(dir, readSummary(t, dir).InputSHA256, report.RunInfo{ID: "held", Key: e2eKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	r = tn.offboard(t, nil, "restore", "--all", "--report", dir)
	_ = held.Close()
	wantCode(t, r, 2)
	if _, err := os.Stat(filepath.Join(dir, "restore.csv")); err == nil {
		t.Error("refused restores wrote restore.csv")
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("refused restores sent %d requests", n)
	}
}

func TestParseRestoreFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"OFFBOARD_REPORT":       "out",
		"OFFBOARD_PRINCIPAL":    "a@contoso.com, b@contoso.com",
		"OFFBOARD_MAX_REMOVALS": "5",
		"OFFBOARD_INPUT":        "ignored.csv",
		"OFFBOARD_SOURCES":      "azure",
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	c, err := parseRestoreFlags([]string{"--max-removals", "7", "--concurrency", "3"}, lookup, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Report != "out" || c.MaxRemovals != 7 || c.Concurrency != 3 || !slices.Equal(c.Principals, []string{"a@contoso.com", "b@contoso.com"}) {
		t.Errorf("config %+v", c)
	}
	if c.GraphEndpoint != "https://graph.microsoft.com" || c.Grace != 15*time.Second {
		t.Errorf("defaults not filled: %+v", c.Config)
	}
	c, err = parseRestoreFlags([]string{"--report", "x", "--principal", "a", "--principal", "b,c"}, lookup, io.Discard)
	if err != nil || !slices.Equal(c.Principals, []string{"a", "b", "c"}) {
		t.Errorf("flags must win over the variable: %v %v", c.Principals, err)
	}
	for _, args := range [][]string{
		{},
		{"--report", "x", "--concurrency", "0"},
		{"--report", "x", "--graph-endpoint", "http://graph.example.com"},
		{"--report", "x", "--input", "in.csv"},
		{"--report", "x", "stray"},
		{"--report", "https://acct.blob.core.windows.net/reports/2026-11-23/?sig=x", "--all"}, // issue 15: a blob report is restored from, a SAS is not
		{"--report", "x"}, // issue 27: --principal or --all
		{"--report", "x", "--principal", "a", "--all"}, // not both
	} {
		if _, err := parseRestoreFlags(args, func(string) (string, bool) { return "", false }, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if c, err := parseRestoreFlags([]string{"--report", "https://acct.blob.core.windows.net/reports/2026-11-23/", "--all"}, func(string) (string, bool) { return "", false }, io.Discard); err != nil || !c.ReportAt.IsBlob() {
		t.Errorf("a blob report location: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

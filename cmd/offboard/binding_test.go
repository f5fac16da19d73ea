package main

// End-to-end tests of issue 24: whoever can write the report location,
// without the journal key, cannot make `restore` put back more than the
// run in that directory removed, nor `watch` count a report twice. Each
// fails on the code before issue 24 (see SECURITY.md).

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// globalAdmins adds a principal that keeps Global Administrator (so that
// the last-Global-Administrator guard does not hold the leaver's back) and
// a leaver holding it; it returns the leaver.
func globalAdmin(tn *tenant, upn string) string {
	keeper := tn.AddUser(simtenant.User{UserPrincipalName: "keeper-" + upn, DisplayName: "keeper"})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: keeper.ID, RoleDefinitionID: simtenant.GlobalAdministrator, DirectoryScopeID: "/"})
	u := tn.AddUser(simtenant.User{UserPrincipalName: upn, DisplayName: upn})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: simtenant.GlobalAdministrator, DirectoryScopeID: "/"})
	return u.ID
}

func holdsGlobalAdmin(tn *tenant, id string) bool {
	for _, a := range tn.RoleAssignmentsOf(id) {
		if a.RoleDefinitionID == simtenant.GlobalAdministrator {
			return true
		}
	}
	return false
}

// restoreSummary is what the tests read of restore-summary.json.
type restoreSummary struct {
	Counts        map[string]int `json:"counts"`
	TrustUnsigned bool           `json:"trust_unsigned"`
	UnsignedLines int            `json:"unsigned_lines"`
}

// dirIDField is a run record's directory id, which a journal written
// before issue 24 does not carry.
var dirIDField = regexp.MustCompile(`"dir_id":"[0-9a-f]*",`)

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// Issue 24, item 1: journal.jsonl copied from August's report directory
// (alice lost Global Administrator) into tonight's made `restore --report
// tonight` give alice Global Administrator back. Now the journal does not
// match tonight's authenticated summary: exit 2, naming the file, nothing
// sent, with or without --trust-unsigned.
func TestCopiedJournalMakesRestoreGrantNothing(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 241})
	alice := globalAdmin(tn, "alice@contoso.com")
	bob, _ := tn.user("bob@contoso.com", 1)
	august, tonight := t.TempDir(), t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", alice), "--report", august), 0)
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", bob), "--report", tonight), 0)
	if holdsGlobalAdmin(tn, alice) {
		t.Fatal("the August run left alice Global Administrator")
	}
	path := filepath.Join(tonight, "journal.jsonl")
	copyFile(t, filepath.Join(august, "journal.jsonl"), path)

	for _, args := range [][]string{{"--principal", alice}, {"--principal", alice + "," + bob}, {"--principal", alice, "--trust-unsigned"}} {
		tn.ResetRequests()
		r := tn.offboard(t, nil, append([]string{"restore", "--report", tonight}, args...)...)
		wantCode(t, r, 2)
		if !strings.Contains(r.stderr, path) {
			t.Errorf("%v: stderr does not name %s:\n%s", args, path, r.stderr)
		}
		if w := tn.writes(); len(w) != 0 {
			t.Errorf("%v: the restore sent %s %s", args, w[0].Method, w[0].Path)
		}
		if holdsGlobalAdmin(tn, alice) {
			t.Fatalf("%v: the restore gave alice Global Administrator back", args)
		}
	}
	if _, err := os.Stat(filepath.Join(tonight, "restore.jsonl")); err == nil {
		t.Error("the refused restore wrote restore.jsonl")
	}
	// In its own directory the journal restores as before.
	wantCode(t, tn.offboard(t, nil, "restore", "--report", august, "--principal", alice), 0)
	if !holdsGlobalAdmin(tn, alice) {
		t.Error("the August restore did not put alice's role back")
	}
}

// Issue 24, item 2: a journal cut after its `applying` line made restore
// put back what the run never removed: an assignment someone else had
// removed (the run found it already-absent) was granted again, restored:2
// where an honest restore counts 1. Now the summary vouches for the
// journal's length: a cut journal is refused (exit 2); with the summary
// gone too (a run killed before writing it), restore acts only on
// removals the journal confirms, and says so.
func TestCutJournalMakesRestoreDoLessNeverMore(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 242})
	id, ids := tn.user("leaver@contoso.com", 2)
	removed, gone := ids[0], ids[1]
	// gone is removed by someone else between the listing and its DELETE,
	// which is answered last (so that its outcome is the journal's last).
	tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: gone, Times: 1, Delay: 300 * time.Millisecond,
		Before: func(*http.Request) { tn.RemoveRoleAssignment(gone) }})
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir, "--graph-batch-size", "1"), 0)
	rows := byAssignment(readReport(t, dir))
	if rows[removed]["status"] != "removed" || rows[gone]["status"] != "already-absent" {
		t.Fatalf("the run reported %v", rows)
	}

	path := filepath.Join(dir, "journal.jsonl")
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(whole), "\n")
	if last := lines[len(lines)-2]; !strings.Contains(last, `"type":"outcome"`) || !strings.Contains(last, gone) {
		t.Fatalf("the journal's last line is not %s's outcome: %s", gone, last)
	}
	cut := func(after func(string) bool) {
		t.Helper()
		for i, l := range lines {
			if after(l) {
				if err := os.WriteFile(path, []byte(strings.Join(lines[:i+1], "")), 0o640); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		t.Fatal("no line to cut after")
	}

	// Cut after applying: refused while the summary vouches for more.
	cut(func(l string) bool { return strings.Contains(l, `"type":"applying"`) })
	tn.ResetRequests()
	r := tn.offboard(t, nil, "restore", "--report", dir, "--principal", id)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "cut short") {
		t.Errorf("stderr does not name %s as cut short:\n%s", path, r.stderr)
	}
	if len(tn.writes()) != 0 || len(tn.RoleAssignmentsOf(id)) != 0 {
		t.Fatal("the refused restore granted something")
	}

	// The summary gone too: only what the journal confirms is restored.
	if err := os.Remove(filepath.Join(dir, "summary.json")); err != nil {
		t.Fatal(err)
	}
	cut(func(l string) bool { return strings.Contains(l, `"type":"outcome"`) && strings.Contains(l, removed) })
	r = tn.offboard(t, nil, "restore", "--report", dir, "--principal", id)
	wantCode(t, r, 0)
	var s restoreSummary
	if err := json.Unmarshal([]byte(readRestoreSummary(t, dir)), &s); err != nil {
		t.Fatal(err)
	}
	if s.Counts[string(job.Restored)] != 1 {
		t.Errorf("restored %d, want 1 (the one removal the journal confirms)", s.Counts[string(job.Restored)])
	}
	held := tn.RoleAssignmentsOf(id)
	if len(held) != 1 || held[0].ID != removed {
		t.Errorf("the leaver holds %v, want only %s back", held, removed)
	}
	if !strings.Contains(r.stderr, "only the removals the journal confirms") {
		t.Errorf("the restore does not say it acts only on confirmed removals:\n%s", r.stderr)
	}
}

// Issue 24, item 3: every MAC stripped from a journal whose directory
// holds an authenticated summary, a forged Global Administrator line
// added, and `restore --trust-unsigned` granted it. Now --trust-unsigned
// reads only reports written before records were authenticated: exit 2,
// nothing sent. In such a report it still works, logs every unsigned line
// it acts on, and records the decision in restore-summary.json and .html.
func TestStrippedMACsAndTrustUnsignedGrantNothing(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 243})
	id, ids := tn.user("leaver@contoso.com", 1)
	keeper := tn.AddUser(simtenant.User{UserPrincipalName: "keeper@contoso.com"})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: keeper.ID, RoleDefinitionID: simtenant.GlobalAdministrator, DirectoryScopeID: "/"})
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)

	path := filepath.Join(dir, "journal.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stripped, plan strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		stripped.WriteString(unsignedLine(l))
		if strings.Contains(l, `"type":"plan"`) && strings.Contains(l, ids[0]) {
			plan.WriteString(unsignedLine(l))
		}
	}
	forged := strings.ReplaceAll(plan.String(), ids[0], "forged-ga")
	forged = strings.ReplaceAll(forged, simtenant.UserAdministrator, simtenant.GlobalAdministrator)
	if !strings.Contains(forged, simtenant.GlobalAdministrator) {
		t.Fatalf("could not forge a Global Administrator line from %s", plan.String())
	}
	forged = strings.Replace(forged, `"state":"planned"`, `"state":"removed"`, 1)
	if err := os.WriteFile(path, []byte(stripped.String()+forged), 0o640); err != nil {
		t.Fatal(err)
	}
	tn.ResetRequests()
	r := tn.offboard(t, nil, "restore", "--report", dir, "--principal", id, "--trust-unsigned")
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "summary.json") {
		t.Errorf("stderr does not name %s and the authenticated summary:\n%s", path, r.stderr)
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the restore sent %s %s %s", w[0].Method, w[0].Path, w[0].Body)
	}
	if holdsGlobalAdmin(tn, id) {
		t.Fatal("--trust-unsigned granted the forged Global Administrator line")
	}

	// A report written before records were authenticated: --trust-unsigned
	// reads it, names every line it acts on, and records the decision.
	// (As the job wrote them then: no MAC, no directory id, an unsigned
	// summary.)
	other, otherIDs := tn.user("other@contoso.com", 1)
	legacy := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", other), "--report", legacy), 0)
	b, err = os.ReadFile(filepath.Join(legacy, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var old strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		old.WriteString(dirIDField.ReplaceAllString(unsignedLine(l), ""))
	}
	if err := os.WriteFile(filepath.Join(legacy, "journal.jsonl"), []byte(old.String()), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(legacy, "summary.json")); err != nil {
		t.Fatal(err)
	}
	id, ids = other, otherIDs
	unsignedLines := strings.Count(old.String(), "\n")
	r = tn.offboard(t, nil, "restore", "--report", legacy, "--principal", id, "--trust-unsigned")
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, "without a MAC") || !strings.Contains(r.stderr, ids[0]) {
		t.Errorf("the unsigned line acted on is not logged:\n%s", r.stderr)
	}
	var s restoreSummary
	if err := json.Unmarshal([]byte(readRestoreSummary(t, legacy)), &s); err != nil {
		t.Fatal(err)
	}
	if !s.TrustUnsigned || s.UnsignedLines != unsignedLines || s.Counts[string(job.Restored)] != 1 {
		t.Errorf("restore-summary.json: trust_unsigned %v, unsigned_lines %d, restored %d; want true, %d, 1",
			s.TrustUnsigned, s.UnsignedLines, s.Counts[string(job.Restored)], unsignedLines)
	}
	html, err := os.ReadFile(filepath.Join(legacy, "restore-summary.html"))
	if err != nil || !strings.Contains(string(html), `id="trust-unsigned"`) {
		t.Errorf("restore-summary.html does not show --trust-unsigned: %v", err)
	}
}

// Issue 24: a report directory copied whole under the watch's root (its
// journal and summary, so that both verify) counted as a second
// offboarding. Now two directories carrying one run id are both refused
// and named in the attestation.
func TestWatchRefusesTwoReportsWithOneRunID(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 244})
	id, _ := tn.user("leaver@contoso.com", 1)
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", a), 0)
	if err := os.Mkdir(b, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"journal.jsonl", "summary.json"} {
		copyFile(t, filepath.Join(a, name), filepath.Join(b, name))
	}
	r := tn.offboard(t, nil, "watch", "--reports", root)
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit code %d:\n%s", r.code, r.stderr)
	}
	att := readAttestation(t, filepath.Join(root, "watch", time.Now().UTC().Format(time.DateOnly)))
	for _, ev := range att.Evidence {
		if ev.Used || !strings.Contains(ev.Problem, "copy") {
			t.Errorf("evidence %s: used %v, problem %q; want refused as a copy", ev.Report, ev.Used, ev.Problem)
		}
	}
	if len(att.Evidence) != 2 {
		t.Errorf("%d reports in the evidence, want 2", len(att.Evidence))
	}
}

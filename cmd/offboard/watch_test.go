package main

// End-to-end tests of `offboard watch`: runs offboard, someone re-grants,
// the watch finds and removes exactly that, and attests it.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location"
	"github.com/offboard/offboard/simtenant"
)

// writeRemovedReport writes, with the report package, a report directory
// whose run started at started and removed assignment of principal,
// authenticated under secret.
func writeRemovedReport(t *testing.T, dir, secret string, started time.Time, principal, assignment string) {
	t.Helper()
	key, err := report.NewKey([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	d, err := report.Open(dir, strings.Repeat("ab", 32), report.RunInfo{ID: "20000101T000000Z-0000000000000000", StartedAt: started, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Plan(slices.Values([]job.Item{{PrincipalID: principal, Source: job.SourceDirectory, AssignmentID: assignment,
		State: job.Removed, UpdatedAt: started}})); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAttestation reads and verifies attestation.json.
func readAttestation(t *testing.T, dir string) report.Attestation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "attestation.json"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := report.NewKey([]byte(testJournalKey))
	a, err := report.ParseAttestation(b, key)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func verdictsOf(a report.Attestation) map[string]report.Attested {
	out := map[string]report.Attested{}
	for _, p := range a.Principals {
		out[p.PrincipalID] = p
	}
	return out
}

func TestWatchRemovesWhatIsHeldAgainAndAttests(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 60})
	ann, _ := a.user("ann@contoso.com", 1) // re-granted a directory role
	ben, _ := a.user("ben@contoso.com", 1) // re-added to a role-assignable group
	cid, _ := a.user("cid@contoso.com", 1) // re-granted an Azure role
	dan, _ := a.user("dan@contoso.com", 1) // stays clean
	eve, _ := a.user("eve@contoso.com", 2) // restored after her run
	stays, _ := a.user("stays@contoso.com", 1)
	forged, _ := a.user("forged@contoso.com", 1)
	old, _ := a.user("old@contoso.com", 1)
	tier0 := a.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	if err := a.AddMember(tier0.ID, ben); err != nil {
		t.Fatal(err)
	}
	a.assign(cid, a.s1, simtenant.ARMReader)

	root := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=directory,groups,azure", "OFFBOARD_AZURE_SCOPES=" + a.s1 + "," + a.s2}
	first := filepath.Join(root, "departures-1")
	input := writeCSV(t, "principal_id,reference", ann+",HR-1", ben+",HR-2", cid+",HR-3", dan+",HR-4", eve+",HR-5")
	wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", first), 0)
	firstRun := readSummary(t, first)
	wantCode(t, a.offboard(t, env, "restore", "--report", first, "--principal", eve), 0)
	if len(a.RoleAssignmentsOf(eve)) != 2 {
		t.Fatal("the restore did not put eve's roles back")
	}

	// Someone re-grants; a forged report and an old one name others.
	againRole := a.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: ann, RoleDefinitionID: simtenant.UserAdministrator, DirectoryScopeID: "/"})
	if err := a.AddMember(tier0.ID, ben); err != nil {
		t.Fatal(err)
	}
	againARM := a.assign(cid, a.rg, simtenant.ARMContributor)
	writeRemovedReport(t, filepath.Join(root, "forged"), "someone-elses-key-0123456789-0123456789-0123", time.Now().Add(-time.Hour),
		forged, a.RoleAssignmentsOf(forged)[0].ID)
	writeRemovedReport(t, filepath.Join(root, "old"), testJournalKey, time.Now().Add(-91*24*time.Hour), old, a.RoleAssignmentsOf(old)[0].ID)
	// A report the watch must not trust: the first run's journal, copied
	// with one principal swapped for another.
	j, err := os.ReadFile(filepath.Join(first, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	swapped := filepath.Join(root, "swapped")
	if err := os.MkdirAll(swapped, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(swapped, "journal.jsonl"), bytes.ReplaceAll(j, []byte(dan), []byte(stays)), 0o640); err != nil {
		t.Fatal(err)
	}

	a.ResetRequests()
	r := a.offboard(t, env, "watch", "--reports", root)
	// The forged and swapped reports are refused: the watch does its work
	// and fails, so that its alert fires (issue 24).
	wantCode(t, r, 1)
	watchDir := filepath.Join(root, "watch", time.Now().UTC().Format(time.DateOnly))
	wantDetail := "held again after offboarding on " + firstRun.StartedAt.UTC().Format(time.DateOnly) + " (run " + firstRun.RunID + ")"
	removed := map[string]row{}
	for _, rw := range readReport(t, watchDir) {
		if rw["status"] == "removed" {
			removed[rw["assignment_id"]] = rw
		}
		if rw["principal_id"] == eve || rw["principal_id"] == stays || rw["principal_id"] == forged || rw["principal_id"] == old {
			t.Errorf("the watch reported on a principal it must not watch: %v", rw)
		}
	}
	if len(removed) != 3 {
		t.Errorf("removed %d rows, want 3: %v", len(removed), removed)
	}
	for id, who := range map[string]string{againRole.ID: ann, tier0.ID: ben, againARM: cid} {
		if rw, ok := removed[id]; !ok || rw["principal_id"] != who || rw["detail"] != wantDetail {
			t.Errorf("assignment %s of %s: %v, want removed with detail %q", id, who, rw, wantDetail)
		}
	}
	if len(a.RoleAssignmentsOf(ann)) != 0 || slices.Contains(a.MemberOf(ben), tier0.ID) || len(a.ARMRoleAssignmentsOf(cid)) != 0 {
		t.Error("a re-granted role is still held")
	}
	if len(a.RoleAssignmentsOf(eve)) != 2 || len(a.RoleAssignmentsOf(stays)) != 1 || len(a.RoleAssignmentsOf(forged)) != 1 || len(a.RoleAssignmentsOf(old)) != 1 {
		t.Error("the watch touched a principal restored, forged in, or outside the window")
	}
	for _, w := range a.writes() {
		for _, id := range []string{eve, stays, forged, old} {
			if strings.Contains(w.Path+string(w.Body), id) {
				t.Errorf("a write request for %s: %s %s", id, w.Method, w.Path)
			}
		}
	}

	att := readAttestation(t, watchDir)
	v := verdictsOf(att)
	for id, want := range map[string]string{ann: "removed-again", ben: "removed-again", cid: "removed-again", dan: "clean"} {
		got := v[id]
		if got.Verdict != want || got.Run.ID != firstRun.RunID || got.Report != "departures-1" {
			t.Errorf("%s: verdict %q by run %q in %q, want %q by %q", id, got.Verdict, got.Run.ID, got.Report, want, firstRun.RunID)
		}
	}
	if len(v[ann].Rows) != 1 || v[ann].Rows[0].AssignmentID != againRole.ID || len(v[dan].Rows) != 0 {
		t.Errorf("rows of the verdicts: ann %v, dan %v", v[ann].Rows, v[dan].Rows)
	}
	if len(att.Principals) != 4 {
		t.Errorf("%d principals watched, want 4: %+v", len(att.Principals), att.Principals)
	}
	if len(att.Excluded) != 1 || att.Excluded[0].PrincipalID != eve || !strings.HasPrefix(att.Excluded[0].Reason, "restored on ") {
		t.Errorf("excluded %+v, want eve restored", att.Excluded)
	}
	used := map[string]bool{}
	for _, ev := range att.Evidence {
		used[ev.Report] = ev.Used
		if !ev.Used && ev.Problem == "" {
			t.Errorf("evidence %s unused without a problem", ev.Report)
		}
	}
	if !used["departures-1"] || !used["old"] || used["forged"] || used["swapped"] || len(used) != 4 {
		t.Errorf("evidence used: %v", used)
	}
	if len(att.Refused) != 2 || att.Refused[0].Report != "forged" || att.Refused[1].Report != "swapped" {
		t.Errorf("refused %+v, want forged and swapped", att.Refused)
	}
	if !slices.Equal(att.Sources, []string{"directory", "groups", "azure"}) || att.Window.Within != "90d" || att.ExitCode != 1 {
		t.Errorf("attestation header: sources %v window %+v exit %d", att.Sources, att.Window, att.ExitCode)
	}
	html, err := os.ReadFile(filepath.Join(watchDir, "attestation.html"))
	if err != nil || !bytes.Contains(html, []byte(firstRun.RunID)) || !bytes.Contains(html, []byte(`class="badge s-removed-again"`)) {
		t.Errorf("attestation.html: %v\n%s", err, html)
	}
	if !strings.Contains(r.stderr, "adds no one") {
		t.Errorf("no warning about the untrusted reports:\n%s", r.stderr)
	}

	// Again: nothing is sent, the report stays byte for byte the same.
	before, _ := os.ReadFile(filepath.Join(watchDir, "report.csv"))
	a.ResetRequests()
	wantCode(t, a.offboard(t, env, "watch", "--reports", root), 1)
	if w := a.writes(); len(w) != 0 {
		t.Errorf("the second watch sent %s %s", w[0].Method, w[0].Path)
	}
	if after, _ := os.ReadFile(filepath.Join(watchDir, "report.csv")); !bytes.Equal(before, after) {
		t.Errorf("the second watch changed report.csv:\n%s\n---\n%s", before, after)
	}
	if again := verdictsOf(readAttestation(t, watchDir)); again[ann].Verdict != "removed-again" || again[dan].Verdict != "clean" {
		t.Errorf("the second watch's verdicts: %+v", again)
	}
}

func TestWatchFailedRemovalExits1(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 61})
	ann, _ := tn.user("ann@contoso.com", 1)
	root := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ann), "--report", filepath.Join(root, "d1")), 0)
	again := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: ann, RoleDefinitionID: simtenant.SecurityReader, DirectoryScopeID: "/"})
	tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: again.ID, Status: 403})
	watchDir := filepath.Join(root, "w")
	wantCode(t, tn.offboard(t, nil, "watch", "--reports", root, "--report", watchDir, "--graph-batch-size", "1", "--within", "1d"), 1)
	v := verdictsOf(readAttestation(t, watchDir))[ann]
	if v.Verdict != "failed" || !strings.Contains(v.Why, again.ID) || len(v.Rows) != 1 || v.Rows[0].Status != "failed" {
		t.Errorf("verdict %+v, want failed naming %s", v, again.ID)
	}
}

func TestWatchFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{{"90d", 90 * 24 * time.Hour, true}, {"1d", 24 * time.Hour, true}, {"36h", 36 * time.Hour, true},
		{"0d", 0, false}, {"-3d", 0, false}, {"d", 0, false}, {"-1h", 0, false}, {"ninety", 0, false}} {
		got, err := parseWithin(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseWithin(%q) = %v, %v", tc.in, got, err)
		}
	}
	env := func(string) (string, bool) { return "", false }
	c, err := parseWatchFlags([]string{"--reports", "/r"}, env, &bytes.Buffer{})
	if err != nil || c.Report != "" || c.Within != 90*24*time.Hour {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	if _, err := parseWatchFlags(nil, env, &bytes.Buffer{}); err == nil {
		t.Error("no --reports accepted")
	}
}

func TestDemoEndsWithAWatchThatRemovesAReGrant(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "demo", "--dir", dir, "--log-format", "json")
	cmd.Env = []string{asMain + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), location.KeyEnv + "=" + testJournalKey}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errb.String())
	}
	watchDir := filepath.Join(dir, "watch", time.Now().UTC().Format(time.DateOnly))
	att := readAttestation(t, watchDir)
	again := 0
	for _, p := range att.Principals {
		if p.Verdict == "removed-again" {
			again++
			if len(p.Rows) != 1 || !strings.HasPrefix(p.Rows[0].Detail, "held again after offboarding on ") {
				t.Errorf("removed again: %+v", p)
			}
		}
	}
	if again != 1 || !strings.Contains(out.String(), "Removed again: directory ") {
		t.Errorf("%d principals removed again, want 1\n%s", again, out.String())
	}
	if n := strings.Count(out.String(), "Key Vault: removed the access policy on kv-contoso-"); n != 2 {
		t.Errorf("the demo shows %d Key Vault access policy entries removed, want 2\n%s", n, out.String())
	}
}

// TestDeployWatchJobUsesRealFlags: the second Container Apps job runs
// `watch` with flags watch knows.
func TestDeployWatchJobUsesRealFlags(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/job.bicep")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`args: \[ 'watch', '--reports', '[^']*', '--within', watchWithin \]`).Find(b)
	if m == nil {
		t.Fatal("deploy/job.bicep has no job running watch --reports ... --within watchWithin")
	}
	env := func(string) (string, bool) { return "", false }
	if _, err := parseWatchFlags([]string{"--reports", "https://acct.blob.core.windows.net/reports/", "--within", "90d"}, env, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

// TestWatchKilledThenRerun: a watch killed in a DELETE the tenant made; the
// rerun into the same directory confirms it absent and keeps the watch's
// detail on every row.
func TestWatchKilledThenRerun(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 63, Latency: 20 * time.Millisecond})
	lines := []string{"principal_id"}
	var ids []string
	for i := range 8 {
		id, _ := tn.user(fmt.Sprintf("k%d@contoso.com", i), 1)
		ids = append(ids, id)
		lines = append(lines, id)
	}
	root := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, lines...), "--report", filepath.Join(root, "d1")), 0)
	first := readSummary(t, filepath.Join(root, "d1"))
	var again []string
	for _, id := range ids {
		again = append(again, tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: id, RoleDefinitionID: simtenant.SecurityReader, DirectoryScopeID: "/"}).ID)
	}
	watchDir := filepath.Join(root, "w")
	args := []string{"watch", "--reports", root, "--report", watchDir, "--graph-batch-size", "1", "--concurrency", "2"}
	cmd := tn.command(t, nil, args...)
	landed := killAt(t, tn.Tenant, cmd, 3, func(r *http.Request) bool { return r.Method == http.MethodDelete }).wait(t)
	tn.ClearRules()
	victim := filepath.Base(landed.URL.Path)
	// What the tenant removed before the kill: with two in flight, another
	// removal may have been made and not journaled either.
	made := map[string]bool{victim: true}
	for _, r := range tn.Requests() {
		if r.Method == http.MethodDelete && r.Status == http.StatusNoContent {
			made[filepath.Base(r.Path)] = true
		}
	}

	wantCode(t, tn.offboard(t, nil, args...), 0)
	held := "held again after offboarding on " + first.StartedAt.UTC().Format(time.DateOnly) + " (run " + first.RunID + ")"
	got := byAssignment(readReport(t, watchDir))
	for _, id := range again {
		want := held
		if id == victim || made[id] && got[id]["detail"] != held {
			want = held + "; confirmed absent on rerun"
		}
		if got[id]["status"] != "removed" || got[id]["detail"] != want {
			t.Errorf("%s: %v, want removed with detail %q", id, got[id], want)
		}
	}
	for _, id := range ids {
		if n := len(tn.RoleAssignmentsOf(id)); n != 0 {
			t.Errorf("%s still holds %d roles", id, n)
		}
	}
}

package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
)

const (
	pA = "aaaaaaaa-0000-4000-8000-000000000001"
	pB = "bbbbbbbb-0000-4000-8000-000000000002"
	pC = "cccccccc-0000-4000-8000-000000000003"
	pD = "dddddddd-0000-4000-8000-000000000004"
)

func removedBy(id string, run RunRecord) RunItem {
	return RunItem{Item: job.Item{PrincipalID: id, Source: job.SourceDirectory, AssignmentID: "x-" + id, State: job.Removed}, Run: run}
}

func TestWatchListWindowRestoresProtect(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	since := now.Add(-90 * 24 * time.Hour)
	old := RunRecord{ID: "old", StartedAt: now.Add(-100 * 24 * time.Hour)}
	r1 := RunRecord{ID: "r1", StartedAt: now.Add(-30 * 24 * time.Hour)}
	r2 := RunRecord{ID: "r2", StartedAt: now.Add(-10 * 24 * time.Hour)}
	dry := RunRecord{ID: "dry", StartedAt: now.Add(-time.Hour), DryRun: true}
	restoreBetween := RunRecord{ID: "restore", StartedAt: now.Add(-20 * 24 * time.Hour)}
	evidence := []Evidence{
		{Name: "d1", Removed: []RunItem{removedBy(pA, r1), removedBy(pB, r1), removedBy(pC, old), removedBy(pD, r1)},
			Restored: []RunItem{removedBy(pB, restoreBetween), removedBy(pA, restoreBetween)}},
		// pA offboarded again after its restore: watched, by r2.
		{Name: "d2", Removed: []RunItem{removedBy(pA, r2), removedBy(pD, dry)}},
		// A report that did not verify adds nothing, not even a restore.
		{Name: "bad", Problem: "forged", Removed: []RunItem{removedBy(pC, r2)}, Restored: []RunItem{removedBy(pD, r2)}},
	}
	list, excluded := WatchList(evidence, since, map[string]bool{}, "")
	if len(list) != 2 || list[0].PrincipalID != pA || list[0].Run.ID != "r2" || list[0].Report != "d2" || list[1].PrincipalID != pD || list[1].Run.ID != "r1" {
		t.Fatalf("watch list %+v", list)
	}
	if len(excluded) != 1 || excluded[0].PrincipalID != pB || !strings.Contains(excluded[0].Reason, "restore restore") {
		t.Errorf("excluded %+v", excluded)
	}
	list, excluded = WatchList(evidence, since, map[string]bool{pA: true}, strings.ToUpper(pD))
	if len(list) != 0 || len(excluded) != 3 || excluded[0].Reason != "protected" || excluded[2].Reason != "self" {
		t.Errorf("protect and self: %+v %+v", list, excluded)
	}
	if got := HeldAgain(list0(t, evidence, since)); got != "held again after offboarding on "+r2.StartedAt.Format(time.DateOnly)+" (run r2)" {
		t.Errorf("detail %q", got)
	}
}

func list0(t *testing.T, evidence []Evidence, since time.Time) Watched {
	t.Helper()
	list, _ := WatchList(evidence, since, nil, "")
	return list[0]
}

func TestAttestationIsAuthenticatedAndEscaped(t *testing.T) {
	dir := t.TempDir()
	key, _ := NewKey([]byte(strings.Repeat("k", 32)))
	d, err := Open(dir, strings.Repeat("ab", 32), RunInfo{ID: "w1", StartedAt: time.Now(), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hostile := `<script>alert(1)</script>`
	w := Watched{PrincipalID: pA, UPN: hostile, Reference: hostile, Report: hostile, Run: RunRecord{ID: "r1"}}
	verdicts := Verdicts([]Watched{w}, []job.Item{{PrincipalID: pA, Source: "groups", AssignmentID: "g", State: job.Skipped, Detail: hostile}}, "")
	if verdicts[0].Verdict != VerdictHeld || !strings.Contains(verdicts[0].Why, "held on purpose") || verdicts[0].WhatToDo == "" {
		t.Fatalf("a skipped row: %+v", verdicts[0])
	}
	if err := d.WriteAttestation(Attestation{RunID: "w1", Principals: verdicts, Evidence: []EvidenceRef{{Report: hostile, Problem: hostile}}}); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "attestation.html"))
	if strings.Contains(string(html), "<script>") || !strings.Contains(string(html), "&lt;script&gt;") {
		t.Errorf("attestation.html does not escape:\n%s", html)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "attestation.json"))
	if a, err := ParseAttestation(b, key); err != nil || a.Principals[0].UPN != hostile {
		t.Fatalf("attestation.json does not verify: %v", err)
	}
	forged := strings.Replace(string(b), `"verdict": "held"`, `"verdict": "clean"`, 1)
	if _, err := ParseAttestation([]byte(forged), key); err == nil {
		t.Error("an altered attestation verifies")
	}
}

// A removal is the work of the run that made it: a later run into the
// same directory, a dry run or a clean rerun, plans the finished row again
// unchanged, and neither takes the principal off the watch list nor moves
// its date.
func TestRemovalIsCreditedToTheRunThatMadeIt(t *testing.T) {
	dir := signedRun(t) // run-1 removed p1's a1
	for _, rerun := range []struct {
		id  string
		dry bool
	}{{"run-2", true}, {"run-3", false}} {
		info := signedInfo(t, rerun.id)
		info.DryRun = rerun.dry
		d := mustOpen(t, dir, inputA, info)
		items := d.Previous()
		if err := d.Plan(slices.Values(items)); err != nil {
			t.Fatal(err)
		}
		mustClose(t, d)
	}
	ev, err := ReadEvidence(dir, testKey(t, "k"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range ev.Removed {
		found = found || r.PrincipalID == "p1" && r.AssignmentID == "a1"
		if r.Run.ID != "run-1" {
			t.Errorf("%s %s credited to %s, want run-1", r.PrincipalID, r.AssignmentID, r.Run.ID)
		}
	}
	if !found {
		t.Errorf("p1's a1 is not among the removed: %+v", ev.Removed)
	}
}

// A restore journal nobody vouches for (a line appended without its MAC)
// takes no one off the watch list: ReadEvidence leaves it out whole and
// says why.
func TestForgedRestoreJournalRestoresNoOne(t *testing.T) {
	dir := signedRun(t) // run-1 removed p1's a1
	forged := `{"type":"run","run_id":"forged","input_sha256":"` + inputA + `","started_at":"2025-03-15T00:00:00Z","dry_run":false}` + "\n" +
		`{"type":"plan","principal_id":"p1","upn":"","reference":"","source":"directory","assignment_id":"a1","role_definition_id":"","scope":"","state":"restored","detail":"","attempts":1,"updated_at":"2025-03-15T00:00:00Z","line":0}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, restoreJournalName), []byte(forged), 0o600); err != nil {
		t.Fatal(err)
	}
	ev, err := ReadEvidence(dir, testKey(t, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if ev.RestoreProblem == "" || len(ev.Restored) != 0 {
		t.Fatalf("restore problem %q, restored %+v: want the forged restore journal left out", ev.RestoreProblem, ev.Restored)
	}
	if len(ev.Removed) == 0 {
		t.Error("the run's own removals were left out with the restore journal")
	}
}

func TestAttestationPageSharesThePaletteAndNamesKindAndRole(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("w1", false))
	defer d.Close()
	w := Watched{PrincipalID: pA, Run: RunRecord{ID: "r1"}}
	verdicts := Verdicts([]Watched{w}, []job.Item{{PrincipalID: pA, Source: "directory", Kind: "directory-role", RoleName: "Exchange Administrator",
		AssignmentID: "a1", State: job.Failed, Detail: "HTTP 403"}}, "")
	if err := d.WriteAttestation(Attestation{RunID: "w1", Principals: verdicts, Unavailable: map[string]string{"pim": "no P2"}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "attestation.html"))
	page := string(b)
	for _, want := range []string{
		".s-failed{--c:#c62828}", "@media print{", `<span class="badge s-failed">failed</span>`,
		"directory-role", "Exchange Administrator", `<div class="info" id="unavailable">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("attestation.html lacks %q", want)
		}
	}
	if verdicts[0].Rows[0].Kind != "directory-role" || verdicts[0].Rows[0].RoleName != "Exchange Administrator" {
		t.Errorf("attested row %+v", verdicts[0].Rows[0])
	}
}

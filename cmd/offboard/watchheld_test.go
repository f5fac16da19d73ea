package main

// End to end: a watched principal who still holds access the job leaves on
// purpose (the last owner of a group) is held, not failed: the watch exits
// 0, its verdict says why and what to do, the page shows it, and the final
// log line names the attestation.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/simtenant"
)

func TestWatchHeldLastOwnerIsNotAFailure(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2701})
	ann, _ := tn.user("ann@contoso.com", 0)
	team := tn.AddGroup(simtenant.Group{DisplayName: "Team", IsAssignableToRole: true})
	alone := tn.AddGroup(simtenant.Group{DisplayName: "Ann's Own", IsAssignableToRole: true})
	for _, err := range []error{tn.AddMember(team.ID, ann), tn.AddOwner(alone.ID, ann)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ann), "--report", filepath.Join(root, "d1"),
		"--sources", "groups"), 0)

	watchDir := filepath.Join(root, "w")
	r := tn.offboard(t, []string{"OFFBOARD_LOG_FORMAT=json"}, "watch", "--reports", root, "--report", watchDir,
		"--sources", "groups", "--within", "1d")
	wantCode(t, r, 0)
	v := verdictsOf(readAttestation(t, watchDir))[ann]
	if v.Verdict != "held" || !strings.Contains(v.Why, "last-owner") || !strings.Contains(v.WhatToDo, "add another owner to the group") {
		t.Errorf("verdict %+v, want held with why and what to do", v)
	}
	if len(v.Rows) != 1 || v.Rows[0].Status != "skipped" || v.Rows[0].WhatToDo == "" {
		t.Errorf("rows %+v, want the skipped owner row with what to do", v.Rows)
	}
	if strings.Contains(v.Why, "not removed") {
		t.Errorf("why %q reads as a failure", v.Why)
	}
	page, _ := os.ReadFile(filepath.Join(watchDir, "attestation.html"))
	for _, want := range []string{`<span class="badge s-held">held</span>`, "what to do:", "add another owner to the group"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("attestation.html lacks %q", want)
		}
	}
	var final string
	for _, line := range strings.Split(r.stderr+r.stdout, "\n") {
		if strings.Contains(line, `"watch finished"`) {
			final = line
		}
	}
	if !strings.Contains(final, `"attestation":"`+filepath.Join(watchDir, "attestation.json")+`"`) {
		t.Errorf("the final log line does not name the attestation: %q\n%s", final, r.stderr)
	}
}

// `watch` with no flags names the flag it needs, --reports, and not
// --report (which has a default).
func TestWatchWithNoFlagsNamesReports(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2702})
	r := tn.offboard(t, nil, "watch")
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "--reports is required") || strings.Contains(r.stderr, "--report is required") {
		t.Errorf("watch with no flags says:\n%s", r.stderr)
	}
}

// Two lines for one principal with two effective dates: the run warns,
// naming both lines and dates, acts as of the earlier (today), and its
// rows keep both references.
func TestDuplicateLinesWithTwoDatesWarnAndKeepBothReferences(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2703})
	ann, _ := tn.user("ann@contoso.com", 1)
	today := time.Now().UTC().Format(time.DateOnly)
	later := time.Now().UTC().AddDate(0, 0, 10).Format(time.DateOnly)
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_LOG_FORMAT=json"}, "run", "--input", writeCSV(t, "principal_id,reference,effective_date",
		ann+",HR-1,"+later, ann+",HR-2,"+today), "--report", dir)
	wantCode(t, r, 0)
	var warned string
	for _, line := range strings.Split(r.stderr+r.stdout, "\n") {
		if strings.Contains(line, "different effective dates") {
			warned = line
		}
	}
	for _, want := range []string{`"line 2: ` + later + `"`, `"line 3: ` + today + `"`, `"kept":"` + today + `"`, `"reference":"HR-1; HR-2"`} {
		if !strings.Contains(warned, want) {
			t.Errorf("the warning lacks %s: %q", want, warned)
		}
	}
	rows := readReport(t, dir)
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for _, rw := range rows {
		if rw["status"] != "removed" || rw["reference"] != "HR-1; HR-2" {
			t.Errorf("row %v, want removed with both references", rw)
		}
	}
}

package main

// The JSON log holds exactly one line per report row, whatever its status:
// a removal's "outcome" line as it arrives, a "row" line for every other
// row, each with the same fields.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// rowLines returns the "outcome" and "row" lines of a JSON log, and its
// final line.
func rowLines(t *testing.T, stderr string) (rows []map[string]any, final map[string]any) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		switch m["msg"] {
		case "outcome", "row":
			rows = append(rows, m)
		case "run finished":
			final = m
		}
	}
	return rows, final
}

// checkOneLinePerRow fails unless the log's row lines are report.csv's
// rows, one each, with every field, at the level their status calls for.
func checkOneLinePerRow(t *testing.T, what, stderr, dir string) map[string]int {
	t.Helper()
	lines, _ := rowLines(t, stderr)
	rows := readReport(t, dir)
	if len(lines) != len(rows) {
		t.Errorf("%s: %d row lines in the log, %d rows in report.csv\n%s", what, len(lines), len(rows), stderr)
	}
	want := map[string]int{}
	for _, r := range rows {
		want[r["principal_id"]+"|"+r["source"]+"|"+r["assignment_id"]+"|"+r["status"]]++
	}
	statuses := map[string]int{}
	for _, m := range lines {
		for _, f := range []string{"principal_id", "source", "kind", "assignment_id", "role_name", "status", "attempts", "latency_ms", "detail"} {
			if _, ok := m[f]; !ok {
				t.Errorf("%s: a %v line without %s: %v", what, m["msg"], f, m)
			}
		}
		st, _ := m["status"].(string)
		statuses[st]++
		k := m["principal_id"].(string) + "|" + m["source"].(string) + "|" + m["assignment_id"].(string) + "|" + st
		if want[k] == 0 {
			t.Errorf("%s: a log line for no report row (or a second one): %v", what, m)
		}
		want[k]--
		wantLevel := "info"
		if st == "failed" || st == "invalid" {
			wantLevel = "warn"
		}
		if m["level"] != wantLevel {
			t.Errorf("%s: a %s row logged at %v, want %s", what, st, m["level"], wantLevel)
		}
		if m["msg"] == "row" && m["latency_ms"] != float64(0) {
			t.Errorf("%s: a row no request was sent for has latency %v", what, m["latency_ms"])
		}
	}
	return statuses
}

func TestLogsHaveOneLinePerReportRowWhateverItsStatus(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 46})
	gone, goneIDs := tn.user("gone@contoso.com", 3)
	kept, _ := tn.user("breakglass@contoso.com", 2)
	later, _ := tn.user("later@contoso.com", 1)
	nothing, _ := tn.user("nothing@contoso.com", 0)
	tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: goneIDs[1], Status: 403,
		Code: "Authorization_RequestDenied", Message: "denied"})
	input := writeCSV(t, "principal_id,effective_date",
		gone+",", kept+",", later+",2999-01-01", nothing+",", "not-a-guid,", ",")
	env := []string{"OFFBOARD_PROTECT=" + kept}

	// A plan first: its rows are planned, skipped, deferred, invalid,
	// no-assignments, each logged once.
	planDir := t.TempDir()
	r := tn.offboard(t, env, "plan", "--input", input, "--report", planDir)
	wantCode(t, r, 1)
	got := checkOneLinePerRow(t, "plan", r.stderr, planDir)
	for _, st := range []string{"planned", "skipped", "deferred", "invalid", "no-assignments"} {
		if got[st] == 0 {
			t.Errorf("plan: no %s line: %v", st, got)
		}
	}

	dir := t.TempDir()
	r = tn.offboard(t, env, "run", "--input", input, "--report", dir)
	wantCode(t, r, 1)
	got = checkOneLinePerRow(t, "run", r.stderr, dir)
	for _, st := range []string{"removed", "failed", "skipped", "deferred", "invalid", "no-assignments"} {
		if got[st] == 0 {
			t.Errorf("run: no %s line: %v", st, got)
		}
	}
	if _, final := rowLines(t, r.stderr); final == nil || final["level"] != "error" {
		t.Errorf("the final line of a run that exits 1 is %v, want level error", final)
	}

	// The rerun carries the removed rows unchanged, and logs each once.
	r = tn.offboard(t, env, "run", "--input", input, "--report", dir)
	wantCode(t, r, 1)
	got = checkOneLinePerRow(t, "rerun", r.stderr, dir)
	if got["removed"] != 2 {
		t.Errorf("rerun: %d removed lines, want the 2 carried rows: %v", got["removed"], got)
	}
}

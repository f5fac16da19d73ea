package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// One principal cannot hold the night hostage (issue 24, item 9): an
// outlier who holds 1,001 assignments is held back by
// --max-removals-per-principal, and her colleague in the same file loses
// Global Administrator and Owner; exit 1 so that the alert fires.
func TestOnePrincipalCannotHoldTheNightHostage(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 91})
	outlier, outlierIDs := a.user("outlier@contoso.com", 1001)
	colleague, _ := a.user("colleague@contoso.com", 0)
	ga := a.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: colleague, RoleDefinitionID: simtenant.GlobalAdministrator})
	owner := a.assign(colleague, a.s1, simtenant.ARMOwner)
	// Another Global Administrator stays: the colleague's is not the last.
	stays, _ := a.user("stays@contoso.com", 0)
	a.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: stays, RoleDefinitionID: simtenant.GlobalAdministrator})

	input := writeCSV(t, "principal_id,reference", outlier+",HR-1", colleague+",HR-2")
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=directory,azure", "OFFBOARD_AZURE_SCOPES=" + a.s1}
	const detail = "held back: 1001 planned removals exceed --max-removals-per-principal 500"
	outlierOnly := func(t *testing.T, dir string) map[string]row {
		t.Helper()
		got := byAssignment(readReport(t, dir))
		for _, id := range outlierIDs {
			if r := got[id]; r["status"] != "deferred" || r["detail"] != detail {
				t.Fatalf("outlier row %v, want deferred %q", r, detail)
			}
		}
		return got
	}
	sentFor := func(ids []string) int {
		n := 0
		for _, w := range a.writes() {
			for _, id := range ids {
				if strings.Contains(w.Path, id) || bytes.Contains(w.Body, []byte(id)) {
					n++
				}
			}
		}
		return n
	}

	// plan says the same, and sends nothing.
	planDir := t.TempDir()
	wantCode(t, a.offboard(t, env, "plan", "--input", input, "--report", planDir), 1)
	got := outlierOnly(t, planDir)
	if got[ga.ID]["status"] != "planned" || got[owner]["status"] != "planned" {
		t.Errorf("plan: colleague rows %v %v", got[ga.ID], got[owner])
	}
	if w := a.writes(); len(w) != 0 {
		t.Fatalf("plan sent %s %s", w[0].Method, w[0].Path)
	}

	dir := t.TempDir()
	r := a.offboard(t, env, "run", "--input", input, "--report", dir)
	wantCode(t, r, 1)
	got = outlierOnly(t, dir)
	for _, id := range []string{ga.ID, owner} {
		if got[id]["status"] != "removed" {
			t.Errorf("colleague row %v, want removed", got[id])
		}
	}
	if _, ok := a.RoleAssignment(ga.ID); ok {
		t.Error("the colleague keeps Global Administrator")
	}
	if _, ok := a.ARMRoleAssignment(owner); ok {
		t.Error("the colleague keeps Owner")
	}
	if n := sentFor(outlierIDs); n != 0 {
		t.Errorf("%d write requests named the held-back principal's assignments", n)
	}
	if n := len(a.RoleAssignmentsOf(outlier)); n != 1001 {
		t.Errorf("the outlier holds %d assignments, want 1001 untouched", n)
	}
	s := readSummary(t, dir)
	if s.ExitCode != 1 || s.Guard != "" || s.Counts["deferred"] != 1001 || s.Counts["removed"] != 2 {
		t.Errorf("summary: exit %d guard %q counts %v", s.ExitCode, s.Guard, s.Counts)
	}
	if len(s.HeldBack) != 1 || s.HeldBack[0].PrincipalID != outlier || s.HeldBack[0].Planned != 1001 || s.HeldBack[0].MaxPerPrincipal != 500 {
		t.Errorf("summary held_back %+v", s.HeldBack)
	}
	if page, _ := os.ReadFile(filepath.Join(dir, "summary.html")); !bytes.Contains(page, []byte(`id="held-back"`)) {
		t.Error("summary.html does not name the held-back principal")
	}

	// The same cap again: held back again, nothing written, the report
	// as it was.
	before, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	a.ResetRequests()
	wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", dir), 1)
	after, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if !bytes.Equal(before, after) {
		t.Error("the rerun with the same cap changed report.csv")
	}
	if w := a.writes(); len(w) != 0 {
		t.Errorf("the rerun with the same cap sent %s %s", w[0].Method, w[0].Path)
	}

	// A higher cap, from the variable: the rerun does them, and its
	// rerun command carries the cap.
	a.ResetRequests()
	wantCode(t, a.offboard(t, append(env, "OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL=1001"), "run", "--input", input, "--report", dir, "--max-removals", "1001"), 0)
	if n := len(a.RoleAssignmentsOf(outlier)); n != 0 {
		t.Errorf("the rerun with a higher cap left %d of the outlier's assignments", n)
	}
	for _, rw := range readReport(t, dir) {
		if rw["status"] != "removed" {
			t.Errorf("after the rerun with a higher cap: %v", rw)
		}
	}
	if s := readSummary(t, dir); s.ExitCode != 0 || len(s.HeldBack) != 0 {
		t.Errorf("summary after the higher cap: exit %d held_back %+v", s.ExitCode, s.HeldBack)
	}
	// A clean run's page shows no rerun (nothing a rerun would change); a
	// plan's does, and it carries the cap.
	wantCode(t, a.offboard(t, append(env, "OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL=1001"), "plan", "--input", input, "--report", dir, "--max-removals", "1001"), 0)
	page, _ := os.ReadFile(filepath.Join(dir, "plan-summary.html"))
	if !bytes.Contains(page, []byte("--max-removals-per-principal=1001")) {
		t.Error("the rerun command leaves out --max-removals-per-principal")
	}
}

// A wrong file that plans too much in total still stops everything: the
// principals over the cap are not counted, the rest is still too much.
func TestMaxRemovalsStillStopsAWrongFileBesidesTheHeldBack(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 92})
	lines := []string{"principal_id"}
	for _, u := range []string{"a", "b", "c"} {
		id, _ := tn.user(u+"@contoso.com", 3)
		lines = append(lines, id)
	}
	outlier, _ := tn.user("outlier@contoso.com", 6)
	lines = append(lines, outlier)
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL=5"}, "run", "--input", writeCSV(t, lines...), "--report", dir,
		"--sources", "directory", "--max-removals", "8")
	wantCode(t, r, 3)
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the guard let %s %s through", w[0].Method, w[0].Path)
	}
	s := readSummary(t, dir)
	if s.ExitCode != 3 || !strings.Contains(s.Guard, "holds 9 removals, more than --max-removals 8") || s.Counts["planned"] != 15 || len(s.HeldBack) != 0 {
		t.Errorf("summary: exit %d guard %q counts %v held_back %+v", s.ExitCode, s.Guard, s.Counts, s.HeldBack)
	}
}

func TestMaxRemovalsPerPrincipalBadValueExits2(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 93})
	input := writeCSV(t, "principal_id", "11111111-1111-1111-1111-111111111111")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"run zero", nil, []string{"run", "--input", input, "--report", t.TempDir(), "--max-removals-per-principal", "0"}, "--max-removals-per-principal 0: must be a positive number"},
		{"run negative", nil, []string{"run", "--input", input, "--report", t.TempDir(), "--max-removals-per-principal=-5"}, "--max-removals-per-principal -5: must be a positive number"},
		{"plan not a number", nil, []string{"plan", "--input", input, "--report", t.TempDir(), "--max-removals-per-principal", "many"}, `invalid value "many" for --max-removals-per-principal`},
		{"variable zero", []string{"OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL=0"}, []string{"run", "--input", input, "--report", t.TempDir()}, "--max-removals-per-principal 0: must be a positive number"},
		{"variable not a number", []string{"OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL=lots"}, []string{"plan", "--input", input, "--report", t.TempDir()}, `OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL="lots"`},
		{"watch zero", nil, []string{"watch", "--reports", t.TempDir(), "--max-removals-per-principal", "0"}, "--max-removals-per-principal 0: must be a positive number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := tn.offboard(t, c.env, c.args...)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr does not say %q:\n%s", c.want, r.stderr)
			}
		})
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

func TestMaxRemovalsPerPrincipalFlag(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	base := []string{"--input", "x", "--report", "y"}
	c, err := parseRunFlags(base, none, io.Discard)
	if err != nil || c.MaxRemovalsPerPrincipal != 500 || slices.ContainsFunc(c.Changed, func(f string) bool { return strings.Contains(f, "per-principal") }) {
		t.Fatalf("default: %d, changed %v, %v", c.MaxRemovalsPerPrincipal, c.Changed, err)
	}
	env := func(n string) (string, bool) { return "40", n == "OFFBOARD_MAX_REMOVALS_PER_PRINCIPAL" }
	if c, err = parseRunFlags(base, env, io.Discard); err != nil || c.MaxRemovalsPerPrincipal != 40 || !slices.Contains(c.Changed, "--max-removals-per-principal=40") {
		t.Errorf("from the variable: %d, changed %v, %v", c.MaxRemovalsPerPrincipal, c.Changed, err)
	}
	if c, err = parseRunFlags(append(base, "--max-removals-per-principal", "7"), env, io.Discard); err != nil || c.MaxRemovalsPerPrincipal != 7 {
		t.Errorf("the flag must win over the variable: %d, %v", c.MaxRemovalsPerPrincipal, err)
	}
	w, err := parseWatchFlags([]string{"--reports", "/r", "--max-removals-per-principal", "9"}, none, io.Discard)
	if err != nil || w.MaxRemovalsPerPrincipal != 9 {
		t.Errorf("watch: %d, %v", w.MaxRemovalsPerPrincipal, err)
	}
	for _, v := range []string{"0", "-1"} {
		if _, err := parseRunFlags(append(base, "--max-removals-per-principal", v), none, io.Discard); err == nil ||
			!strings.Contains(err.Error(), "--max-removals-per-principal "+v+": must be a positive number") {
			t.Errorf("%s: %v", v, err)
		}
	}
}

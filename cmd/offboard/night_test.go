package main

// Issue 27: nothing that looks like success when nothing was done, and a
// nightly file with problems can be finished.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

func TestEmptySourcesAreRefusedAndNamesAreCaseInsensitive(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 1})
	id, _ := tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "principal_id", id)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag empty", nil, []string{"--sources", ""}},
		{"flag blank", nil, []string{"--sources", " "}},
		{"variable empty", []string{"OFFBOARD_SOURCES="}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "report")
			r := tn.offboard(t, tc.env, append([]string{"run", "--input", input, "--report", dir}, tc.args...)...)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, "--sources names no source") {
				t.Errorf("stderr does not say why:\n%s", r.stderr)
			}
		})
	}
	if n := len(tn.writes()); n != 0 {
		t.Fatalf("%d writes after refused runs", n)
	}
	dir := filepath.Join(t.TempDir(), "report")
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "Directory")
	wantCode(t, r, 0)
	if rows := readReport(t, dir); len(rows) != 1 || rows[0]["status"] != "removed" || rows[0]["source"] != "directory" {
		t.Fatalf("rows %v", rows)
	}
}

func TestUnknownVariableIsAWarningNamingTheClosest(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 1})
	id, _ := tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "principal_id", id)
	dir := filepath.Join(t.TempDir(), "report")
	r := tn.offboard(t, []string{"OFFBOARD_SOURCSE=directory", "OFFBOARD_PRINCIPAL=x", "OFFBOARD_AUTH=default", "OFFBOARD_MANAGED_IDENTITY_CLIENT_ID=x"},
		"plan", "--input", input, "--report", dir)
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, `"variable":"OFFBOARD_SOURCSE"`) || !strings.Contains(r.stderr, "did you mean OFFBOARD_SOURCES?") {
		t.Errorf("no warning naming OFFBOARD_SOURCSE and OFFBOARD_SOURCES:\n%s", r.stderr)
	}
	for _, known := range []string{"OFFBOARD_PRINCIPAL", "OFFBOARD_AUTH", "OFFBOARD_MANAGED_IDENTITY_CLIENT_ID", "OFFBOARD_STATIC_TOKEN", "OFFBOARD_JOURNAL_KEY", "OFFBOARD_GRAPH_ENDPOINT"} {
		if strings.Contains(r.stderr, `"variable":"`+known+`"`) {
			t.Errorf("warned about %s, which the job reads", known)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"OFFBOARD_SOURCSE", "OFFBOARD_SOURCES", 2}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	got := unknownVariables([]string{"OFFBOARD_SOURCSE=x", "OFFBOARD_MAX_REMOVAL=3", "OFFBOARD_INPUT=in", "OFFBOARD_TEST_AS_MAIN=1", "PATH=/bin"})
	want := [][2]string{{"OFFBOARD_SOURCSE", "OFFBOARD_SOURCES"}, {"OFFBOARD_MAX_REMOVAL", "OFFBOARD_MAX_REMOVALS"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("unknownVariables = %v, want %v", got, want)
	}
}

func TestRestoreNeedsPrincipalOrAllAndItsRerunKeepsThem(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 1})
	ada, _ := tn.user("ada@contoso.com", 2)
	bob, _ := tn.user("bob@contoso.com", 1)
	dir := filepath.Join(t.TempDir(), "report")
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ada, bob), "--report", dir), 0)
	tn.ResetRequests()

	r := tn.offboard(t, nil, "restore", "--report", dir)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "--principal or --all is required") {
		t.Errorf("stderr does not say what to do:\n%s", r.stderr)
	}
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all", "--principal", ada), 2)
	if n := len(tn.Requests()); n != 0 {
		t.Fatalf("refused restores sent %d requests", n)
	}

	// A dry run of one principal: its own summaries, and a command that
	// does the same again.
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--principal", ada, "--dry-run", "--max-removals", "5"), 0)
	if n := len(tn.writes()); n != 0 {
		t.Fatalf("a dry restore sent %d writes", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "restore-summary.json")); err == nil {
		t.Error("a dry restore wrote restore-summary.json")
	}
	s, err := report.ParseSummary("restore-plan-summary.json", mustRead(t, filepath.Join(dir, "restore-plan-summary.json")), e2eKey(t))
	if err != nil || !s.DryRun {
		t.Fatalf("restore-plan-summary.json: %+v %v", s, err)
	}
	rerun := rerunOf(t, filepath.Join(dir, "restore-plan-summary.html"))
	for _, want := range []string{"offboard restore", "--principal=" + ada, "--dry-run", "--max-removals=5"} {
		if !strings.Contains(rerun, want) {
			t.Errorf("rerun command %q lacks %q", rerun, want)
		}
	}
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all", "--dry-run"), 0)
	if rerun := rerunOf(t, filepath.Join(dir, "restore-plan-summary.html")); !strings.Contains(rerun, "--all") || !strings.Contains(rerun, "--dry-run") {
		t.Errorf("rerun command %q: want --all and --dry-run", rerun)
	}
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all"), 0)
	// A restore that finished has nothing a rerun would change: its page
	// offers none (issue 28); one it offers keeps --all and is no dry run.
	if n := readPage(t, filepath.Join(dir, "restore-summary.html")).byID("rerun"); n != nil {
		if rerun := text(n); !strings.Contains(rerun, "--all") || strings.Contains(rerun, "--dry-run") {
			t.Errorf("rerun command %q: want --all, no --dry-run", rerun)
		}
	}
	for _, id := range []string{ada, bob} {
		if !holdsAny(tn, id) {
			t.Errorf("%s was not restored", id)
		}
	}
}

func TestDryRunNeverOverwritesTheRealRunsSummary(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 1})
	ada, _ := tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "principal_id", ada)
	dir := filepath.Join(t.TempDir(), "report")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	before := map[string][]byte{}
	for _, name := range []string{"summary.json", "summary.html", "report.csv"} {
		before[name] = mustRead(t, filepath.Join(dir, name))
	}
	// A colleague grants ada a role again; a plan into the same directory
	// shows it, and leaves the real run's summaries alone.
	again := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: ada, RoleDefinitionID: simtenant.SecurityReader, DirectoryScopeID: "/"})
	wantCode(t, tn.offboard(t, nil, "plan", "--input", input, "--report", dir), 0)
	for _, name := range []string{"summary.json", "summary.html"} {
		if !bytes.Equal(mustRead(t, filepath.Join(dir, name)), before[name]) {
			t.Errorf("the plan changed the real run's %s", name)
		}
	}
	ps, err := report.ParseSummary("plan-summary.json", mustRead(t, filepath.Join(dir, "plan-summary.json")), e2eKey(t))
	if err != nil || !ps.DryRun || ps.Counts["planned"] != 1 {
		t.Fatalf("plan-summary.json: %+v %v", ps, err)
	}
	html := string(mustRead(t, filepath.Join(dir, "plan-summary.html")))
	for _, want := range []string{`id="planned"`, ada, "directory-role", "Security Reader", again.ID} {
		if !strings.Contains(html, want) {
			t.Errorf("plan-summary.html does not list %q", want)
		}
	}
	// The journal grew past what summary.json vouches for: a restore
	// still verifies it, and says nothing of a run stopped short.
	r := tn.offboard(t, nil, "restore", "--report", dir, "--all", "--dry-run")
	wantCode(t, r, 0)
	if strings.Contains(r.stderr, "goes on after line") {
		t.Errorf("the restore took the plan's lines for a stopped run:\n%s", r.stderr)
	}
	// The rerun removes what was granted again and writes the summaries.
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	if _, ok := tn.RoleAssignment(again.ID); ok {
		t.Error("the rerun left the assignment granted again")
	}
	if s := readSummary(t, dir); s.DryRun || s.Counts["removed"] != 2 {
		t.Errorf("summary.json after the rerun: %+v", s)
	}
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all"), 0)
}

// holdsAny reports whether the principal holds a directory role.
func holdsAny(tn *tenant, id string) bool {
	return len(tn.RoleAssignmentsOf(id)) > 0
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rerunOf is the command a summary page says runs it again.
func rerunOf(t *testing.T, path string) string {
	t.Helper()
	n := readPage(t, path).byID("rerun")
	if n == nil {
		t.Fatalf("%s has no rerun command", path)
	}
	return text(n)
}

// readNamedSummary reads a summary of dir by name, without verifying it.
func readNamedSummary(t *testing.T, dir, name string) report.Summary {
	t.Helper()
	var s report.Summary
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, name)), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPrincipalThatDoesNotExistIsNotFound(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 27})
	ada, _ := a.user("ada@contoso.com", 1)
	typo := "0e0e0e0e-0000-4000-8000-0000000000aa"   // no one's
	orphan := "0e0e0e0e-0000-4000-8000-0000000000bb" // deleted from Entra, still assigned in ARM
	orphaned := a.assign(orphan, a.s1, simtenant.ARMReader)
	input := writeCSV(t, "principal_id,user_principal_name",
		ada+",",
		typo+",",
		orphan+",",
		",nobody@contoso.com")
	dir := filepath.Join(t.TempDir(), "report")
	args := []string{"run", "--input", input, "--report", dir, "--sources", "directory,azure", "--azure-scopes", a.s1}
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}
	r := a.offboard(t, env, args...)
	wantCode(t, r, 1) // a typo is seen
	rows := readReport(t, dir)
	status := map[string]row{}
	for _, rw := range rows {
		status[rw["principal_id"]+"|"+rw["user_principal_name"]+"|"+rw["assignment_id"]] = rw
	}
	if rw := status[typo+"||"]; rw["status"] != "not-found" || !strings.Contains(rw["detail"], "line 3") || !strings.Contains(rw["detail"], "principal_id "+typo) {
		t.Errorf("typo row %v, want not-found naming line 3 and the key", rw)
	}
	if rw := status["|nobody@contoso.com|"]; rw["status"] != "not-found" || !strings.Contains(rw["detail"], "line 5") || !strings.Contains(rw["detail"], `user_principal_name "nobody@contoso.com"`) {
		t.Errorf("unknown UPN row %v, want not-found naming line 5 and the key", rw)
	}
	if rw := status[orphan+"||"+orphaned]; rw["status"] != "removed" {
		t.Errorf("orphaned ARM assignment %v, want removed", rw)
	}
	if _, ok := status[orphan+"||"]; ok {
		t.Errorf("a deleted principal that held ARM access has a row of its own: %v", status[orphan+"||"])
	}
	for _, rw := range rows {
		if rw["status"] == "no-assignments" || rw["status"] == "invalid" {
			t.Errorf("row %v", rw)
		}
	}
	s := readSummary(t, dir)
	if s.Counts["not-found"] != 2 || s.ExitCode != 1 {
		t.Errorf("summary counts %v exit %d", s.Counts, s.ExitCode)
	}
	page := string(mustRead(t, filepath.Join(dir, "summary.html")))
	if !strings.Contains(page, "nobody@contoso.com") || !strings.Contains(page, typo) {
		t.Error("summary.html does not list the not-found rows")
	}
	// The alert fired once: the same input again ends clean, nothing new.
	wantCode(t, a.offboard(t, env, args...), 0)
	if s := readSummary(t, dir); s.Counts["not-found"] != 2 || s.ExitCode != 0 {
		t.Errorf("rerun summary counts %v exit %d", s.Counts, s.ExitCode)
	}
}

func TestDropFolderFileWithOnlyNotFoundLinesIsFinished(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 27})
	ada, _ := tn.user("ada@contoso.com", 1)
	in, rep, done := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "processed")
	if err := os.WriteFile(filepath.Join(in, "monday.csv"), []byte("principal_id,user_principal_name\n"+ada+",\n,nobody@contoso.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--input", in, "--report", rep, "--processed", done}
	wantCode(t, tn.offboard(t, nil, args...), 1)
	if _, err := os.Stat(filepath.Join(in, "monday.csv")); err != nil {
		t.Fatalf("the first night moved a file with a not-found line: %v", err)
	}
	// The next night: the not-found line was reported; the file is done.
	wantCode(t, tn.offboard(t, nil, args...), 0)
	if _, err := os.Stat(filepath.Join(in, "monday.csv")); err == nil {
		t.Fatal("the file stays in the drop folder")
	}
	moved, _ := filepath.Glob(filepath.Join(done, "monday.*.csv"))
	if len(moved) != 1 {
		t.Fatalf("processed holds %v", moved)
	}
}

func TestCorrectedDropFolderFileGetsItsOwnReportAndFinishes(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 28})
	ada, _ := tn.user("ada@contoso.com", 1)
	in, rep, done := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "processed")
	file := filepath.Join(in, "monday.csv")
	if err := os.WriteFile(file, []byte("principal_id\n"+ada+"\nnot-a-guid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--input", in, "--report", rep, "--processed", done}
	wantCode(t, tn.offboard(t, nil, args...), 1)
	first := filepath.Join(rep, "monday")
	before := mustRead(t, filepath.Join(first, "summary.json"))
	// HR fixes the line in place.
	if err := os.WriteFile(file, []byte("principal_id\n"+ada+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, args...)
	wantCode(t, r, 0)
	keyed, _ := filepath.Glob(filepath.Join(rep, "monday-*"))
	if len(keyed) != 1 || len(filepath.Base(keyed[0])) != len("monday-")+8 {
		t.Fatalf("report locations %v, want one monday-{sha8}", keyed)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(first, "summary.json")), before) {
		t.Error("the first report changed")
	}
	if s := readSummary(t, keyed[0]); s.ExitCode != 0 || s.Supersedes != first {
		t.Errorf("the corrected file's summary: exit %d supersedes %q, want %q", s.ExitCode, s.Supersedes, first)
	}
	if moved, _ := filepath.Glob(filepath.Join(done, "monday.*.csv")); len(moved) != 1 {
		t.Errorf("processed holds %v", moved)
	}
	// An explicit --report that belongs to another input says what to do,
	// and check says so before.
	r = tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ada, tn.NewID()), "--report", first)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "use another --report") {
		t.Errorf("stderr does not say what to do:\n%s", r.stderr)
	}
	r = tn.offboard(t, nil, "check", "--input", writeCSV(t, "principal_id", ada, tn.NewID()), "--report", first, "--output", "json")
	if r.code != 1 || !strings.Contains(r.stdout, "belongs to another input") || !strings.Contains(r.stdout, "use another --report") {
		t.Errorf("check: exit %d\n%s", r.code, r.stdout)
	}
}

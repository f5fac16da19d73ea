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

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
)

// A principal --max-removals-per-principal held back still holds what it
// held: the watch attests it failed, not clean.
func TestVerdictOfAHeldBackPrincipal(t *testing.T) {
	const pB = "bbbbbbbb-0000-4000-8000-000000000002"
	detail := job.HeldBackDetail(501, 500)
	items := []job.Item{
		{PrincipalID: pA, Source: job.SourceDirectory, AssignmentID: "a1", State: job.Deferred, Detail: detail},
		{PrincipalID: pA, Source: job.SourceDirectory, AssignmentID: "a2", State: job.Deferred, Detail: detail},
		{PrincipalID: pB, State: job.NoAssignments},
	}
	got := Verdicts([]Watched{{PrincipalID: pA}, {PrincipalID: pB}}, items, "")
	if got[0].Verdict != VerdictFailed || got[0].Why != "held, not removed: "+detail || len(got[0].Rows) != 2 {
		t.Errorf("held back: %s %q, %d rows", got[0].Verdict, got[0].Why, len(got[0].Rows))
	}
	if got[1].Verdict != VerdictClean {
		t.Errorf("the other: %s", got[1].Verdict)
	}
}

// summary.html names the held-back principals, escaped.
func TestSummaryPageListsTheHeldBack(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("r", false))
	defer d.Close()
	s := Summary{RunID: "r", ExitCode: 1, HeldBack: []HeldBack{{PrincipalID: pA, UPN: "<b>x</b>@contoso.com", Planned: 1001, MaxPerPrincipal: 500}}}
	if err := d.WriteSummaryHTML(Page{Summary: s, Command: "run"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{`id="held-back"`, pA, "&lt;b&gt;x&lt;/b&gt;@contoso.com", "1001 planned removals, more than 500"} {
		if !strings.Contains(page, want) {
			t.Errorf("summary.html lacks %q", want)
		}
	}
}

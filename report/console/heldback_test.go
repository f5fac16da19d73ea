package console

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
)

func TestPrintSummaryNamesTheHeldBack(t *testing.T) {
	s := report.Summary{ExitCode: 1}
	for i := range 7 {
		s.HeldBack = append(s.HeldBack, report.HeldBack{PrincipalID: fmt.Sprint("p", i), Planned: 501 + i, MaxPerPrincipal: 500})
	}
	s.HeldBack[0].UPN = "outlier\x1b[2J@contoso.com"
	var buf bytes.Buffer
	PrintSummary(&buf, "run", job.States, job.Result{}, s, "/r", RunFiles, "offboard run --report /r")
	out := buf.String()
	for _, want := range []string{
		"Held back by --max-removals-per-principal",
		"  outlier?[2J@contoso.com: 501 planned removals, more than 500\n",
		"  p4: 505 planned removals, more than 500\n",
		"  and 2 more: held_back in summary.json lists them\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the end does not say %q:\n%s", want, out)
		}
	}
}

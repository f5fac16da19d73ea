package console

import (
	"bytes"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
)

func TestCleanKeepsTextAndNeutralisesControls(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"HTTP 403 Forbidden: <b>no</b> é ✓", 100, "HTTP 403 Forbidden: <b>no</b> é ✓"},
		{"a\x1b]0;title\x07b\x1b[2Jc\r\nd\te", 100, "a?]0;title?b?[2Jc??d?e"},
		{"\u202eevil\u2066x\u2028y\u009b31m\x7f", 100, "?evil?x?y?31m?"},
		{strings.Repeat("x", 12), 10, strings.Repeat("x", 10) + "…"},
	} {
		if got := Clean(tc.in, tc.max); got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPrintSummaryShowsUnavailableSourcesAsHarmlessText(t *testing.T) {
	var buf bytes.Buffer
	s := report.Summary{ExitCode: 0, Unavailable: map[string]string{
		"pim": "AadPremiumLicenseRequired: \x1b[2Jneeds P2", "azure-eligibility": "not onboarded"}}
	PrintSummary(&buf, "plan", job.States, job.Result{}, s, "/r", RunFiles, "offboard plan --report /r")
	out := buf.String()
	for _, want := range []string{
		"Unavailable in this tenant (no rows; the exit code is not changed):\n  azure-eligibility: not onboarded\n  pim: AadPremiumLicenseRequired: ?[2Jneeds P2\n",
		"No rows.",
		"Report: /r/report.csv",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the end does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Rerun:") {
		t.Errorf("a rerun command after a clean run:\n%s", out)
	}
}

package console

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

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

// Failures are grouped by cause: six lines whose principal_id is not a
// GUID are one kind, their line numbers and values in the examples; a
// clean rerun is not offered for invalid lines alone.
func TestPrintSummaryGroupsFailuresByCauseWithoutLineNumbers(t *testing.T) {
	var res job.Result
	for i := range 6 {
		res.Items = append(res.Items, job.Item{PrincipalID: fmt.Sprint("bad-", i), State: job.Invalid, Line: i + 2,
			Detail: fmt.Sprintf(`line %d: principal_id "bad-%d" is not a GUID`, i+2, i)})
	}
	for i := range 3 {
		res.Items = append(res.Items, job.Item{UPN: fmt.Sprintf("u%d@contoso.com", i), State: job.Failed, Line: i + 8,
			Detail: fmt.Sprintf("line %d: resolving user_principal_name: HTTP 401 InvalidAuthenticationToken", i+8)})
	}
	var buf bytes.Buffer
	s := report.Summary{ExitCode: 1, Counts: map[string]int{"invalid": 6, "failed": 3}}
	PrintSummary(&buf, "run", job.States, res, s, "/r", RunFiles, "offboard run --report /r")
	out := buf.String()
	for _, want := range []string{
		"Failed or invalid rows: 9, of 2 kinds",
		"  6 × principal_id \"…\" is not a GUID\n      line 2: bad-0\n",
		"  3 × resolving user_principal_name: HTTP 401 InvalidAuthenticationToken\n      line 8: u0@contoso.com\n",
		"Rerun:  offboard run --report /r",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the end does not say %q:\n%s", want, out)
		}
	}

	// Invalid lines alone: no rerun, fix the input.
	buf.Reset()
	s = report.Summary{ExitCode: 1, Counts: map[string]int{"invalid": 6}}
	PrintSummary(&buf, "run", job.States, job.Result{Items: res.Items[:6]}, s, "/r", RunFiles, "offboard run --report /r")
	if out := buf.String(); strings.Contains(out, "Rerun:") || !strings.Contains(out, "correct them in the input") {
		t.Errorf("invalid lines alone:\n%s", out)
	}
}

func TestCause(t *testing.T) {
	for _, tc := range []struct{ in, cause, line string }{
		{`line 12: principal_id "x\"y" is not a GUID`, `principal_id "…" is not a GUID`, "line 12"},
		{"listing failed: HTTP 403 for 0f8fad5b-d9cb-469f-a165-70867728950e", "listing failed: HTTP 403 for {id}", ""},
		{"HTTP 403 Authorization_RequestDenied", "HTTP 403 Authorization_RequestDenied", ""},
	} {
		if c, l := Cause(tc.in); c != tc.cause || l != tc.line {
			t.Errorf("Cause(%q) = %q, %q; want %q, %q", tc.in, c, l, tc.cause, tc.line)
		}
	}
}

// At a terminal, the lines the display shows in its own way are left out
// of the log: the start of a command, every row, a watch's verdicts, and
// the warnings that repeat a failed row.
func TestQuietLeavesOutWhatTheDisplayShows(t *testing.T) {
	var buf bytes.Buffer
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(&buf), zap.InfoLevel)
	log := zap.New(Quiet(core))
	for _, msg := range []string{"run starting", "watch starting", "verdict", "outcome", "row", "listing failed",
		"resolving a line's keys failed", "run finished", "watch finished"} {
		log.Warn(msg, zap.String("input_sha256", "abc"))
	}
	if buf.Len() != 0 {
		t.Errorf("the log printed what the display shows:\n%s", buf.String())
	}
	log.Warn("the journal key file was created")
	if !strings.Contains(buf.String(), "the journal key file was created") {
		t.Error("another warning was left out")
	}
}

package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
)

func TestLogFormatDefaultsToJSONOffATerminal(t *testing.T) {
	for _, tc := range []struct {
		given, want string
	}{
		{"", "json"}, {"json", "json"}, {"console", "console"},
	} {
		c := config{LogFormat: tc.given}
		var buf bytes.Buffer
		log, d := newOutput(&c, &buf, false)
		if c.LogFormat != tc.want || d != nil {
			t.Errorf("--log-format %q into a buffer: %q, display %v; want %q and none", tc.given, c.LogFormat, d != nil, tc.want)
		}
		log.Info("outcome")
		if tc.want == "json" && !strings.HasPrefix(buf.String(), "{") {
			t.Errorf("--log-format %q wrote %q", tc.given, buf.String())
		}
	}
}

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
		if got := clean(tc.in, tc.max); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRerunCommandQuotesAndKeepsChangedFlags(t *testing.T) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	fs.StringVar(&c.Input, "input", "", "")
	fs.StringVar(&c.Report, "report", "", "")
	fs.BoolVar(&c.DryRun, "dry-run", false, "")
	c.serviceFlags(fs)
	if err := fs.Parse([]string{"--input", "x.csv", "--report", "r", "--max-removals", "5000", "--log-format", "json", "--verbose", "--cloud", "public"}); err != nil {
		t.Fatal(err)
	}
	changed := changedFlags(fs)
	if strings.Join(changed, " ") != "--max-removals=5000" {
		t.Errorf("changed flags %q, want only --max-removals=5000", changed)
	}
	got := rerunCommand("run", "HR's file; rm -rf ~.csv", "/reports/a b", changed)
	want := `offboard run --input 'HR'\''s file; rm -rf ~.csv' --report '/reports/a b' --max-removals=5000`
	if got != want {
		t.Errorf("rerun\n%s\nwant\n%s", got, want)
	}
}

func TestPrintSummaryShowsUnavailableSourcesAsHarmlessText(t *testing.T) {
	var buf bytes.Buffer
	s := report.Summary{ExitCode: 0, Unavailable: map[string]string{
		"pim": "AadPremiumLicenseRequired: \x1b[2Jneeds P2", "azure-eligibility": "not onboarded"}}
	printSummary(&buf, "plan", job.States, job.Result{}, s, "/r", runReportFiles, "offboard plan --report /r")
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

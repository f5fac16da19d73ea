package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
)

// A row the job leaves on purpose (skipped) makes the principal held,
// with why and what to do; a failure still wins over it, and held wins
// over removed-again.
func TestVerdictHeldForAccessLeftOnPurpose(t *testing.T) {
	w := Watched{PrincipalID: pA, Run: RunRecord{ID: "r1"}}
	for _, tc := range []struct {
		name    string
		items   []job.Item
		verdict string
		todo    string
	}{
		{"group last owner", []job.Item{{PrincipalID: pA, Source: "groups", AssignmentID: "g1", State: job.Skipped, Detail: "last-owner"}},
			VerdictHeld, "add another owner to the group"},
		{"app last owner", []job.Item{{PrincipalID: pA, Source: "apps", AssignmentID: "o1", State: job.Skipped,
			Detail: "last-owner: application Payroll (id) keeps its last owner"}}, VerdictHeld, "add another owner to the application"},
		{"last global admin", []job.Item{{PrincipalID: pA, Source: "directory", AssignmentID: "d1", State: job.Skipped, Detail: "last-global-admin"}},
			VerdictHeld, "assign Global Administrator to another account"},
		{"protected", []job.Item{{PrincipalID: pA, Source: "directory", AssignmentID: "d1", State: job.Skipped, Detail: "protected"}},
			VerdictHeld, "--protect"},
		{"dynamic group", []job.Item{{PrincipalID: pA, Source: "groups", AssignmentID: "g1", State: job.Skipped,
			Detail: "dynamic-membership: group G's members follow its membership rule; change the rule or the principal's attributes"}},
			VerdictHeld, "membership rule"},
		{"held and removed", []job.Item{
			{PrincipalID: pA, Source: "directory", AssignmentID: "d1", State: job.Removed},
			{PrincipalID: pA, Source: "groups", AssignmentID: "g1", State: job.Skipped, Detail: "last-owner"}}, VerdictHeld, "add another owner"},
		{"held and failed", []job.Item{
			{PrincipalID: pA, Source: "groups", AssignmentID: "g1", State: job.Skipped, Detail: "last-owner"},
			{PrincipalID: pA, Source: "directory", AssignmentID: "d1", State: job.Failed, Detail: "HTTP 403"}}, VerdictFailed, "add another owner"},
	} {
		v := Verdicts([]Watched{w}, tc.items, "")[0]
		if v.Verdict != tc.verdict || !strings.Contains(v.WhatToDo, tc.todo) {
			t.Errorf("%s: verdict %q, what to do %q; want %q, %q", tc.name, v.Verdict, v.WhatToDo, tc.verdict, tc.todo)
		}
		if strings.Contains(v.Why, "held, not removed") {
			t.Errorf("%s: why %q reads as a failure", tc.name, v.Why)
		}
	}
}

// The page shows a held principal with its badge, why and what to do,
// counts held, and says the exit code 0 covers it.
func TestAttestationPageShowsHeld(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("w1", false))
	defer d.Close()
	w := Watched{PrincipalID: pA, Run: RunRecord{ID: "r1"}}
	verdicts := Verdicts([]Watched{w}, []job.Item{{PrincipalID: pA, Source: "groups", AssignmentID: "g1", State: job.Skipped, Detail: "last-owner"}}, "")
	if err := d.WriteAttestation(Attestation{RunID: "w1", Principals: verdicts, ExitCode: 0}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "attestation.html"))
	page := string(b)
	for _, want := range []string{
		`<span class="badge s-held">held</span>`, "held on purpose: last-owner", "what to do:", "add another owner to the group",
		"1 still hold access the job leaves on purpose", ".s-held{",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("attestation.html lacks %q", want)
		}
	}
	if strings.Contains(page, `<span class="badge s-failed">failed</span> `) {
		t.Error("a held principal is shown failed")
	}
}

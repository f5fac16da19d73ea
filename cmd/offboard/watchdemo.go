package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// demoWatch ends the demo: a colleague re-grants one offboarded principal a
// directory role, and `offboard watch` over the demo's directory finds it
// and removes it again. runArgs are the demo run's; it returns the watch's
// exit code.
func demoWatch(ctx context.Context, sio stdio, env func(string) (string, bool), tenant *simtenant.Tenant,
	dir, reportDir string, runArgs []string) int {
	items, err := report.ReadItems(reportDir)
	if err != nil {
		fmt.Fprintf(sio.err, "offboard demo: %v\n", err)
		return exitRowsFailed
	}
	var who simtenant.User
	for _, it := range items {
		if u, ok := tenant.User(it.PrincipalID); ok && it.State == job.Removed && it.Source == job.SourceDirectory {
			who = u
			break
		}
	}
	if who.ID == "" {
		return exitOK // nothing was removed: nothing to re-grant
	}
	tenant.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: who.ID, RoleDefinitionID: simtenant.HelpdeskAdministrator, DirectoryScopeID: "/"})
	watchArgs := []string{"--reports", dir}
	for i := 0; i+1 < len(runArgs); i += 2 {
		if !slices.Contains([]string{"--input", "--report"}, runArgs[i]) {
			watchArgs = append(watchArgs, runArgs[i], runArgs[i+1])
		}
	}
	fmt.Fprintf(sio.out, "\nA colleague re-grants %s the Helpdesk Administrator role. The nightly watch re-checks everyone offboarded in the last 90 days.\n", who.UserPrincipalName)
	fmt.Fprintf(sio.out, "Running: offboard watch %s\n\n", strings.Join(watchArgs, " "))
	code := runWatch(ctx, watchArgs, stdio{in: sio.in, out: sio.out, err: sio.err, env: env})
	watchDir := filepath.Join(dir, "watch", time.Now().UTC().Format(time.DateOnly))
	b, err := os.ReadFile(filepath.Join(watchDir, "attestation.json"))
	var att report.Attestation
	if err == nil {
		err = json.Unmarshal(b, &att)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "offboard demo: the watch left no attestation: %v\n", err)
		return max(code, exitRowsFailed)
	}
	n := map[string]int{}
	for _, p := range att.Principals {
		n[p.Verdict]++
		if p.Verdict == report.VerdictRemovedAgain {
			for _, r := range p.Rows {
				fmt.Fprintf(sio.out, "\nRemoved again: %s %s of %s: %s\n", r.Source, r.AssignmentID, p.PrincipalID, r.Detail)
			}
		}
		if p.Verdict == report.VerdictFailed {
			fmt.Fprintf(sio.out, "\nStill held (failed, as in the run it came from): %s: %s\n", p.PrincipalID, p.Why)
		}
	}
	fmt.Fprintf(sio.out, "\nThe watch exited %d: %d principals watched, %d clean, %d removed-again, %d failed.\nAttestation: %s\n             %s\n",
		code, len(att.Principals), n[report.VerdictClean], n[report.VerdictRemovedAgain], n[report.VerdictFailed],
		filepath.Join(watchDir, "attestation.json"), filepath.Join(watchDir, "attestation.html"))
	return code
}

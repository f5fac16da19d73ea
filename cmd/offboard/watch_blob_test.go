package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// TestWatchBlobReports: the drop job's reports in Blob Storage, a re-grant,
// a forged report beside them; the watch reads the prefix and writes its
// report and attestation under {ROOT}/watch/{UTC date}/.
func TestWatchBlobReports(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 62})
	ann, _ := tn.user("ann@contoso.com", 1)
	forged, _ := tn.user("forged@contoso.com", 1)
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	put(t, incoming, "d1.csv", csvOf(ann))
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	wantCode(t, tn.offboard(t, env, "run", "--input", az.root+"/incoming/", "--report", az.root+"/reports/"), 0)
	again := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: ann, RoleDefinitionID: simtenant.SecurityReader, DirectoryScopeID: "/"})

	local := t.TempDir()
	writeRemovedReport(t, local, "someone-elses-key-0123456789-0123456789-0123", time.Now().Add(-time.Hour), forged, tn.RoleAssignmentsOf(forged)[0].ID)
	j, err := os.ReadFile(filepath.Join(local, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	put(t, reports, "forged/journal.jsonl", j)
	// A blob whose name clashes with another's folder cannot be staged:
	// its report is left out, not the watch.
	put(t, reports, "clash/journal.jsonl", j)
	put(t, reports, "clash/journal.jsonl/journal.jsonl", j)

	tn.ResetRequests()
	// The forged report is refused: the watch fails (issue 24).
	wantCode(t, tn.offboard(t, env, "watch", "--reports", az.root+"/reports/"), 1)
	day := "watch/" + time.Now().UTC().Format(time.DateOnly) + "/"
	key, _ := report.NewKey([]byte(testJournalKey))
	att, err := report.ParseAttestation(get(t, reports, day+"attestation.json"), key)
	if err != nil {
		t.Fatal(err)
	}
	if len(att.Principals) != 1 || att.Principals[0].PrincipalID != ann || att.Principals[0].Verdict != "removed-again" || att.Principals[0].Report != "d1" {
		t.Errorf("principals %+v", att.Principals)
	}
	for _, ev := range att.Evidence {
		if ev.Report == "forged" && ev.Used {
			t.Error("the forged report was used")
		}
	}
	if att.ExitCode != 1 || !slices.ContainsFunc(att.Refused, func(r report.Refusal) bool { return r.Report == "forged" }) {
		t.Errorf("exit_code %d, refused %+v: want 1 and the forged report", att.ExitCode, att.Refused)
	}
	if !strings.Contains(string(get(t, reports, day+"report.csv")), again.ID) || len(get(t, reports, day+"attestation.html")) == 0 {
		t.Error("the watch's report or attestation.html is not in the blob")
	}
	if len(tn.RoleAssignmentsOf(ann)) != 0 || len(tn.RoleAssignmentsOf(forged)) != 1 {
		t.Error("the watch left the re-grant, or touched the forged report's principal")
	}
}

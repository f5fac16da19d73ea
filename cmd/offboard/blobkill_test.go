package main

// A blob report location after kill -9: the journal's mirror in Blob
// Storage is all the rerun has (its staging directory is a fresh one), and
// it must lose nothing and redo nothing, as a local directory does.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// TestBlobReportKillNineThenRerun kills a run whose report location is a
// blob prefix in the tenant's hook, at the first removal and at the 40th
// (the tenant has made it, the job never hears of it), then reruns it
// with a fresh staging directory: every removal the killed run made is
// reported removed, `confirmed absent on rerun` exactly when its outcome
// had not reached the blob journal, and the rerun sends no write for
// anything the killed run removed.
func TestBlobReportKillNineThenRerun(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	reports := az.container(t, "reports")
	for _, c := range []struct {
		name string
		n    int
	}{{"first removal", 1}, {"40th removal", 40}} {
		t.Run(c.name, func(t *testing.T) {
			tn, input, all := longTenant(t)
			prefix := strings.ReplaceAll(c.name, " ", "-") + "/"
			env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
			args := []string{"run", "--input", input, "--report", az.root + "/reports/" + prefix}
			cmd := tn.command(t, append(env, "OFFBOARD_CONCURRENCY=4", "TMPDIR="+t.TempDir()), args...)
			landed := killAt(t, tn.Tenant, cmd, c.n, func(r *http.Request) bool { return r.Method == http.MethodDelete }).wait(t)
			tn.ClearRules()
			victim := filepath.Base(landed.URL.Path)

			seen := map[string]bool{}
			for _, r := range tn.Requests() {
				if r.Method == http.MethodDelete && r.Status == http.StatusNoContent {
					seen[filepath.Base(r.Path)] = true
				}
			}
			if !seen[victim] || len(seen) >= len(all) {
				t.Fatalf("the tenant made %d of %d removals, the one the kill landed in (%s): %v", len(seen), len(all), victim, seen[victim])
			}
			// What the blob journal holds done: all the rerun will have.
			mirror := t.TempDir()
			if err := os.WriteFile(filepath.Join(mirror, "journal.jsonl"), get(t, reports, prefix+"journal.jsonl"), 0o600); err != nil {
				t.Fatal(err)
			}
			journaled := map[string]bool{}
			for k := range journaledDone(t, mirror) {
				journaled[k[strings.LastIndexByte(k, '|')+1:]] = true
			}
			if journaled[victim] {
				t.Fatalf("the killed run journaled the outcome of %s, whose answer it never got", victim)
			}

			// The killed run's lease would expire within a minute; break it
			// rather than wait.
			lc, err := lease.NewBlobClient(reports.NewBlockBlobClient(prefix+".lock"), nil)
			if err != nil {
				t.Fatal(err)
			}
			zero := int32(0)
			if _, err := lc.BreakLease(context.Background(), &lease.BlobBreakOptions{BreakPeriod: &zero}); err != nil {
				t.Fatal(err)
			}

			tn.ResetRequests()
			wantCode(t, tn.offboard(t, append(env, "TMPDIR="+t.TempDir()), args...), 0)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "report.csv"), get(t, reports, prefix+"report.csv"), 0o600); err != nil {
				t.Fatal(err)
			}
			rows := readReport(t, dir)
			got := byAssignment(rows)
			if len(got) != len(all) || len(rows) != len(all) {
				t.Errorf("%d rows for %d assignments", len(rows), len(all))
			}
			for _, id := range all {
				want := ""
				if seen[id] && !journaled[id] {
					want = "confirmed absent on rerun"
				}
				if got[id]["status"] != "removed" || got[id]["detail"] != want {
					t.Errorf("%s: %v, want removed with detail %q", id, got[id], want)
				}
			}
			writes := tn.writes()
			for _, w := range writes {
				if seen[filepath.Base(w.Path)] {
					t.Errorf("the rerun sent %s %s, removed before the kill", w.Method, w.Path)
				}
			}
			if len(writes) != len(all)-len(seen) {
				t.Errorf("the rerun sent %d writes for the %d assignments left", len(writes), len(all)-len(seen))
			}
			if left := tn.RoleAssignments(); len(left) != 0 {
				t.Errorf("%d assignments left after the rerun", len(left))
			}
			t.Logf("killed in %s; the killed run made %d of %d removals, %d in the blob journal", victim, len(seen), len(all), len(journaled))
		})
	}
}

package main

// Issue 15, item 5: restore from a Blob Storage report location. The
// restore stages the run's journal under the lease a run takes, and
// publishes restore.csv, restore.jsonl, restore-summary.json and
// restore-summary.html back.

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/offboard/offboard/simtenant"
)

func TestRestoreFromBlobReport(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 44})
	id, _ := tn.user("blobrestore@contoso.com", 2)
	other, _ := tn.user("stays-removed@contoso.com", 1)
	before := roleKeys(tn, id)
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	put(t, incoming, "in.csv", csvOf(id, other))
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	loc := az.root + "/reports/night/"
	wantCode(t, tn.offboard(t, env, "run", "--input", az.root+"/incoming/in.csv", "--report", loc), 0)
	if n := len(tn.RoleAssignmentsOf(id)); n != 0 {
		t.Fatalf("the run left %d roles", n)
	}

	// Held by another run's lease: refused, nothing sent, nothing written.
	put(t, reports, "night/.lock", nil) // there already, as the run left it
	lc, err := lease.NewBlobClient(reports.NewBlockBlobClient("night/.lock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	held, err := lc.AcquireLease(context.Background(), 60, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, env, "restore", "--report", loc, "--principal", id), 2)
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("a restore refused by the lease sent %d requests", n)
	}
	if got := names(t, reports, "night/restore"); len(got) != 0 {
		t.Errorf("a restore refused by the lease wrote %v", got)
	}
	if _, err := lc.ReleaseLease(context.Background(), &lease.BlobReleaseOptions{}); err != nil {
		t.Fatal(err, held)
	}

	wantCode(t, tn.offboard(t, env, "restore", "--report", loc, "--principal", id), 0)
	if got := roleKeys(tn, id); !slices.Equal(got, before) {
		t.Errorf("after the restore %s holds %v, want %v", id, got, before)
	}
	if n := len(tn.RoleAssignmentsOf(other)); n != 0 {
		t.Errorf("a principal not named was restored (%d roles)", n)
	}
	want := []string{"night/restore-summary.html", "night/restore-summary.json", "night/restore.csv", "night/restore.jsonl"}
	if got := names(t, reports, "night/restore"); !slices.Equal(got, want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	first := get(t, reports, "night/restore.csv")
	if n := bytes.Count(first, []byte(",restored,")); n != 2 {
		t.Errorf("restore.csv in the blob has %d restored rows, want 2:\n%s", n, first)
	}
	if !bytes.Contains(get(t, reports, "night/restore-summary.json"), []byte(`"exit_code": 0`)) {
		t.Error("restore-summary.json in the blob does not say exit 0")
	}
	if n := bytes.Count(get(t, reports, "night/restore.jsonl"), []byte(`"type":"outcome"`)); n != 2 {
		t.Errorf("restore.jsonl in the blob holds %d outcomes, want 2", n)
	}

	// A second restore finds the first in restore.jsonl: nothing is sent
	// again and the rows stay as they were.
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, env, "restore", "--report", loc, "--principal", id), 0)
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the second restore sent %s %s", w[0].Method, w[0].Path)
	}
	if again := get(t, reports, "night/restore.csv"); !bytes.Equal(again, first) {
		t.Errorf("the second restore changed restore.csv:\n%s\nwas\n%s", again, first)
	}
	// The run's own files are as the run left them.
	if !bytes.Contains(get(t, reports, "night/report.csv"), []byte(",removed,")) {
		t.Error("report.csv lost its removed rows")
	}
}

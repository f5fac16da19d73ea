package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// Issue 18 in Blob Storage: a forged summary.json does not skip a drop
// file, and a blob named `...csv` does not write its report into the
// parent of the report location.
func TestForgedBlobSummaryAndDotNamedBlobRefused(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 191})
	id, _ := tn.user("leaver@contoso.com", 1)
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	data := csvOf(id)
	put(t, incoming, "drop/a.csv", data)
	put(t, incoming, "drop/...csv", data)
	sum := sha256.Sum256(data)
	put(t, reports, "nightly/a/summary.json", []byte(`{"run_id":"x","input_sha256":"`+hex.EncodeToString(sum[:])+`","exit_code":0}`+"\n"))

	r := tn.offboard(t, env, "run", "--input", az.root+"/incoming/drop/", "--report", az.root+"/reports/nightly/")
	wantCode(t, r, 2)
	if strings.Contains(r.stderr, "already finished cleanly") {
		t.Errorf("the forged summary skipped the file:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "summary.json") || !strings.Contains(r.stderr, "drop-folder file refused") {
		t.Errorf("stderr does not name the forged summary and the refused name:\n%s", r.stderr)
	}
	if len(tn.writes()) != 0 || len(tn.RoleAssignmentsOf(id)) != 1 {
		t.Error("a refused file was acted on")
	}
	pager := reports.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			if name := *b.Name; !strings.HasPrefix(name, "nightly/a/") {
				t.Errorf("the run wrote %s", name)
			}
		}
	}
}

package report

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/offboard/offboard/job"
)

func TestWatchEntriesAreByObjectIDAndHashTheList(t *testing.T) {
	watched := []Watched{
		{PrincipalID: "11111111-1111-1111-1111-111111111111", UPN: "someone.else.now@x", Reference: "HR-1", Run: RunRecord{ID: "run-a"}},
		{PrincipalID: "22222222-2222-2222-2222-222222222222", Run: RunRecord{ID: "run-b"}},
	}
	entries, sha := WatchEntries(watched)
	want := []job.Entry{
		{Line: 2, PrincipalID: "11111111-1111-1111-1111-111111111111", Reference: "HR-1"},
		{Line: 3, PrincipalID: "22222222-2222-2222-2222-222222222222"},
	}
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i := range want {
		if entries[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, entries[i], want[i])
		}
	}
	sum := sha256.Sum256([]byte("principal_id,run_id\n" +
		"11111111-1111-1111-1111-111111111111,run-a\n22222222-2222-2222-2222-222222222222,run-b\n"))
	if sha != hex.EncodeToString(sum[:]) {
		t.Errorf("input sha %s is not the list's", sha)
	}
	if _, empty := WatchEntries(nil); empty == sha {
		t.Error("an empty list hashes as a full one")
	}
}

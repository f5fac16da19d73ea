package report

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/offboard/offboard/job"
)

// TestLegacyKind: a row a release before kinds wrote gets its kind from
// what that release encoded in it, once, when its journal is read.
func TestLegacyKind(t *testing.T) {
	const g = "11111111-1111-1111-1111-111111111111"
	for _, tc := range []struct {
		source, id, raw, want string
	}{
		{"directory", "abc", "", job.KindDirectoryRole},
		{"pim", "e1", "", job.KindDirectoryRoleEligibility},
		{"azure", "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x", "", job.KindAzureRole},
		{"azure", "/subscriptions/s/providers/Microsoft.Authorization/roleEligibilitySchedules/x", "", job.KindAzureRoleEligibility},
		{"groups", g, `{"id":"` + g + `","isAssignableToRole":true}`, job.KindGroupMember},
		{"groups", g, `{"id":"` + g + `","displayName":"Azure Ops"}`, job.KindAzureGroupMember},
		{"groups", g, "", job.KindGroupMember},
		{"groups", g + "/owner", "", job.KindGroupOwner},
		{"groups", g + "/eligible-member", "", job.KindGroupEligibleMember},
		{"groups", g + "/eligible-owner", "", job.KindGroupEligibleOwner},
		{"groups", g + "/active-member", "", job.KindGroupActiveMember},
		{"groups", g + "/active-owner", "", job.KindGroupActiveOwner},
		{"groups", g + "/something", "", ""},
		{"", "", "", ""},
	} {
		it := job.Item{Source: tc.source, AssignmentID: tc.id}
		if tc.raw != "" {
			it.Raw = json.RawMessage(tc.raw)
		}
		if got := legacyKind(it); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.source, tc.id, got, tc.want)
		}
	}
}

// TestJournalWithoutKindsReadsWithKinds: a journal whose plan lines carry
// no kind (the previous release's) reads back with each row's kind; a
// line of this release with an empty kind keeps it empty.
func TestJournalWithoutKindsReadsWithKinds(t *testing.T) {
	dir := t.TempDir()
	writeRelease18(t, dir, "run-old")
	items, err := ReadRunItems(dir, testKey(t, "k"), false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, it := range items {
		kinds[it.AssignmentID] = it.Kind
	}
	if kinds["a1"] != job.KindDirectoryRole || kinds["g1"] != job.KindGroupMember {
		t.Errorf("kinds read back: %v", kinds)
	}

	now := t.TempDir()
	d := mustOpen(t, now, inputA, runInfo("run-1", false))
	it := item("p1", "directory", "a1", job.Planned)
	it.Kind = ""
	if err := d.Plan(slices.Values([]job.Item{it})); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	d = mustOpen(t, now, inputA, runInfo("run-2", false))
	defer mustClose(t, d)
	if got := d.Previous(); len(got) != 1 || got[0].Kind != "" {
		t.Errorf("a row written without a kind by this release read back as %+v", got)
	}
}

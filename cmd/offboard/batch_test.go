package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// TestBatchedRunAgainstAThrottlingTenant: with the default batching the
// removals of every Graph source go in $batch requests; a tenant whose
// write budget is far below the job's pace throttles sub-requests inside
// 200 batches, and the job resends only those, after their Retry-After
// (the tenant records a violation for any that comes back early), until
// every row is removed. A PIM-managed assignment refusing its DELETE goes
// through the PIM way inside a batch too.
func TestBatchedRunAgainstAThrottlingTenant(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 23, WriteRate: 10, WriteBurst: 10, PIMManagedDeleteRefused: true})
	groups := []simtenant.Group{
		tn.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true}),
		tn.AddGroup(simtenant.Group{DisplayName: "Tier1 Admins", IsAssignableToRole: true}),
	}
	lines := []string{"principal_id,reference"}
	var managed string
	for i := range 8 {
		id, roles := tn.user(fmt.Sprintf("leaver%d@contoso.com", i), 3)
		if i == 0 {
			managed = roles[0]
			tn.MarkPIMManaged(managed)
		}
		for _, g := range groups {
			if err := tn.AddMember(g.ID, id); err != nil {
				t.Fatal(err)
			}
		}
		tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: id, RoleDefinitionID: simtenant.GlobalReader})
		lines = append(lines, fmt.Sprintf("%s,HR-%d", id, i))
	}
	tn.ResetRequests()
	dir := t.TempDir()
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, lines...), "--report", dir)
	wantCode(t, r, 0)

	rows := readReport(t, dir)
	if len(rows) != 8*(3+2+1) {
		t.Fatalf("%d rows, want 48", len(rows))
	}
	retried := 0
	for _, row := range rows {
		if row["status"] != "removed" {
			t.Errorf("%s %s: %s %s", row["source"], row["assignment_id"], row["status"], row["detail"])
		}
		n, _ := strconv.Atoi(row["attempts"])
		if n > 1 {
			retried++
		}
		if n < 1 || n > 6 {
			t.Errorf("%s: %d attempts", row["assignment_id"], n)
		}
		if row["assignment_id"] == managed && (!strings.Contains(row["detail"], "roleAssignmentScheduleRequest") || n < 2) {
			t.Errorf("PIM-managed row %v: want removed the PIM way, after its DELETE", row)
		}
	}
	if retried == 0 {
		t.Error("no row was retried: the tenant throttled nothing")
	}
	st := tn.Stats()
	if st.Batches == 0 || st.ByMethodStatus[http.MethodDelete][http.StatusTooManyRequests] == 0 {
		t.Errorf("stats %+v: want batches, and DELETEs throttled inside them", st)
	}
	if st.BatchesByStatus[http.StatusOK] != st.Batches {
		t.Errorf("batches answered %v, want every one 200", st.BatchesByStatus)
	}
	// Every write went inside a batch, each a request of its own there.
	batches, subs := 0, 0
	for _, req := range tn.Requests() {
		switch {
		case isBatch(req):
			batches++
		case req.Method != http.MethodGet && !req.InBatch:
			t.Errorf("a write outside a batch: %s %s", req.Method, req.Path)
		case req.InBatch:
			subs++
			if req.Method == http.MethodDelete && strings.Contains(req.Path, "/members/") && !strings.HasSuffix(req.EscapedPath, "/$ref") {
				t.Errorf("member DELETE without /$ref: %s", req.EscapedPath)
			}
			if req.Method == http.MethodPost && !strings.Contains(string(req.Body), "HR-") {
				t.Errorf("the justification does not carry the reference: %s", req.Body)
			}
		}
	}
	if batches != st.Batches || subs != st.SubRequests || subs <= 48 {
		t.Errorf("%d batches and %d sub-requests logged, stats %d and %d; want more than the 48 removals (retries)",
			batches, subs, st.Batches, st.SubRequests)
	}
	for i := range 8 {
		u, _ := tn.User(fmt.Sprintf("leaver%d@contoso.com", i))
		if n := len(tn.RoleAssignmentsOf(u.ID)) + len(tn.MemberOf(u.ID)) + len(tn.EligibilitiesOf(u.ID)); n != 0 {
			t.Errorf("%s still holds %d", u.UserPrincipalName, n)
		}
	}

	// A clean rerun sends no write; its batches carry the pim and groups
	// listings' first pages only.
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, lines...), "--report", dir), 0)
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %d writes", len(w))
	}
	for _, req := range tn.Requests() {
		if req.InBatch && req.Method != http.MethodGet {
			t.Errorf("the rerun sent %s %s in a batch", req.Method, req.Path)
		}
	}
}

func TestGraphBatchSizeFlag(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 24})
	id, _ := tn.user("one@contoso.com", 3)
	input := writeCSV(t, "principal_id", id)
	for _, bad := range []string{"0", "21", "x"} {
		r := tn.offboard(t, []string{"OFFBOARD_GRAPH_BATCH_SIZE=" + bad}, "run", "--input", input, "--report", t.TempDir())
		wantCode(t, r, 2)
		if !strings.Contains(r.stderr, "graph-batch-size") && !strings.Contains(r.stderr, "GRAPH_BATCH_SIZE") {
			t.Errorf("batch size %s: stderr does not name the flag:\n%s", bad, r.stderr)
		}
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("a refused run sent %d requests", n)
	}
	// 1: one DELETE a removal, no $batch.
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", t.TempDir(), "--graph-batch-size", "1"), 0)
	st := tn.Stats()
	if st.Batches != 0 || st.ByMethod[http.MethodDelete] != 3 {
		t.Errorf("stats %+v: want three DELETEs alone", st)
	}
}

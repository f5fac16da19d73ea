package main

// Issue 27 item 6: a 401 stops the run at once (exit 2) rather than fail
// every row, and a service that cannot be reached fails in seconds
// (exit 2, the endpoint named) without taking the report location.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/simtenant"
)

// refusingTenant is a tenant with 8 departing users holding 3 directory
// role assignments each, and its input.
func refusingTenant(t *testing.T, seed uint64) (*tenant, string, int) {
	t.Helper()
	tn := startTenant(t, simtenant.Config{Seed: seed})
	lines := []string{"principal_id"}
	n := 0
	for i := range 8 {
		id, ids := tn.user(fmt.Sprintf("u%d@contoso.com", i), 3)
		lines = append(lines, id)
		n += len(ids)
	}
	return tn, writeCSV(t, lines...), n
}

func TestUnauthorizedRemovalStopsTheRun(t *testing.T) {
	t.Parallel()
	for _, batch := range []string{"1", "4"} {
		t.Run("graph-batch-size="+batch, func(t *testing.T) {
			t.Parallel()
			tn, input, total := refusingTenant(t, 271)
			tn.AddRule(simtenant.Rule{Method: "DELETE", Status: 401, Code: "InvalidAuthenticationToken",
				Message: "Lifetime validation failed, the token is expired."})
			dir := filepath.Join(t.TempDir(), "report")
			r := tn.offboard(t, []string{"OFFBOARD_SOURCES=directory"}, "run", "--input", input, "--report", dir,
				"--concurrency", "1", "--graph-batch-size", batch)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, "the service refused the token (401): fix the identity and rerun") {
				t.Errorf("stderr does not say why the run stopped:\n%s", r.stderr)
			}
			rows := readReport(t, dir)
			if len(rows) != total {
				t.Fatalf("%d rows, want %d", len(rows), total)
			}
			counts := map[string]int{}
			for _, row := range rows {
				counts[row["status"]]++
				if row["status"] == "failed" && !strings.Contains(row["detail"], "401") {
					t.Errorf("failed row %v does not name the 401", row)
				}
			}
			if counts["failed"] == 0 || counts["failed"] == total || counts["planned"] == 0 || counts["removed"] != 0 {
				t.Errorf("statuses %v: want the refused removal(s) failed, the rows not attempted planned", counts)
			}
			s := readSummary(t, dir)
			if s.ExitCode != 2 || !strings.Contains(s.Stopped, "401") {
				t.Errorf("summary %+v: want exit_code 2 and stopped naming the 401", s)
			}
			if left := len(tn.RoleAssignments()); left != total {
				t.Errorf("%d assignments left, want all %d", left, total)
			}
			// With a working token the rerun finishes.
			tn.ClearRules()
			wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory"), 0)
			if left := len(tn.RoleAssignments()); left != 0 {
				t.Errorf("%d assignments left after the rerun", left)
			}
		})
	}
}

func TestUnauthorizedListingStopsBeforeAnyRemoval(t *testing.T) {
	t.Parallel()
	tn, input, total := refusingTenant(t, 272)
	tn.AddRule(simtenant.Rule{Method: "GET", PathContains: "roleAssignments", Status: 401, Code: "InvalidAuthenticationToken",
		Message: "Lifetime validation failed, the token is expired."})
	dir := filepath.Join(t.TempDir(), "report")
	r := tn.offboard(t, []string{"OFFBOARD_SOURCES=directory"}, "run", "--input", input, "--report", dir)
	wantCode(t, r, 2)
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("%d writes after a 401 while listing, want none", len(w))
	}
	if left := len(tn.RoleAssignments()); left != total {
		t.Errorf("%d assignments left, want all %d", left, total)
	}
	if s := readSummary(t, dir); s.ExitCode != 2 || !strings.Contains(s.Stopped, "401") {
		t.Errorf("summary %+v: want exit_code 2 and stopped naming the 401", s)
	}
	if !strings.Contains(r.stderr, "fix the identity and rerun") {
		t.Errorf("stderr does not say why the run stopped:\n%s", r.stderr)
	}
}

func TestUnreachableServiceFailsFastWithoutTheReportDirectory(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 273})
	id, _ := tn.user("gone@contoso.com", 2)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	_ = l.Close()
	dir := filepath.Join(t.TempDir(), "report")
	cmd := tn.command(t, []string{"OFFBOARD_GRAPH_ENDPOINT=" + closed}, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A generous bound: before the fix, the retries took minutes.
	timer := time.AfterFunc(90*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), l.Addr().String()) || !strings.Contains(errb.String(), "cannot be reached") {
		t.Errorf("stderr does not name the endpoint %s:\n%s", closed, errb.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the report directory was made (%v): a run that reached no service must leave it alone", err)
	}
}

package main

// Issue 27 item 6, for restore and watch: a 401 stops them at once
// (exit 2, what was done written), and a service that cannot be reached
// fails in seconds, naming the endpoint, before the report directory is
// taken.

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// refusedToken is the rule of a service that refuses the token on method.
func refusedToken(method string) simtenant.Rule {
	return simtenant.Rule{Method: method, PathContains: "roleAssignments", Status: 401, Code: "InvalidAuthenticationToken",
		Message: "Lifetime validation failed, the token is expired."}
}

// closedEndpoint is an http:// address nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// runTimed runs cmd, killing it after limit, and returns its exit code,
// stderr and how long it took.
func runTimed(t *testing.T, cmd *exec.Cmd, limit time.Duration) (int, string, time.Duration) {
	t.Helper()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(limit, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	_ = cmd.Wait()
	return cmd.ProcessState.ExitCode(), errb.String(), time.Since(start)
}

// listing is the names and contents of the files under dir.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			out[path] = string(b)
		}
		return nil
	})
	return out
}

func TestRestoreStopsOnUnauthorized(t *testing.T) {
	t.Parallel()
	tn, input, total := refusingTenant(t, 274)
	dir := filepath.Join(t.TempDir(), "report")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory"), 0)
	tn.AddRule(refusedToken("POST"))
	tn.ResetRequests()
	r := tn.offboard(t, nil, "restore", "--report", dir, "--all", "--concurrency", "1")
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "the service refused the token (401): fix the identity and rerun") {
		t.Errorf("stderr does not say why the restore stopped:\n%s", r.stderr)
	}
	if n := len(tn.writes()); n > 2 {
		t.Errorf("%d writes after the first 401, want the restore stopped at once", n)
	}
	rows, _ := readRestore(t, dir)
	counts := map[string]int{}
	for _, row := range rows {
		counts[row["status"]]++
	}
	if len(rows) != total || counts["failed"] == 0 || counts["failed"] == total || counts["planned"] == 0 {
		t.Errorf("restore.csv statuses %v of %d rows: want the refused restoration failed, the rest planned", counts, len(rows))
	}
	var s report.Summary
	if err := json.Unmarshal([]byte(readRestoreSummary(t, dir)), &s); err != nil || s.ExitCode != 2 || !strings.Contains(s.Stopped, "401") {
		t.Errorf("restore-summary.json %+v (%v): want exit_code 2 and stopped naming the 401", s, err)
	}
	tn.ClearRules()
	wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--all"), 0)
	if n := len(tn.RoleAssignments()); n != total {
		t.Errorf("%d assignments after the rerun, want all %d back", n, total)
	}
}

func TestWatchStopsOnUnauthorized(t *testing.T) {
	t.Parallel()
	tn, input, total := refusingTenant(t, 275)
	root := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", filepath.Join(root, "night"), "--sources", "directory"), 0)
	// Everyone is re-granted; the watch's removals are refused.
	granted := map[string]bool{}
	for _, row := range readReport(t, filepath.Join(root, "night")) {
		if granted[row["principal_id"]] {
			continue
		}
		granted[row["principal_id"]] = true
		tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: row["principal_id"], RoleDefinitionID: simtenant.UserAdministrator,
			DirectoryScopeID: "/"})
	}
	tn.AddRule(refusedToken("DELETE"))
	tn.ResetRequests()
	out := filepath.Join(t.TempDir(), "watch")
	r := tn.offboard(t, nil, "watch", "--reports", root, "--report", out, "--sources", "directory", "--concurrency", "1",
		"--graph-batch-size", "1")
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "the service refused the token (401): fix the identity and rerun") {
		t.Errorf("stderr does not say why the watch stopped:\n%s", r.stderr)
	}
	if n := len(tn.writes()); n > 2 {
		t.Errorf("%d writes after the first 401, want the watch stopped at once", n)
	}
	if s := readSummary(t, out); s.ExitCode != 2 || !strings.Contains(s.Stopped, "401") {
		t.Errorf("summary.json %+v: want exit_code 2 and stopped naming the 401", s)
	}
	if a := readAttestation(t, out); a.ExitCode != 2 {
		t.Errorf("attestation exit_code %d, want 2", a.ExitCode)
	}
	if n := len(tn.RoleAssignments()); n != total/3 {
		t.Errorf("%d assignments, want the %d re-granted ones untouched", n, total/3)
	}
}

func TestRestoreUnreachableFailsFastWithoutTheReportDirectory(t *testing.T) {
	t.Parallel()
	tn, input, _ := refusingTenant(t, 276)
	dir := filepath.Join(t.TempDir(), "report")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "directory"), 0)
	before := listing(t, dir)
	closed := closedEndpoint(t)
	code, stderr, took := runTimed(t, tn.command(t, []string{"OFFBOARD_GRAPH_ENDPOINT=" + closed}, "restore", "--report", dir, "--all"), 90*time.Second)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	if took > 30*time.Second {
		t.Errorf("took %v: an unreachable service must fail within seconds", took)
	}
	if !strings.Contains(stderr, strings.TrimPrefix(closed, "http://")) || !strings.Contains(stderr, "cannot be reached") {
		t.Errorf("stderr does not name the endpoint %s:\n%s", closed, stderr)
	}
	if after := listing(t, dir); len(after) != len(before) {
		t.Errorf("the report directory changed: %d files, was %d", len(after), len(before))
	} else {
		for name, body := range before {
			if after[name] != body {
				t.Errorf("%s changed", name)
			}
		}
	}
}

func TestWatchUnreachableFailsFastWithoutTheReportDirectory(t *testing.T) {
	t.Parallel()
	tn, input, _ := refusingTenant(t, 277)
	root := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", filepath.Join(root, "night"), "--sources", "directory"), 0)
	out := filepath.Join(t.TempDir(), "watch")
	closed := closedEndpoint(t)
	code, stderr, took := runTimed(t, tn.command(t, []string{"OFFBOARD_GRAPH_ENDPOINT=" + closed},
		"watch", "--reports", root, "--report", out, "--sources", "directory"), 90*time.Second)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s", code, stderr)
	}
	if took > 30*time.Second {
		t.Errorf("took %v: an unreachable service must fail within seconds", took)
	}
	if !strings.Contains(stderr, strings.TrimPrefix(closed, "http://")) || !strings.Contains(stderr, "cannot be reached") {
		t.Errorf("stderr does not name the endpoint %s:\n%s", closed, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the watch's report directory was made (%v): a watch that reached no service must leave it alone", err)
	}
}

package main

// Faults of the report location: one that cannot be used stops the run
// before its first request; one that fills up during the run stops it
// taking new work, with the journal so far intact.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

func TestUnusableReportDirectoryExits2BeforeAnyRequest(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 800})
	id, _ := tn.user("pat@contoso.com", 2)
	input := writeCSV(t, "principal_id", id)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Tests run as root here, and chmod stops no root: each of these fails
	// for root too.
	cases := []struct{ name, dir, why string }{
		{"under a regular file", filepath.Join(file, "report"), "not a directory"},
		{"a regular file", file, "not a directory"},
	}
	if runtime.GOOS == "linux" {
		cases = append(cases,
			struct{ name, dir, why string }{"missing and uncreatable", fmt.Sprintf("/proc/offboard-%d/report", os.Getpid()), "create directory"},
			// Not /proc/self: a link, refused as one (issue 24).
			struct{ name, dir, why string }{"not writable", fmt.Sprintf("/proc/%d", os.Getpid()), "not writable"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tn.ResetRequests()
			r := tn.offboard(t, nil, "run", "--input", input, "--report", c.dir)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, "report directory cannot be used") || !strings.Contains(r.stderr, c.why) {
				t.Errorf("stderr does not say why:\n%s", r.stderr)
			}
			if n := len(tn.Requests()); n != 0 {
				t.Errorf("%d requests sent before the report directory was refused", n)
			}
		})
	}
}

// TestDiskFullDuringTheRun fills the report directory's file system (a
// small tmpfs) part-way through the removals: the run stops taking new
// work and exits 1 saying why; the journal so far reads back (a torn
// last line is dropped, and said so); with space again, the rerun finishes
// and reports every removal the tenant made as removed.
func TestDiskFullDuringTheRun(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: TestDiskFullDuringTheRun needs root to mount a tmpfs to fill; the write error itself is covered by report.TestWriteErrorSticks and job.TestJournalFailureStopsNewWork")
	}
	tn := startTenant(t, simtenant.Config{Seed: 801})
	var lines = []string{"principal_id"}
	var all []string
	for i := range 12 {
		id, ids := tn.user(fmt.Sprintf("q%d@contoso.com", i), 5)
		lines = append(lines, id)
		all = append(all, ids...)
	}
	input := writeCSV(t, lines...)

	// The journal of the plan alone, measured with a dry run.
	planDir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "plan", "--input", input, "--report", planDir), 0)
	fi, err := os.Stat(filepath.Join(planDir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	const size = 1 << 20
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root; the write error itself is covered by report.TestWriteErrorSticks and job.TestJournalFailureStopsNewWork): %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	// Leave room for the run record, the plan, a page of outcomes (an
	// outcome is about 250 bytes) and a page for the lock's record of its
	// holder: the run fills the rest.
	const page = 4096
	room := (fi.Size()+page-1)/page*page + 2*page
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fill(t, filler, size-room)
	dir := filepath.Join(mnt, "report")

	tn.ResetRequests()
	// Batches of 5, so that the disk fills while removals are still to
	// be started (one batch of 20 a worker would start them all at once).
	r := tn.offboard(t, []string{"OFFBOARD_CONCURRENCY=2", "OFFBOARD_GRAPH_BATCH_SIZE=5"}, "run", "--input", input, "--report", dir)
	wantCode(t, r, 1) // README, exit codes: the report directory could not be written during the run
	if !strings.Contains(r.stderr, "no space left on device") || !strings.Contains(r.stderr, "the run stopped") {
		t.Errorf("stderr does not say the run stopped for want of space:\n%s", r.stderr)
	}
	removedBefore := deletesAnswered(tn)
	if removedBefore == 0 || removedBefore >= len(all) {
		t.Fatalf("%d of %d removals made before the disk filled: size the filler again", removedBefore, len(all))
	}
	items, err := report.ReadItems(dir)
	if err != nil {
		t.Fatalf("the journal does not read back: %v", err)
	}
	if len(items) != len(all) {
		t.Errorf("the journal holds %d items, want the plan's %d", len(items), len(all))
	}

	journal, err := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	torn := len(journal) > 0 && journal[len(journal)-1] != '\n'

	// Space again: the rerun finishes the job.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r = tn.offboard(t, nil, "run", "--input", input, "--report", dir)
	wantCode(t, r, 0)
	if torn != strings.Contains(r.stderr, "dropped its last line") {
		t.Errorf("the journal's last line torn: %v; the rerun says so: %v", torn, !torn)
	}
	got := byAssignment(readReport(t, dir))
	for _, a := range all {
		if got[a]["status"] != "removed" {
			t.Errorf("%s: %v", a, got[a])
		}
	}
	if len(tn.RoleAssignments()) != 0 {
		t.Error("assignments left")
	}
}

// fill grows path to n bytes of real blocks (not a sparse file).
func fill(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n > 0 {
		k := min(int64(len(buf)), n)
		if _, err := f.Write(buf[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}

// deletesAnswered counts the DELETEs the tenant answered 204.
func deletesAnswered(tn *tenant) int {
	return tn.Stats().ByMethodStatus["DELETE"][204]
}

// TestTornJournalLineIsDroppedAndSaid: a journal whose last line a kill
// left half-written is taken up to its last whole line, the rerun says
// so on stderr, and nothing is lost: the removal whose outcome was torn
// off is confirmed absent, not sent again.
func TestTornJournalLineIsDroppedAndSaid(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 802})
	id, ids := tn.user("rosa@contoso.com", 4)
	dir := t.TempDir()
	input := writeCSV(t, "principal_id", id)
	wantCode(t, tn.offboard(t, []string{"OFFBOARD_CONCURRENCY=1"}, "run", "--input", input, "--report", dir), 0)
	path := filepath.Join(dir, "journal.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := strings.LastIndexByte(string(b[:len(b)-1]), '\n') + 1
	var torn struct {
		Type         string `json:"type"`
		AssignmentID string `json:"assignment_id"`
		State        string `json:"state"`
	}
	if err := json.Unmarshal(b[last:], &torn); err != nil || torn.Type != "outcome" || torn.State != "removed" {
		t.Fatalf("the journal ends with %s, want a removal's outcome (%v)", b[last:], err)
	}
	if err := os.WriteFile(path, b[:last+(len(b)-last)/2], 0o640); err != nil {
		t.Fatal(err)
	}

	tn.ResetRequests()
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir)
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, "dropped its last line") {
		t.Errorf("the rerun does not say it dropped the torn line:\n%s", r.stderr)
	}
	got := byAssignment(readReport(t, dir))
	for _, a := range ids {
		want := ""
		if a == torn.AssignmentID {
			want = "confirmed absent on rerun"
		}
		if got[a]["status"] != "removed" || got[a]["detail"] != want {
			t.Errorf("%s: %v, want removed with detail %q", a, got[a], want)
		}
	}
	if len(got) != len(ids) || len(tn.RoleAssignmentsOf(id)) != 0 {
		t.Errorf("%d rows for %d assignments; %d left", len(got), len(ids), len(tn.RoleAssignmentsOf(id)))
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %d writes, the first %s %s: want none", len(w), w[0].Method, w[0].Path)
	}
}

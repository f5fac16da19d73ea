package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
)

const (
	inputA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	inputB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)

func runInfo(id string, dry bool) RunInfo {
	return RunInfo{ID: id, StartedAt: t0, DryRun: dry}
}

func mustOpen(t testing.TB, dir, input string, run RunInfo) *Dir {
	t.Helper()
	d, err := Open(dir, input, run)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return d
}

func mustClose(t testing.TB, d *Dir) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func item(pid, source, aid string, st job.State) job.Item {
	kind := map[string]string{"directory": job.KindDirectoryRole, "groups": job.KindGroupMember, "pim": job.KindDirectoryRoleEligibility, "azure": job.KindAzureRole}[source]
	return job.Item{
		PrincipalID:      pid,
		UPN:              pid + "@contoso.example",
		Reference:        "HR-" + pid,
		Source:           source,
		Kind:             kind,
		AssignmentID:     aid,
		RoleDefinitionID: "role-" + aid,
		RoleName:         "Role " + aid,
		Scope:            "/",
		State:            st,
		UpdatedAt:        t0,
	}
}

// plan is the sample plan of the round-trip tests.
func plan() []job.Item {
	a := item("p1", "directory", "a1", job.Planned)
	a.Raw = json.RawMessage(`{"id":"a1","note":"<a&b>","nested":{"x":[1,2]}}`)
	b := item("p1", "groups", "g1", job.Planned)
	c := item("p2", "directory", "a2", job.Planned)
	d := item("p3", "directory", "a3", job.Skipped)
	d.Detail = "protected"
	e := job.Item{State: job.Invalid, Line: 7, Detail: "line 7: bad GUID", Reference: "=cmd", UpdatedAt: t0}
	f := job.Item{PrincipalID: "p4", State: job.NoAssignments, UpdatedAt: t0}
	done := item("p5", "directory", "a5", job.Removed)
	done.Attempts = 1
	return []job.Item{a, b, c, d, e, f, done}
}

func byKey(items []job.Item) map[job.Key]job.Item {
	m := map[job.Key]job.Item{}
	for _, it := range items {
		m[it.Key()] = it
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("run-1", false))
	if got := d.Previous(); len(got) != 0 {
		t.Fatalf("Previous of a new directory = %v", got)
	}
	items := plan()
	if err := d.Plan(slices.Values(items)); err != nil {
		t.Fatal(err)
	}
	if err := d.Applying(); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(90*time.Second + 7)
	removed := items[0]
	removed.State, removed.Attempts, removed.UpdatedAt = job.Removed, 1, later
	failed := items[1]
	failed.State, failed.Detail, failed.Attempts, failed.UpdatedAt = job.Failed, "Authorization_RequestDenied: no", 3, later.In(time.FixedZone("X", 3600))
	for _, it := range []job.Item{removed, failed} {
		if err := d.Outcome(it); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, d)

	// items[2] was planned, writes started, and no outcome arrived.
	want := []job.Item{removed, failed, items[2], items[3], items[4], items[5], items[6]}
	want[1].UpdatedAt = later
	want[2].Unconfirmed = true

	d = mustOpen(t, dir, inputA, runInfo("run-2", false))
	got := d.Previous()
	if len(d.Warnings()) != 0 {
		t.Errorf("Warnings = %q", d.Warnings())
	}
	checkItems(t, got, want)
	if got, err := ReadItems(dir); err != nil {
		t.Fatal(err)
	} else {
		checkItems(t, got, want)
	}

	// The second run re-plans the unconfirmed item and records nothing else:
	// the new plan overrides it, and without writes it is not unconfirmed.
	replanned := items[2]
	replanned.Detail = "replanned"
	if err := d.Plan(slices.Values([]job.Item{replanned})); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	want[2] = replanned
	got, err := ReadItems(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkItems(t, got, want)
}

func checkItems(t *testing.T, got, want []job.Item) {
	t.Helper()
	gm, wm := byKey(got), byKey(want)
	if len(got) != len(gm) {
		t.Errorf("Previous returned %d items for %d keys", len(got), len(gm))
	}
	for k, w := range wm {
		g, ok := gm[k]
		if !ok {
			t.Errorf("missing %+v", k)
			continue
		}
		if !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("%+v: UpdatedAt = %v, want %v", k, g.UpdatedAt, w.UpdatedAt)
		}
		g.UpdatedAt, w.UpdatedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%+v:\n got %+v\nwant %+v", k, g, w)
		}
	}
	for k := range gm {
		if _, ok := wm[k]; !ok {
			t.Errorf("unexpected %+v", k)
		}
	}
	for i := 1; i < len(got); i++ {
		if job.Less(got[i], got[i-1]) {
			t.Errorf("Previous is not sorted at %d", i)
		}
	}
}

func TestUnconfirmed(t *testing.T) {
	tests := []struct {
		name     string
		dry      bool
		applying bool
		outcome  *job.State // recorded for the planned item after applying
		want     bool
	}{
		{name: "applied, no outcome", applying: true, want: true},
		{name: "applied, outcome removed", applying: true, outcome: ptr(job.Removed)},
		{name: "applied, outcome still planned", applying: true, outcome: ptr(job.Planned)},
		{name: "dry run", dry: true},
		{name: "guard stopped: planned, never applied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir, inputA, runInfo("r", tc.dry))
			it := item("p1", "directory", "a1", job.Planned)
			if err := d.Plan(slices.Values([]job.Item{it})); err != nil {
				t.Fatal(err)
			}
			if tc.applying {
				if err := d.Applying(); err != nil {
					t.Fatal(err)
				}
			}
			if tc.outcome != nil {
				it.State = *tc.outcome
				if err := d.Outcome(it); err != nil {
					t.Fatal(err)
				}
			}
			mustClose(t, d)
			d = mustOpen(t, dir, inputA, runInfo("r2", false))
			defer mustClose(t, d)
			prev := d.Previous()
			if len(prev) != 1 {
				t.Fatalf("Previous = %v", prev)
			}
			if prev[0].Unconfirmed != tc.want {
				t.Errorf("Unconfirmed = %v, want %v", prev[0].Unconfirmed, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// journalOf returns the bytes of a journal with a run record and the sample
// plan, one record per line.
func journalOf(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("run-1", false))
	if err := d.Plan(slices.Values(plan())); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	b, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTornLastLine(t *testing.T) {
	good := journalOf(t)
	tests := []struct {
		name string
		tail string
	}{
		{"no newline", `{"type":"outcome","principal_id":"p1","sou`},
		{"complete record without newline", `{"type":"applying","run_id":"run-1"}`},
		{"not JSON", "{\"type\":\"outc\n"},
		{"NUL bytes", "\x00\x00\x00\x00"},
		{"empty line", "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, journalName)
			if err := os.WriteFile(path, append(bytes.Clone(good), tc.tail...), 0o640); err != nil {
				t.Fatal(err)
			}
			items, err := ReadItems(dir)
			if err != nil {
				t.Fatalf("ReadItems: %v", err)
			}
			if len(items) != len(plan()) {
				t.Errorf("ReadItems: %d items, want %d", len(items), len(plan()))
			}

			d := mustOpen(t, dir, inputA, runInfo("run-2", false))
			if w := d.Warnings(); len(w) != 1 || !strings.Contains(w[0], "last line") {
				t.Errorf("Warnings = %q, want one about the last line", w)
			}
			if err := d.Applying(); err != nil {
				t.Fatal(err)
			}
			mustClose(t, d)

			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, good) {
				t.Fatalf("journal lost its good prefix")
			}
			rest := string(b[len(good):])
			lines := strings.SplitAfter(rest, "\n")
			if len(lines) != 3 || lines[2] != "" ||
				!strings.HasPrefix(lines[0], `{"type":"run","run_id":"run-2"`) ||
				lines[1] != "{\"type\":\"applying\",\"run_id\":\"run-2\"}\n" {
				t.Errorf("after the good prefix the journal holds %q", rest)
			}
			if _, err := ReadItems(dir); err != nil {
				t.Errorf("ReadItems after repair: %v", err)
			}
		})
	}
}

func TestCorruptJournal(t *testing.T) {
	good := journalOf(t)
	lines := strings.SplitAfter(string(good), "\n")
	join := func(parts ...string) string { return strings.Join(parts, "") }
	tests := []struct {
		name    string
		journal string
		line    int
	}{
		{"garbage in the middle", join(lines[0], lines[1], "garbage\n", lines[2]), 3},
		{"torn line in the middle", join(lines[0], `{"type":"pl`, "\n", lines[1]), 2},
		{"unknown record type", join(lines[0], `{"type":"bogus"}`+"\n", lines[1]), 2},
		{"unknown state", join(lines[0], `{"type":"plan","state":"gone"}`+"\n"), 2},
		{"bad time", join(lines[0], `{"type":"outcome","state":"removed","updated_at":"yesterday"}`+"\n"), 2},
		{"wrong field type", join(lines[0], `{"type":"plan","attempts":"two","state":"planned"}`+"\n"), 2},
		{"no run record first", join(lines[1], lines[0]), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, journalName)
			if err := os.WriteFile(path, []byte(tc.journal), 0o640); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, inputA, runInfo("run-2", false))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			if want := fmt.Sprintf("line %d", tc.line); !strings.Contains(err.Error(), want) {
				t.Errorf("Open: %v, want it to name %s", err, want)
			}
			if b, _ := os.ReadFile(path); string(b) != tc.journal {
				t.Errorf("the refused Open changed the journal")
			}
			if _, err := ReadItems(dir); !errors.Is(err, ErrCorrupt) {
				t.Errorf("ReadItems: %v, want ErrCorrupt", err)
			}
			// The refusal released the lock.
			if err := tryLock(dir); err != nil {
				t.Errorf("lock still held after a refused Open: %v", err)
			}
		})
	}
}

func tryLock(dir string) error {
	root, err := openDir(dir, ".", false)
	if err != nil {
		return err
	}
	defer root.Close()
	f, err := lockDir(root, nil)
	if err != nil {
		return err
	}
	return unlockDir(f)
}

// snapshot returns the name and content of every file in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func TestOtherInput(t *testing.T) {
	tests := []struct {
		name    string
		keep    []string // files of a finished run of inputA to leave in the directory
		refused bool     // whether inputB is refused
	}{
		{"journal, report and summary", []string{journalName, reportName, summaryName}, true},
		{"journal only", []string{journalName}, true},
		{"summary and report, no journal", []string{reportName, summaryName}, true},
		{"summary only", []string{summaryName}, true},
		{"report only: nothing says whose it is", []string{reportName}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir, inputA, runInfo("run-1", false))
			if err := d.Plan(slices.Values(plan())); err != nil {
				t.Fatal(err)
			}
			if err := d.WriteReport(plan()); err != nil {
				t.Fatal(err)
			}
			if err := d.WriteSummary(Summary{RunID: "run-1", InputSHA256: inputA}); err != nil {
				t.Fatal(err)
			}
			mustClose(t, d)
			for _, name := range []string{journalName, reportName, summaryName} {
				if !contains(tc.keep, name) {
					if err := os.Remove(filepath.Join(dir, name)); err != nil {
						t.Fatal(err)
					}
				}
			}

			before := snapshot(t, dir)
			d, err := Open(dir, inputB, runInfo("run-2", false))
			if !tc.refused {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				mustClose(t, d)
				return
			}
			if !errors.Is(err, ErrOtherInput) {
				t.Fatalf("Open with another input: %v, want ErrOtherInput", err)
			}
			if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
				t.Errorf("the refused Open changed the directory")
			}
			// The owner's input is still welcome.
			mustClose(t, mustOpen(t, dir, inputA, runInfo("run-3", false)))
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCorruptSummaryRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, summaryName), []byte("{"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, inputA, runInfo("r", false)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
}

func TestOpenNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{file, filepath.Join(file, "sub")} {
		if d, err := Open(path, inputA, runInfo("r", false)); err == nil {
			d.Close()
			t.Errorf("Open(%s) succeeded", path)
		}
	}
}

func TestOpenCreatesParents(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "report")
	mustClose(t, mustOpen(t, dir, inputA, runInfo("r", false)))
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o027 != 0 {
		t.Errorf("directory mode %v is open to others", fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, lockName)); err != nil {
		t.Errorf("lock file: %v", err)
	}
}

func TestBusy(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("run-1", false))
	before := snapshot(t, dir)
	if _, err := Open(dir, inputA, runInfo("run-2", false)); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v, want ErrBusy", err)
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("the refused Open changed the directory")
	}
	mustClose(t, d)
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	mustClose(t, mustOpen(t, dir, inputA, runInfo("run-3", false)))
	if _, err := os.Stat(filepath.Join(dir, lockName)); err != nil {
		t.Errorf("Close removed the lock file: %v", err)
	}
}

const helperEnv = "OFFBOARD_REPORT_HELPER_DIR"

// TestHelperProcess is not a test: TestLockReleasedWhenHolderKilled runs the
// test binary again with it to hold a directory's lock in another process.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	if _, err := Open(dir, inputA, runInfo("holder", false)); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin) // hold the lock until killed
	os.Exit(0)
}

func TestLockReleasedWhenHolderKilled(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "locked" {
		t.Fatalf("helper said %q, %v", sc.Text(), sc.Err())
	}

	if _, err := Open(dir, inputA, runInfo("run-2", false)); !errors.Is(err, ErrBusy) {
		t.Fatalf("Open while another process holds the lock: %v, want ErrBusy", err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // the kernel has released the lock once the process is reaped
	killed = true
	d := mustOpen(t, dir, inputA, runInfo("run-3", false))
	mustClose(t, d)
}

func TestConcurrentOutcomes(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("run-1", false))
	const workers, each = 16, 40
	var items []job.Item
	for i := range workers * each {
		items = append(items, item(fmt.Sprintf("p%04d", i), "directory", fmt.Sprintf("a%04d", i), job.Planned))
	}
	if err := d.Plan(slices.Values(items)); err != nil {
		t.Fatal(err)
	}
	if err := d.Applying(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, it := range items[w*each : (w+1)*each] {
				it.State, it.Attempts = job.Removed, 1
				if err := d.Outcome(it); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	mustClose(t, d)
	got, err := ReadItems(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d items, want %d", len(got), len(items))
	}
	for _, it := range got {
		if it.State != job.Removed || it.Unconfirmed || it.Attempts != 1 {
			t.Errorf("%s: state %s, attempts %d, unconfirmed %v", it.PrincipalID, it.State, it.Attempts, it.Unconfirmed)
		}
	}
}

// TestWriteErrorSticks breaks the journal under a Dir and checks that the
// first failure is returned by every later call, even once the file would
// accept writes again: the runner must stop, not leave holes in the journal.
func TestWriteErrorSticks(t *testing.T) {
	tests := []struct {
		name         string
		breakJournal func(t *testing.T, d *Dir) (restore func())
		want         error
	}{
		{
			name: "disk full",
			breakJournal: func(t *testing.T, d *Dir) func() {
				full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
				if err != nil {
					t.Skipf("no /dev/full: %v", err)
				}
				good := d.journal
				d.journal = full
				return func() { full.Close(); d.journal = good }
			},
			want: syscall.ENOSPC,
		},
		{
			name: "closed file",
			breakJournal: func(t *testing.T, d *Dir) func() {
				good := d.journal
				closed, err := os.Open(filepath.Join(d.path, journalName))
				if err != nil {
					t.Fatal(err)
				}
				closed.Close()
				d.journal = closed
				return func() { d.journal = good }
			},
			want: os.ErrClosed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir, inputA, runInfo("run-1", false))
			defer d.Close()
			if err := d.Plan(slices.Values(plan())); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, journalName)
			size := fileSize(t, path)

			restore := tc.breakJournal(t, d)
			err := d.Outcome(item("p1", "directory", "a1", job.Removed))
			restore()
			if !errors.Is(err, tc.want) {
				t.Fatalf("Outcome on a broken journal: %v, want %v", err, tc.want)
			}
			calls := map[string]func() error{
				"Outcome":  func() error { return d.Outcome(item("p1", "groups", "g1", job.Removed)) },
				"Applying": d.Applying,
				"Plan":     func() error { return d.Plan(slices.Values(plan())) },
			}
			for name, call := range calls {
				if err := call(); !errors.Is(err, tc.want) {
					t.Errorf("%s after the failure: %v, want %v", name, err, tc.want)
				}
			}
			if got := fileSize(t, path); got != size {
				t.Errorf("journal grew from %d to %d bytes after the failure", size, got)
			}
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestClosedDir(t *testing.T) {
	d := mustOpen(t, t.TempDir(), inputA, runInfo("r", false))
	mustClose(t, d)
	if err := d.Outcome(item("p", "directory", "a", job.Removed)); err == nil {
		t.Error("Outcome after Close succeeded")
	}
	if err := d.WriteReport(nil); err == nil {
		t.Error("WriteReport after Close succeeded")
	}
	if err := d.WriteSummary(Summary{}); err == nil {
		t.Error("WriteSummary after Close succeeded")
	}
}

func TestPlanRejectsBadRaw(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("r", false))
	defer mustClose(t, d)
	size := fileSize(t, filepath.Join(dir, journalName))
	bad := plan()
	bad[3].Raw = json.RawMessage(`{"id":`)
	if err := d.Plan(slices.Values(bad)); err == nil {
		t.Fatal("Plan with invalid raw JSON succeeded")
	}
	if got := fileSize(t, filepath.Join(dir, journalName)); got != size {
		t.Errorf("a refused Plan wrote %d bytes", got-size)
	}
	if err := d.Plan(slices.Values(plan())); err != nil {
		t.Errorf("Plan after a refused plan: %v", err)
	}
}

func TestStaleTempsRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".report.csv.12345.tmp", ".summary.json.999.tmp"}
	keep := []string{"notes.txt", ".report.csv.keep"}
	for _, name := range append(stale, keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	mustClose(t, mustOpen(t, dir, inputA, runInfo("r", false)))
	for _, name := range stale {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it removed", name, err)
		}
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v, want it kept", name, err)
		}
	}
}

func TestReadItemsWithoutJournal(t *testing.T) {
	if _, err := ReadItems(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadItems: %v, want fs.ErrNotExist", err)
	}
}

func TestJournalRecordFormat(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, RunInfo{ID: "run-1", StartedAt: t0.In(time.FixedZone("CET", 3600)), DryRun: true})
	it := plan()[0]
	if err := d.Plan(slices.Values([]job.Item{it})); err != nil {
		t.Fatal(err)
	}
	if err := d.Applying(); err != nil {
		t.Fatal(err)
	}
	it.State, it.Attempts = job.Removed, 2
	if err := d.Outcome(it); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	b, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"run","run_id":"run-1","input_sha256":"` + inputA + `","started_at":"2025-03-14T09:26:53.589793238Z","dry_run":true}
{"type":"plan","principal_id":"p1","upn":"p1@contoso.example","reference":"HR-p1","source":"directory","kind":"directory-role","assignment_id":"a1","role_definition_id":"role-a1","role_name":"Role a1","scope":"/","state":"planned","detail":"","attempts":0,"updated_at":"2025-03-14T09:26:53.589793238Z","line":0,"raw":{"id":"a1","note":"<a&b>","nested":{"x":[1,2]}}}
{"type":"applying","run_id":"run-1"}
{"type":"outcome","principal_id":"p1","source":"directory","assignment_id":"a1","line":0,"state":"removed","detail":"","attempts":2,"updated_at":"2025-03-14T09:26:53.589793238Z"}
`
	if string(b) != want {
		t.Errorf("journal:\n%s\nwant:\n%s", b, want)
	}
}

// TestTornRunRecord: a run killed while writing its very first record left a
// journal with nothing complete in it; the directory is still usable.
func TestTornRunRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, journalName)
	if err := os.WriteFile(path, []byte(`{"type":"run","run_id":"r`), 0o640); err != nil {
		t.Fatal(err)
	}
	d := mustOpen(t, dir, inputB, runInfo("run-2", false))
	if len(d.Warnings()) != 1 {
		t.Errorf("Warnings = %q", d.Warnings())
	}
	mustClose(t, d)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"type":"run","run_id":"run-2","input_sha256":"`+inputB) || strings.Count(string(b), "\n") != 1 {
		t.Errorf("journal = %q", b)
	}
	if _, err := Open(dir, inputA, runInfo("run-3", false)); !errors.Is(err, ErrOtherInput) {
		t.Errorf("Open with another input: %v, want ErrOtherInput", err)
	}
}

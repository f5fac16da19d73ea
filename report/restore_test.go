package report

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
)

// ranDir is a directory where a run removed p1's a1 and started a3.
func ranDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("run-1", false))
	a1 := item("p1", "directory", "a1", job.Planned)
	a1.Raw = json.RawMessage(`{"id":"a1"}`)
	a3 := item("p1", "directory", "a3", job.Planned)
	if err := d.Plan(slices.Values([]job.Item{a1, a3})); err != nil {
		t.Fatal(err)
	}
	if err := d.Applying(); err != nil {
		t.Fatal(err)
	}
	a1.State = job.Removed
	if err := d.Outcome(a1); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteReport([]job.Item{a1, a3}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	return dir
}

func mustOpenRestore(t *testing.T, dir, id string) *Dir {
	t.Helper()
	d, err := OpenRestore(dir, runInfo(id, false))
	if err != nil {
		t.Fatalf("OpenRestore(%s): %v", dir, err)
	}
	return d
}

func TestOpenRestoreRoundTrip(t *testing.T) {
	dir := ranDir(t)
	runFiles := snapshot(t, dir)

	d := mustOpenRestore(t, dir, "restore-1")
	if d.InputSHA256() != inputA {
		t.Errorf("input %q, want the run's", d.InputSHA256())
	}
	run := byKey(d.RunItems())
	a1 := run[job.Key{PrincipalID: "p1", Source: "directory", AssignmentID: "a1"}]
	a3 := run[job.Key{PrincipalID: "p1", Source: "directory", AssignmentID: "a3"}]
	if a1.State != job.Removed || string(a1.Raw) != `{"id":"a1"}` || !a3.Unconfirmed {
		t.Fatalf("run items %+v", d.RunItems())
	}
	if len(d.Previous()) != 0 {
		t.Errorf("a first restore has previous items: %v", d.Previous())
	}
	r1 := a1
	r1.State = job.Planned
	r3 := a3
	r3.State, r3.Unconfirmed = job.Planned, false
	if err := d.Plan(slices.Values([]job.Item{r1, r3})); err != nil {
		t.Fatal(err)
	}
	if err := d.Applying(); err != nil {
		t.Fatal(err)
	}
	r1.State, r1.Detail, r1.UpdatedAt = job.Restored, "re-created as a9", t0.Add(time.Minute)
	if err := d.Outcome(r1); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteReport([]job.Item{r1, r3}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteSummary(Summary{RunID: "restore-1", InputSHA256: d.InputSHA256(), Counts: map[string]int{"restored": 1, "planned": 1}}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)

	for name, content := range runFiles {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != content {
			t.Errorf("the restore changed the run's %s", name)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "restore.csv"))
	if err != nil || len(b) == 0 {
		t.Fatalf("restore.csv: %v", err)
	}
	var s map[string]any
	b, err = os.ReadFile(filepath.Join(dir, "restore-summary.json"))
	if err != nil || json.Unmarshal(b, &s) != nil {
		t.Fatalf("restore-summary.json: %v %s", err, b)
	}
	if want := map[string]any{"planned": 1.0, "restored": 1.0, "already-present": 0.0, "failed": 0.0}; !reflect.DeepEqual(s["counts"], want) {
		t.Errorf("counts %v, want the restore's statuses %v", s["counts"], want)
	}

	d = mustOpenRestore(t, dir, "restore-2")
	defer mustClose(t, d)
	prev := byKey(d.Previous())
	if p := prev[r1.Key()]; p.State != job.Restored || p.Detail != "re-created as a9" || !p.UpdatedAt.Equal(r1.UpdatedAt) {
		t.Errorf("previous restored row %+v", p)
	}
	if p := prev[r3.Key()]; p.State != job.Planned || !p.Unconfirmed {
		t.Errorf("previous unconfirmed row %+v", p)
	}
}

func TestOpenRestoreWithoutJournal(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenRestore(dir, runInfo("r", false)); !errors.Is(err, ErrNoJournal) {
		t.Fatalf("error %v, want ErrNoJournal", err)
	}
	if len(snapshot(t, dir)) != 0 {
		t.Error("a refused restore left files behind")
	}
	if _, err := OpenRestore(filepath.Join(dir, "missing"), runInfo("r", false)); !errors.Is(err, ErrNoJournal) {
		t.Fatalf("missing directory: %v, want ErrNoJournal", err)
	}
	if err := os.WriteFile(filepath.Join(dir, journalName), nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRestore(dir, runInfo("r", false)); !errors.Is(err, ErrNoJournal) {
		t.Fatalf("empty journal: %v, want ErrNoJournal", err)
	}
	if err := tryLock(dir); err != nil {
		t.Errorf("lock held after a refused OpenRestore: %v", err)
	}
}

func TestRestoreAndRunShareTheLock(t *testing.T) {
	dir := ranDir(t)
	d := mustOpenRestore(t, dir, "restore-1")
	before := snapshot(t, dir)
	if _, err := Open(dir, inputA, runInfo("run-2", false)); !errors.Is(err, ErrBusy) {
		t.Errorf("a run while a restore works: %v, want ErrBusy", err)
	}
	if _, err := OpenRestore(dir, runInfo("restore-2", false)); !errors.Is(err, ErrBusy) {
		t.Errorf("a second restore: %v, want ErrBusy", err)
	}
	if after := snapshot(t, dir); !reflect.DeepEqual(before, after) {
		t.Error("the refused opens changed the directory")
	}
	mustClose(t, d)

	run := mustOpen(t, dir, inputA, runInfo("run-2", false))
	if _, err := OpenRestore(dir, runInfo("restore-2", false)); !errors.Is(err, ErrBusy) {
		t.Errorf("a restore while a run works: %v, want ErrBusy", err)
	}
	mustClose(t, run)
}

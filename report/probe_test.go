package report

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProbeLeavesNothingBehind(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	if err := Probe(dir); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}

	// An existing directory keeps what it had, its lock file included.
	existing := t.TempDir()
	if err := os.WriteFile(filepath.Join(existing, lockName), nil, filePerm); err != nil {
		t.Fatal(err)
	}
	if err := Probe(existing); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(existing, lockName)); err != nil {
		t.Errorf("the existing lock file is gone: %v", err)
	}
	if err := Probe(filepath.Join(existing, lockName)); err == nil {
		t.Error("a file probed as a directory")
	}
}

func TestProbeSaysBusyWhileARunHoldsTheDirectory(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(dir, "sha", RunInfo{ID: "r1", StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := Probe(dir); !errors.Is(err, ErrBusy) {
		t.Errorf("probe of a held directory: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Probe(dir); err != nil {
		t.Errorf("probe after the run: %v", err)
	}
}

package report

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/offboard/offboard/job"
)

// restoreFiles are a restore's journal, report and summary.
var restoreFiles = files{
	journal: "restore.jsonl",
	report:  "restore.csv",
	summary: "restore-summary.json",
	states:  job.RestoreStates,
	html:    "restore-summary.html",
}

// ErrNoJournal means the directory holds no run journal: no run has
// reported there, so there is nothing to restore.
var ErrNoJournal = errors.New("report directory holds no run journal")

// OpenRestore locks dir for a restore of the run it holds (with the lock a
// run takes, so that a restore and a run never work in one directory at
// once), replays the run's journal read-only and the restore's own journal
// (restore.jsonl), and records the start of the restore in the latter. It
// fails, changing nothing, with an error wrapping ErrNoJournal when dir
// holds no run journal, ErrBusy when another process holds the directory,
// or ErrCorrupt when a journal has a bad line before its last one.
func OpenRestore(dir string, run RunInfo) (_ *Dir, err error) {
	dir = filepath.Clean(dir)
	jpath := filepath.Join(dir, journalName)
	// Opened without following a link, and not created: a wrong
	// directory gets no lock file.
	root, err := openDir(filepath.Dir(dir), filepath.Base(dir), false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: %s has no %s: %w", dir, journalName, ErrNoJournal)
	} else if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = root.Close()
		}
	}()
	// Checked before the lock, so that a wrong directory gets no lock file.
	if !existsAt(root, journalName) {
		return nil, fmt.Errorf("report: %s has no %s: %w", dir, journalName, ErrNoJournal)
	}
	if err := writableAt(root); err != nil {
		return nil, fmt.Errorf("report: directory %s is not writable: %w", dir, err)
	}
	lock, err := lockDir(root)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = unlockDir(lock)
		}
	}()
	runs, err := loadJournal(jpath, run.Key)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && len(runs.runs) == 0:
		return nil, fmt.Errorf("report: %s holds no run in %s: %w", dir, journalName, ErrNoJournal)
	case err != nil:
		return nil, err
	}
	// Without a key (tests of the format) nothing is authenticated.
	trusted := run.TrustUnsigned || run.Key == nil
	if err := unsigned(jpath, runs, trusted); err != nil {
		return nil, err
	}
	d, err := begin(dir, root, lock, restoreFiles, runs.runs[0].InputSHA256, run, func(st *journalState) error {
		return unsigned(filepath.Join(dir, restoreFiles.journal), st, trusted)
	})
	if err != nil {
		return nil, err
	}
	d.runItems = runs.items()
	return d, nil
}

// RunItems returns, for a restore, every item of the run's journal as it
// stood when the restore took the lock, sorted as the report lists them.
func (d *Dir) RunItems() []job.Item {
	return append([]job.Item(nil), d.runItems...)
}

// InputSHA256 returns the sha256 of the input the directory belongs to
// (for a restore, the input of the run it restores).
func (d *Dir) InputSHA256() string { return d.input }

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

	planSummary: "restore-plan-summary.json",
	planHTML:    "restore-plan-summary.html",
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
// ErrCorrupt when a journal has a bad line before its last one, or
// ErrTampered when a record does not verify, or the run's journal is not
// the one the directory's authenticated summary vouches for, or a journal
// carries no MAC where records were authenticated (binding.go). Its
// warnings say when part of the run's journal is vouched for by no summary.
func OpenRestore(dir string, run RunInfo) (_ *Dir, err error) {
	dir = filepath.Clean(dir)
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
	holder := HolderOf(run, true)
	lock, err := lockDir(root, &holder)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = unlockDir(lock)
		}
	}()
	trusted := run.TrustUnsigned || run.Key == nil
	runs, err := loadRunJournal(dir, run.Key, trusted)
	switch {
	case errors.Is(err, fs.ErrNotExist) || err == nil && len(runs.runs) == 0:
		return nil, fmt.Errorf("report: %s holds no run in %s: %w", dir, journalName, ErrNoJournal)
	case err != nil:
		return nil, err
	}
	rpath := filepath.Join(dir, restoreFiles.journal)
	unsignedLines := runs.unsigned
	// A report written for another tenant is refused before anything
	// is recorded (begin checks the run journal's tenant, owner).
	d, err := begin(dir, root, lock, restoreFiles, runs.runs[0].InputSHA256, runs.tenantID, run, func(st *journalState, sum *Summary) (string, error) {
		// The restore journal is the run journal's directory's, and its
		// summary the restore journal's.
		if len(st.runs) > 0 && st.dirID != runs.dirID {
			return "", fmt.Errorf("report: %s was written for report directory %s, and %s for %s: "+
				"a restore journal counts only in the directory it was written for: %w",
				rpath, dirName(st.dirID), filepath.Join(dir, journalName), dirName(runs.dirID), ErrTampered)
		}
		if sum != nil {
			if err := bindSummary(rpath, restoreFiles.summary, st, sum); err != nil {
				return "", err
			}
		}
		if run.Key != nil {
			if err := checkUnsigned(dir, rpath, st, run.Key, trusted); err != nil {
				return "", err
			}
		}
		unsignedLines += st.unsigned
		return runs.dirID, nil
	})
	if err != nil {
		return nil, err
	}
	d.runItems = runs.items()
	if run.Key != nil {
		if w := runs.unvouched(filepath.Join(dir, journalName)); w != "" {
			d.warnings = append(d.warnings, w)
		}
	}
	if run.TrustUnsigned {
		d.unsignedLines = unsignedLines
		d.unsignedItems = runs.unsignedItems()
	}
	return d, nil
}

// RunItems returns, for a restore, every item of the run's journal as it
// stood when the restore took the lock, sorted as the report lists them.
func (d *Dir) RunItems() []job.Item {
	return append([]job.Item(nil), d.runItems...)
}

// UnsignedLines returns, for a restore told to trust them
// (--trust-unsigned), how many lines without a MAC it read: of the run's
// journal and of its own.
func (d *Dir) UnsignedLines() int { return d.unsignedLines }

// UnsignedLine returns, for a restore told to trust them, the number of
// the last line without a MAC of the run's journal that set what it says
// of the item it (0 when none did).
func (d *Dir) UnsignedLine(it job.Item) int { return d.unsignedItems[it.Key()] }

// InputSHA256 returns the sha256 of the input the directory belongs to
// (for a restore, the input of the run it restores).
func (d *Dir) InputSHA256() string { return d.input }

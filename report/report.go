// Package report keeps a run's report directory: the journal, report.csv and
// summary.json, and the lock that keeps two runs out of one directory.
//
// The journal (journal.jsonl) is the directory's memory across runs: every
// run appends a run record, the plan, an applying record before its first
// write and one outcome record per item, each synced before the call
// returns. Open replays it so that a rerun keeps what finished, retries what
// failed and knows which removals were started but never confirmed.
//
// A restore (OpenRestore) keeps its own journal, report and summary in the
// same directory under the same lock: restore.jsonl, restore.csv and
// restore-summary.json, in the same formats.
package report

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/offboard/offboard/job"
)

// Names of the files the directory holds.
const (
	lockName    = ".lock"
	journalName = "journal.jsonl"
	reportName  = "report.csv"
	summaryName = "summary.json"
)

// files names the journal, report and summary of one kind of run (a run,
// or a restore: restoreFiles), and the statuses its summary counts.
type files struct {
	journal, report, summary string
	states                   []job.State
	// html is the summary for a person (WriteSummaryHTML).
	html string
	// planSummary and planHTML are what a dry run writes instead of
	// summary and html, so that it never overwrites a real run's.
	planSummary, planHTML string
}

// summaryFile and htmlFile are the summaries the run that opened the
// directory writes: a dry run's plan summaries, else the summaries.
func (d *Dir) summaryFile() string {
	if d.run.DryRun {
		return d.files.planSummary
	}
	return d.files.summary
}

func (d *Dir) htmlFile() string {
	if d.run.DryRun {
		return d.files.planHTML
	}
	return d.files.html
}

var runFiles = files{journal: journalName, report: reportName, summary: summaryName, states: job.States,
	html: "summary.html", planSummary: "plan-summary.json", planHTML: "plan-summary.html"}

// Permissions: the report names people, so it is not world-readable.
const (
	dirPerm  = 0o750
	filePerm = 0o640
)

var (
	// ErrBusy means another process holds the directory's lock.
	ErrBusy = errors.New("report directory is in use by another run")
	// ErrOtherInput means the directory belongs to a run of another input.
	ErrOtherInput = errors.New("report directory belongs to another input")
	// ErrOtherTenant means the directory's records were written for
	// another Entra tenant than the one the command acts in.
	ErrOtherTenant = errors.New("report directory belongs to another tenant")
	// ErrCorrupt means the journal or summary cannot be read back.
	ErrCorrupt = errors.New("report directory is corrupt")

	errClosed = errors.New("report: directory closed")
)

// Dir is an open, locked report directory. It records the run's journal
// (it is a job.Recorder) and writes the report and summary.
type Dir struct {
	path string
	// root is the directory, open: its files are created relative to it.
	root     *os.File
	run      RunInfo
	files    files
	input    string // the sha256 of the input the directory belongs to
	lock     *os.File
	key      *Key
	prev     []job.Item
	runItems []job.Item // a restore's: the run's items
	warnings []string
	// unsigned: some of the journal was written without a MAC (before
	// records were authenticated, or by someone else).
	unsigned bool
	// dirID is the directory's id, which its records name ("" in a
	// directory begun before issue 24).
	dirID string
	// tenantID is the tenant the directory belongs to ("" when no
	// record names one).
	tenantID string
	// For a restore: the lines without a MAC it trusts (journal.jsonl's
	// and restore.jsonl's), and the run's items such lines set.
	unsignedLines int
	unsignedItems map[job.Key]int

	// syncMu is held across an fsync of the journal, so that outcomes
	// written meanwhile share the next one (group commit). Take it before
	// mu, never after.
	syncMu sync.Mutex

	mu      sync.Mutex // guards everything below
	journal *os.File
	enc     *lineEncoder
	err     error  // sticky: the first write or sync error, or errClosed
	written uint64 // outcome lines written
	synced  uint64 // outcome lines known durable
	// lines and mac are the journal's line count and the MAC of its last
	// line (nil when none carries one), as written: what the summary
	// authenticates.
	lines int
	mac   []byte
}

var _ job.Recorder = (*Dir)(nil)

// Open creates dir if needed, locks it, replays its journal and records the
// start of the run. It fails, changing nothing but possibly creating the
// lock file, with an error wrapping ErrBusy when another process holds the
// directory, ErrOtherInput when the directory belongs to another input,
// ErrCorrupt when the journal has a bad line before its last one, or
// ErrTampered when dir is a symbolic link.
func Open(dir string, inputSHA256 string, run RunInfo) (*Dir, error) {
	dir = filepath.Clean(dir)
	return OpenIn(filepath.Dir(dir), filepath.Base(dir), inputSHA256, run)
}

// OpenIn is Open of base/rel, where base is a directory the operator
// named (created if needed, links followed as in any path) and rel the
// report directory below it: each of its elements is made if needed and
// opened without following a link (a drop-folder file's {root}/{name}, a
// watch's {root}/watch/{date}). Every file of the directory is then
// created relative to it, never by path.
func OpenIn(base, rel string, inputSHA256 string, run RunInfo) (_ *Dir, err error) {
	dir := filepath.Join(base, rel)
	root, err := openDir(base, rel, true)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = root.Close()
		}
	}()
	if err := writableAt(root); err != nil {
		return nil, fmt.Errorf("report: directory %s is not writable: %w", dir, err)
	}

	holder := HolderOf(run, false)
	lock, err := lockDir(root, &holder)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = unlockDir(lock)
		}
	}()
	return begin(dir, root, lock, runFiles, inputSHA256, "", run, func(st *journalState, _ *Summary) (string, error) {
		if err := checkOwner(dir, st, inputSHA256); err != nil {
			return "", err
		}
		return newDirID(st, run.Key), nil
	})
}

// newDirID is the directory id a run records: the journal's, or a new
// one for a new authenticated journal. A journal begun unauthenticated,
// or before issue 24, keeps none, so that its records read as before.
func newDirID(st *journalState, key *Key) string {
	if len(st.runs) > 0 || key == nil {
		return st.dirID
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TenantID is the tenant the directory belongs to: the one its records
// name, else the one the command acts in ("" when neither is known).
func (d *Dir) TenantID() string { return d.tenantID }

// Warnings returns what Open tolerated, as sentences for the log.
func (d *Dir) Warnings() []string {
	return append([]string(nil), d.warnings...)
}

// PreviousUnsigned reports whether some of what Previous returns comes
// from journal lines without a MAC: nobody vouches for them, so they may
// decide nothing that the tenant does not confirm.
func (d *Dir) PreviousUnsigned() bool { return d.unsigned }

// Previous returns every item as the journal left it before this run, sorted
// as the report lists them.
func (d *Dir) Previous() []job.Item {
	return append([]job.Item(nil), d.prev...)
}

// ReadItems loads the journal of dir read-only and without locking, and
// returns every item as it stands, sorted as the report lists them. A torn
// last line is ignored. The error wraps fs.ErrNotExist when dir has no
// journal.
//
// ReadItems does not verify the records (it is for tools and tests): a
// command that acts on them uses ReadRunItems.
func ReadItems(dir string) ([]job.Item, error) {
	st, err := loadJournal(filepath.Join(dir, journalName), nil)
	if err != nil {
		return nil, err
	}
	return st.items(), nil
}

// ReadRunItems is ReadItems for a command that acts on the items: every
// line must verify under key; lines without a MAC (written before records
// were authenticated) are refused with ErrUnsigned unless trustUnsigned,
// and with ErrTampered whenever the directory holds an authenticated
// record; the journal must be the one the directory's authenticated
// summary names (ErrTampered).
func ReadRunItems(dir string, key *Key, trustUnsigned bool) ([]job.Item, error) {
	if key == nil {
		return nil, errors.New("report: no key to verify the journal with")
	}
	rj, err := loadRunJournal(dir, key, trustUnsigned)
	if err != nil {
		return nil, err
	}
	return rj.items(), nil
}

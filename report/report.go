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
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// unsigned refuses, unless trusted, a journal with lines that carry no
// MAC (a restore's).
func unsigned(path string, st *journalState, trusted bool) error {
	if st.unsigned == 0 || trusted {
		return nil
	}
	return fmt.Errorf("report: %s line %d carries no MAC: it was written before records were authenticated, or by someone else than the job: %w",
		path, st.firstUnsigned, ErrUnsigned)
}

// readSummaryFile reads the summary name in dir: nil when there is
// none; else its text and what verifying it under key said (nil, or an
// error wrapping ErrUnsigned or ErrTampered). It is opened without
// following a link.
func readSummaryFile(dir, name string, key *Key) (body []byte, verr error, err error) {
	path := filepath.Join(dir, name)
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSummary+1))
	if err != nil {
		return nil, nil, fmt.Errorf("report: read %s: %w", path, err)
	}
	if key == nil {
		return b, ErrUnsigned, nil
	}
	body, verr = key.verifySummary(name, b)
	if verr != nil {
		return b, verr, nil
	}
	return body, nil, nil
}

// authenticSummary reads the summary name in dir when it verifies under
// key: nil when there is none or it carries no MAC (verr says which).
func authenticSummary(dir, name string, key *Key) (s *Summary, verr error, err error) {
	b, verr, err := readSummaryFile(dir, name, key)
	if err != nil || b == nil || verr != nil {
		return nil, verr, err
	}
	s = &Summary{}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, nil, fmt.Errorf("report: %s: %v: %w", filepath.Join(dir, name), err, ErrCorrupt)
	}
	return s, nil, nil
}

// checkSummary refuses a summary that does not verify (verr, what
// verifying it said; sum, when it does), and one without a MAC in a
// directory whose journal never held a line without one (it was never
// written unauthenticated).
func checkSummary(dir, name string, st *journalState, sum *Summary, verr error) error {
	path := filepath.Join(dir, name)
	err := verr
	switch {
	case sum == nil && err == nil:
		return nil // there is none
	case err == nil && st.signed == 0 && st.unsigned > 0:
		// A summary the job signed beside a journal it never signed: the
		// journal was replaced.
		return fmt.Errorf("report: %s is authenticated but its journal carries no MAC: %w", path, ErrTampered)
	case err == nil, errors.Is(err, ErrUnsigned) && st.unsigned > 0:
		return nil
	case errors.Is(err, ErrUnsigned):
		return fmt.Errorf("report: %s carries no MAC, and the directory was never written unauthenticated: %w", path, ErrTampered)
	}
	return fmt.Errorf("report: %s: %w", dir, err)
}

// begin replays the journal of fl in dir, open as root, which the caller
// holds locked with lock, lets check refuse it (given its summary, when
// that verifies) and name the directory id to record, refuses it when it
// belongs to another tenant than run's (owner, when not empty, is the
// directory's tenant, else the journal's), then records the start of a
// run in it. The Dir it returns owns root and lock.
func begin(dir string, root, lock *os.File, fl files, inputSHA256, owner string, run RunInfo,
	check func(*journalState, *Summary) (dirID string, err error)) (_ *Dir, err error) {
	jpath := filepath.Join(dir, fl.journal)
	var sum *Summary
	var verr error
	if run.Key != nil {
		// Read first, so that the journal's line it names is noted.
		if sum, verr, err = authenticSummary(dir, fl.summary, run.Key); err != nil {
			return nil, err
		}
	}
	mark := 0
	if sum != nil {
		mark = sum.JournalLines
	}
	st, err := loadJournalMarked(jpath, run.Key, mark)
	created := errors.Is(err, fs.ErrNotExist)
	if err != nil && !created {
		return nil, err
	}
	var warnings []string
	if run.Key == nil {
		if st.signed > 0 {
			return nil, fmt.Errorf("report: %s is authenticated, and no key was given to read it", jpath)
		}
	} else {
		if err := checkSummary(dir, fl.summary, st, sum, verr); err != nil {
			return nil, err
		}
		if st.unsigned > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: lines %d to %d were written before records were authenticated: "+
				"the run reads them (what the tenant still holds is planned again whatever they say); restore needs --trust-unsigned",
				jpath, st.firstUnsigned, st.firstUnsigned+st.unsigned-1))
		}
	}
	dirID, err := check(st, sum)
	if err != nil {
		return nil, err
	}
	if owner == "" {
		owner = st.tenantID
	}
	if err := checkTenant(dir, owner, run.TenantID); err != nil {
		return nil, err
	}

	// Every check has passed: from here on the directory changes.
	f, err := openAt(root, fl.journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("report: open journal: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	if st.torn != "" {
		if err := f.Truncate(st.good); err != nil {
			return nil, fmt.Errorf("report: truncate torn journal: %w", err)
		}
		warnings = append(warnings, st.torn)
	}
	enc := newLineEncoder()
	if run.Key != nil {
		enc.signing(run.Key, st.next())
	}
	enc.encode(runRecord{
		Type:        "run",
		RunID:       run.ID,
		DirID:       dirID,
		TenantID:    run.TenantID,
		InputSHA256: inputSHA256,
		StartedAt:   formatTime(run.StartedAt),
		DryRun:      run.DryRun,
	})
	if _, err := f.Write(enc.bytes()); err != nil {
		return nil, fmt.Errorf("report: write journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("report: sync journal: %w", err)
	}
	if created {
		if err := syncDir(root); err != nil {
			return nil, err
		}
	}
	removeStaleTemps(root)

	return &Dir{
		path:     dir,
		root:     root,
		run:      run,
		files:    fl,
		input:    inputSHA256,
		lock:     lock,
		key:      run.Key,
		prev:     st.items(),
		warnings: warnings,
		unsigned: st.unsigned > 0,
		dirID:    dirID,
		tenantID: cmp.Or(owner, run.TenantID),
		journal:  f,
		enc:      enc,
		lines:    st.lines() + enc.n,
		mac:      enc.chain,
	}, nil
}

// checkTenant refuses a directory written for tenant owner to a command
// acting in tenant (either empty: a directory or a command from before
// tenants were recorded, or a token without one: no check).
func checkTenant(dir, owner, tenant string) error {
	if owner == "" || tenant == "" || owner == tenant {
		return nil
	}
	return fmt.Errorf("report: %s was written for tenant %s, and this command acts in tenant %s: %w", dir, owner, tenant, ErrOtherTenant)
}

// TenantID is the tenant the directory belongs to: the one its records
// name, else the one the command acts in ("" when neither is known).
func (d *Dir) TenantID() string { return d.tenantID }

// checkOwner refuses a directory whose journal, or failing a journal whose
// summary, was written for another input.
func checkOwner(dir string, st *journalState, inputSHA256 string) error {
	if len(st.runs) > 0 {
		if owner := st.runs[0].InputSHA256; owner != inputSHA256 {
			return fmt.Errorf("report: %s holds the journal of input sha256 %s, not %s: %w",
				dir, owner, inputSHA256, ErrOtherInput)
		}
		return nil
	}
	s, err := ReadSummary(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case s.InputSHA256 != inputSHA256:
		return fmt.Errorf("report: %s holds the summary of input sha256 %s, not %s: %w",
			dir, s.InputSHA256, inputSHA256, ErrOtherInput)
	}
	return nil
}

// CheckOwner reads dir's journal (or, failing one, its summary) without
// verifying it and returns an error wrapping ErrOtherInput when it was
// written for another input than inputSHA256: what `check` says before a
// run would be refused. A directory with neither belongs to no one.
func CheckOwner(dir, inputSHA256 string) error {
	st, err := loadJournal(filepath.Join(dir, journalName), nil)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return checkOwner(dir, st, inputSHA256)
}

// removeStaleTemps removes temporary files a killed run or restore left
// behind. It runs under the lock, so no other writer can own them.
func removeStaleTemps(root *os.File) {
	entries, _ := readDirAt(root)
	for _, e := range entries {
		for _, name := range []string{runFiles.report, runFiles.summary, restoreFiles.report, restoreFiles.summary, runFiles.html, restoreFiles.html,
			runFiles.planSummary, runFiles.planHTML, restoreFiles.planSummary, restoreFiles.planHTML} {
			if isTemp(e.Name(), name) {
				_ = removeAt(root, e.Name())
			}
		}
	}
}

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

// Plan records the plan: one line per item, synced once at the end.
func (d *Dir) Plan(items []job.Item) error {
	// Check raw payloads first so that a bad one writes nothing.
	for _, it := range items {
		if len(it.Raw) > 0 && !json.Valid(it.Raw) {
			return fmt.Errorf("report: plan: item %s/%s/%s: raw assignment is not valid JSON",
				it.PrincipalID, it.Source, it.AssignmentID)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	const batch = 1 << 20
	d.enc.reset()
	for _, it := range items {
		d.enc.encode(planRecordOf(it))
		if d.enc.len() >= batch {
			if err := d.write(); err != nil {
				return err
			}
			d.enc.reset()
		}
	}
	if d.enc.len() > 0 {
		if err := d.write(); err != nil {
			return err
		}
	}
	return d.sync()
}

// Applying records that writes are about to start.
func (d *Dir) Applying() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.enc.reset()
	d.enc.encode(applyingRecord{Type: "applying", RunID: d.run.ID})
	if err := d.write(); err != nil {
		return err
	}
	return d.sync()
}

// Outcome records one item's new state, durably: it returns once the line
// is on disk. It is safe for concurrent use; outcomes recorded at the same
// time share one fsync.
func (d *Dir) Outcome(it job.Item) error {
	n, err := d.writeOutcome(it)
	if err != nil {
		return err
	}
	return d.syncThrough(n)
}

// writeOutcome appends its line and returns its number.
func (d *Dir) writeOutcome(it job.Item) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return 0, d.err
	}
	d.enc.reset()
	d.enc.encode(outcomeRecord{
		Type:         "outcome",
		PrincipalID:  it.PrincipalID,
		Source:       it.Source,
		AssignmentID: it.AssignmentID,
		Line:         it.Line,
		State:        string(it.State),
		Detail:       it.Detail,
		Attempts:     it.Attempts,
		UpdatedAt:    formatTime(it.UpdatedAt),
	})
	if err := d.write(); err != nil {
		return 0, err
	}
	d.written++
	return d.written, nil
}

// syncThrough returns once outcome line n is durable: at once when an
// fsync that began after it was written has succeeded, else after one of
// its own, which covers every line written before it began.
func (d *Dir) syncThrough(n uint64) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	if d.synced >= n {
		d.mu.Unlock()
		return nil
	}
	if d.err != nil {
		defer d.mu.Unlock()
		return d.err
	}
	upto, f := d.written, d.journal
	d.mu.Unlock()
	// Outside mu, so that other outcomes are written meanwhile; Close
	// waits for syncMu, so f stays open.
	err := f.Sync()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("report: sync journal: %w", err)
		}
		return d.err
	}
	d.synced = upto
	return nil
}

// write appends the encoder's bytes; d.mu is held.
func (d *Dir) write() error {
	if _, err := d.journal.Write(d.enc.bytes()); err != nil {
		d.err = fmt.Errorf("report: write journal: %w", err)
		return d.err
	}
	d.lines += d.enc.n
	d.mac = d.enc.chain
	d.enc.n = 0
	return nil
}

// sync makes the journal durable; d.mu is held.
func (d *Dir) sync() error {
	if err := d.journal.Sync(); err != nil {
		d.err = fmt.Errorf("report: sync journal: %w", err)
		return d.err
	}
	return nil
}

// usable reports whether the directory is still open for writing files.
func (d *Dir) usable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal == nil {
		return errClosed
	}
	return nil
}

// Close closes the journal and releases the lock. The lock file stays:
// removing it would race with a run that has just opened it.
func (d *Dir) Close() error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal == nil {
		return nil
	}
	err := d.journal.Close()
	d.journal = nil
	if d.err == nil {
		d.err = errClosed
	}
	if uerr := unlockDir(d.lock); uerr != nil && err == nil {
		err = uerr
	}
	if rerr := d.root.Close(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("report: close: %w", err)
	}
	return nil
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

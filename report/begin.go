package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Beginning a run in a directory: its journal replayed and checked (its
// summary, its owner, its tenant), then the run's record appended.

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
	st, sum, created, warnings, err := replayFor(dir, fl, run)
	if err != nil {
		return nil, err
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
	f, enc, err := appendRunRecord(root, fl, st, created, runRecord{
		Type:        "run",
		RunID:       run.ID,
		DirID:       dirID,
		TenantID:    run.TenantID,
		InputSHA256: inputSHA256,
		StartedAt:   formatTime(run.StartedAt),
		DryRun:      run.DryRun,
	}, run.Key)
	if err != nil {
		return nil, err
	}
	if st.torn != "" {
		warnings = append(warnings, st.torn)
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

// replayFor replays the journal of fl in dir for run: its summary, when
// it verifies under run's key, names the journal line it vouches for; a
// journal authenticated is refused without a key, and one with lines
// that carry no MAC is read with a warning. created: there is no journal
// yet.
func replayFor(dir string, fl files, run RunInfo) (st *journalState, sum *Summary, created bool, warnings []string, err error) {
	jpath := filepath.Join(dir, fl.journal)
	var verr error
	if run.Key != nil {
		// Read first, so that the journal's line it names is noted.
		if sum, verr, err = authenticSummary(dir, fl.summary, run.Key); err != nil {
			return nil, nil, false, nil, err
		}
	}
	mark := 0
	if sum != nil {
		mark = sum.JournalLines
	}
	st, err = loadJournalMarked(jpath, run.Key, mark)
	created = errors.Is(err, fs.ErrNotExist)
	if err != nil && !created {
		return nil, nil, false, nil, err
	}
	if run.Key == nil {
		if st.signed > 0 {
			return nil, nil, false, nil, fmt.Errorf("report: %s is authenticated, and no key was given to read it", jpath)
		}
		return st, sum, created, nil, nil
	}
	if err := checkSummary(dir, fl.summary, st, sum, verr); err != nil {
		return nil, nil, false, nil, err
	}
	if st.unsigned > 0 {
		warnings = append(warnings, fmt.Sprintf("%s: lines %d to %d were written before records were authenticated: "+
			"the run reads them (what the tenant still holds is planned again whatever they say); restore needs --trust-unsigned",
			jpath, st.firstUnsigned, st.firstUnsigned+st.unsigned-1))
	}
	return st, sum, created, warnings, nil
}

// appendRunRecord opens the journal of fl for appending (cut back to its
// last good line when its last one is torn), appends rec, signed under key
// when there is one, and syncs it (and the directory, when the journal was
// created). The encoder goes on signing where rec left off.
func appendRunRecord(root *os.File, fl files, st *journalState, created bool, rec runRecord, key *Key) (_ *os.File, _ *lineEncoder, err error) {
	f, err := openAt(root, fl.journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, filePerm)
	if err != nil {
		return nil, nil, fmt.Errorf("report: open journal: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	if st.torn != "" {
		if err := f.Truncate(st.good); err != nil {
			return nil, nil, fmt.Errorf("report: truncate torn journal: %w", err)
		}
	}
	enc := newLineEncoder()
	if key != nil {
		enc.signing(key, st.next())
	}
	enc.encode(rec)
	if _, err := f.Write(enc.bytes()); err != nil {
		return nil, nil, fmt.Errorf("report: write journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, nil, fmt.Errorf("report: sync journal: %w", err)
	}
	if created {
		if err := syncDir(root); err != nil {
			return nil, nil, err
		}
	}
	return f, enc, nil
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

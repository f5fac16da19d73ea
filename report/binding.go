package report

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
)

// Issue 24: a record counts only in the report directory and run it was
// written for, and a cut journal makes a restore do less, never more.
//
// A journal's first run record names the directory's id (dir_id, drawn at
// random when the journal is created) and the input's sha256; every later
// line chains from it, so every line is bound to both. summary.json names
// the same directory id and run, and vouches for the journal up to the
// line it was written after (journal_lines, and journal_mac, that line's
// MAC). A restore or a watch reads a journal only when the directory's
// authenticated summary names its directory, one of its runs, and a line
// it holds with that MAC: a journal copied from another directory, or cut
// before that line, is refused. restore.jsonl and restore-summary.json name
// the directory id of the run journal beside them.
//
// What the location's writers can still do: copy a journal and its
// summary together from another directory (both name the same id), or
// remove the summary (a run killed before writing one has none): then a
// restore acts only on removals the journal confirms, and says so.

// vouchers are, by journal, the summaries the job writes beside it with
// a MAC: where one verifies, the journal was written authenticated.
var vouchers = map[string][]string{
	journalName:          {summaryName, runFiles.planSummary, attestationName},
	restoreFiles.journal: {restoreFiles.summary, restoreFiles.planSummary},
}

// voucher names a summary of dir that verifies under key and vouches for
// the journal named journal, or returns "" when there is none.
func voucher(dir, journal string, key *Key) string {
	if key == nil {
		return ""
	}
	for _, name := range vouchers[journal] {
		if b, verr, err := readSummaryFile(dir, name, key); err == nil && b != nil && verr == nil {
			return name
		}
	}
	return ""
}

// checkUnsigned refuses the lines without a MAC of the journal at path
// (in dir): always when the whole journal carries none yet was written
// authenticated (an authenticated summary vouches for it, or its run
// records name a directory id, which only authenticated journals have):
// its MACs were removed, and --trust-unsigned is for reports written
// before records were authenticated, nothing else. Otherwise they are
// refused unless trusted.
func checkUnsigned(dir, path string, st *journalState, key *Key, trusted bool) error {
	if st.unsigned == 0 {
		return nil
	}
	if st.signed == 0 {
		why := ""
		if name := voucher(dir, filepath.Base(path), key); name != "" {
			why = filepath.Join(dir, name) + " in the same directory is authenticated"
		} else if st.dirID != "" {
			why = "its run records name a directory id, which only authenticated journals carry"
		}
		if why != "" {
			return fmt.Errorf("report: %s carries no MAC, yet %s: its MACs were removed, "+
				"and --trust-unsigned reads only reports written before records were authenticated: %w",
				path, why, errTamperedLine)
		}
	}
	return unsigned(path, st, trusted)
}

// bindSummary refuses the journal at path (replayed in st, with the line
// sum names marked) unless sum, the authenticated summary beside it
// (name), was written for it: the same directory id, one of its runs, and
// a line it holds with that MAC.
func bindSummary(path, name string, st *journalState, sum *Summary) error {
	spath := filepath.Join(filepath.Dir(path), name)
	if sum.DirID != st.dirID {
		return fmt.Errorf("report: %s was written for report directory %s, and %s for %s: "+
			"a journal counts only in the directory it was written for: %w",
			path, dirName(st.dirID), spath, dirName(sum.DirID), ErrTampered)
	}
	if !slices.ContainsFunc(st.runs, func(r runRecord) bool { return r.RunID == sum.RunID && r.InputSHA256 == sum.InputSHA256 }) {
		return fmt.Errorf("report: %s holds no run %s of input sha256 %s, which %s names: "+
			"it was not written for this directory: %w", path, sum.RunID, sum.InputSHA256, spath, ErrTampered)
	}
	if sum.JournalLines == 0 {
		return nil // a summary written before issue 24
	}
	if st.lines() < sum.JournalLines {
		return fmt.Errorf("report: %s holds %d lines, and %s vouches for %d: it was cut short: %w",
			path, st.lines(), spath, sum.JournalLines, ErrTampered)
	}
	if hex.EncodeToString(st.markMAC) != sum.JournalMAC {
		return fmt.Errorf("report: %s line %d is not the line %s vouches for: "+
			"the journal was replaced: %w", path, sum.JournalLines, spath, ErrTampered)
	}
	return nil
}

func dirName(id string) string {
	if id == "" {
		return "(none: written before directory ids)"
	}
	return id
}

// runJournal is a run's journal as a command that acts on it reads it.
type runJournal struct {
	*journalState
	// summary is the directory's authenticated summary.json; nil when
	// there is none, or it was written unauthenticated.
	summary *Summary
}

// loadRunJournal reads dir's journal.jsonl for a command that acts on it
// (a restore, a watch): every line verified under key, lines without a
// MAC only when trusted (and never when the directory holds an
// authenticated record, unless their MAC-carrying successors vouch for
// them), and the journal bound to the directory's summary.json
// (bindSummary). Without a key (tests of the format) nothing is checked.
func loadRunJournal(dir string, key *Key, trusted bool) (*runJournal, error) {
	path := filepath.Join(dir, journalName)
	if key == nil {
		st, err := loadJournal(path, nil)
		if err != nil {
			return nil, err
		}
		return &runJournal{journalState: st}, nil
	}
	sum, verr, err := authenticSummary(dir, summaryName, key)
	if err != nil {
		return nil, err
	}
	mark := 0
	if sum != nil {
		mark = sum.JournalLines
	}
	st, err := loadJournalMarked(path, key, mark)
	if err != nil {
		return nil, err
	}
	if err := checkUnsigned(dir, path, st, key, trusted); err != nil {
		return nil, err
	}
	if err := checkSummary(dir, summaryName, st, sum, verr); err != nil {
		return nil, err
	}
	if sum != nil {
		if err := bindSummary(path, summaryName, st, sum); err != nil {
			return nil, err
		}
	}
	return &runJournal{journalState: st, summary: sum}, nil
}

// dryRunsAfter reports whether every line after line n belongs to a dry
// run: a dry run (plan) writes plan-summary.json and leaves summary.json
// as the last real run wrote it, and its lines remove nothing.
func (rj *runJournal) dryRunsAfter(n int) bool {
	for i, r := range rj.runs {
		if rj.runLines[i] > n && !r.DryRun {
			return false
		}
	}
	// The line after n is a run record: nothing of a real run follows n.
	return slices.Contains(rj.runLines, n+1)
}

// unvouched says, for a restore, when part of the journal is vouched for
// by no summary (a run stopped before writing it): "" when every line is.
func (rj *runJournal) unvouched(path string) string {
	switch {
	case rj.summary == nil:
		return fmt.Sprintf("%s has no authenticated %s (its run was stopped before writing one, or it was written before records were authenticated): "+
			"only the removals the journal confirms are restored", path, summaryName)
	case rj.summary.JournalLines > 0 && rj.lines() > rj.summary.JournalLines && !rj.dryRunsAfter(rj.summary.JournalLines):
		return fmt.Sprintf("%s goes on after line %d, the last %s vouches for (a later run stopped before writing its summary): "+
			"only the removals the journal confirms are restored", path, rj.summary.JournalLines, summaryName)
	}
	return ""
}

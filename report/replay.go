package report

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/offboard/offboard/job"
)

// Replaying the journal: each record read back, verified and applied, in
// order. A row's status is the fate table's (job.Event): a plan or outcome
// record steps it to the status recorded (plan-recorded,
// outcome-recorded), and a planned row whose run began applying and
// recorded no outcome is unanswered: unconfirmed.

// errTamperedLine is what a journal line that is not authentic wraps: a
// tampered journal is a corrupt report directory too.
var errTamperedLine = fmt.Errorf("%w: %w", ErrTampered, ErrCorrupt)

// journalState is the journal replayed.
type journalState struct {
	runs    []runRecord
	applied []bool // per run: an applying record was seen
	entries map[job.Key]*entry
	good    int64  // bytes up to the end of the last good line
	torn    string // non-empty: the last line was dropped, and why

	// runLines are the line numbers of the run records.
	runLines []int

	// key verifies the lines that carry a MAC; nil reads them unverified
	// (ReadItems, for tools and tests).
	key *Key
	// seed digests the unauthenticated lines before the first
	// authenticated one; chain is the MAC of the last good line, nil
	// before the first authenticated one.
	seed  hash.Hash
	chain []byte
	// signed and unsigned count the good lines with and without a MAC;
	// firstUnsigned is the number of the first without.
	signed, unsigned, firstUnsigned int

	// dirID is the directory id its run records name ("" before issue 24).
	dirID string
	// tenantID is the tenant its run records name ("" when none does).
	tenantID string
	// mark is a line number a summary names; markMAC the MAC of that
	// line, once read (nil when it carries none).
	mark    int
	markMAC []byte
	// line is the number of the line being applied, and lineUnsigned
	// whether it carries no MAC.
	line         int
	lineUnsigned bool
}

// lines is the number of good lines.
func (st *journalState) lines() int { return st.signed + st.unsigned }

// next is what the line after the last good one chains from.
func (st *journalState) next() []byte {
	if st.chain != nil {
		return st.chain
	}
	return st.seed.Sum(nil)
}

type entry struct {
	item    job.Item
	planRun int  // the run that last planned the item; for a finished item planned again unchanged, the run that finished it
	settled bool // an outcome record followed that plan
	// unsigned is the number of the last line without a MAC that set
	// what the item says (its plan or its outcome), 0 when none.
	unsigned int
}

// loadJournal reads and replays the journal at path. The error wraps
// fs.ErrNotExist when there is none, with an empty state.
func loadJournal(path string, key *Key) (*journalState, error) {
	return loadJournalMarked(path, key, 0)
}

// loadJournalMarked is loadJournal noting the MAC of line mark (markMAC),
// which a summary authenticates.
func loadJournalMarked(path string, key *Key, mark int) (*journalState, error) {
	st := &journalState{entries: map[job.Key]*entry{}, key: key, seed: newChainSeed(filepath.Base(path)), mark: mark}
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return st, fmt.Errorf("report: open journal: %w", err)
	}
	defer f.Close()
	if err := st.read(f, path); err != nil {
		return nil, err
	}
	return st, nil
}

// read replays r. A last line that is torn (no newline, or not JSON) is
// dropped and noted in st.torn; any other bad line is ErrCorrupt.
func (st *journalState) read(r io.Reader, path string) error {
	if st.seed == nil {
		st.seed = newChainSeed(filepath.Base(path))
	}
	br := bufio.NewReaderSize(r, 64<<10)
	badLine := 0 // a line that is not JSON: fine only if it is the last
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("report: read journal: %w", err)
		}
		if len(b) == 0 {
			break
		}
		if badLine != 0 {
			return fmt.Errorf("report: %s line %d: not a JSON record: %w", path, badLine, ErrCorrupt)
		}
		if b[len(b)-1] != '\n' {
			st.torn = fmt.Sprintf("%s: dropped its last line (%d), which a previous run did not finish writing", path, n)
			break
		}
		var rec anyRecord
		if body, mac, signed := splitLine(b); signed {
			// A complete line with a MAC that does not verify is not a
			// torn write: someone else wrote it.
			if st.key != nil && !hmac.Equal(mac, st.key.lineMAC(st.next(), body)) {
				return fmt.Errorf("report: %s line %d: its mac does not verify (altered, forged, moved, or written under another key): %w",
					path, n, errTamperedLine)
			}
			if err := json.Unmarshal(body, &rec); err != nil {
				return fmt.Errorf("report: %s line %d: %v: %w", path, n, err, ErrCorrupt)
			}
			st.chain = mac
			st.signed++
			st.lineUnsigned = false
		} else {
			if err := json.Unmarshal(b, &rec); err != nil {
				var syn *json.SyntaxError
				if errors.As(err, &syn) {
					badLine = n
					continue
				}
				return fmt.Errorf("report: %s line %d: %v: %w", path, n, err, ErrCorrupt)
			}
			switch {
			case bytes.Contains(b, []byte(`"mac"`)) && hasMACField(b):
				return fmt.Errorf("report: %s line %d: its mac is not where the job writes it: %w", path, n, errTamperedLine)
			case st.signed > 0:
				return fmt.Errorf("report: %s line %d carries no MAC after authenticated lines: %w", path, n, errTamperedLine)
			}
			st.seed.Write(b)
			st.unsigned++
			st.lineUnsigned = true
			if st.firstUnsigned == 0 {
				st.firstUnsigned = n
			}
		}
		st.line = n
		if err := st.apply(&rec); err != nil {
			return fmt.Errorf("report: %s line %d: %v: %w", path, n, err, ErrCorrupt)
		}
		st.good += int64(len(b))
		if st.lines() == st.mark {
			st.markMAC = bytes.Clone(st.chain)
		}
	}
	if badLine != 0 {
		st.torn = fmt.Sprintf("%s: dropped its last line (%d), which is not a complete record: a previous run was stopped while writing it", path, badLine)
	}
	return nil
}

// apply replays one record.
func (st *journalState) apply(rec *anyRecord) error {
	if len(st.runs) == 0 && rec.Type != "run" {
		return fmt.Errorf("journal does not start with a run record")
	}
	switch rec.Type {
	case "run":
		return st.applyRun(rec)
	case "applying":
		st.applied[len(st.runs)-1] = true
	case "plan":
		return st.applyPlan(rec)
	case "outcome":
		return st.applyOutcome(rec)
	default:
		return fmt.Errorf("unknown record type %q", rec.Type)
	}
	return nil
}

// applyRun replays a run record: the first names the directory and its
// tenant; every later one must name the same.
func (st *journalState) applyRun(rec *anyRecord) error {
	if _, err := parseTime(rec.StartedAt); err != nil {
		return fmt.Errorf("started_at: %v", err)
	}
	if len(st.runs) == 0 {
		st.dirID = rec.DirID
	} else if rec.DirID != st.dirID {
		return fmt.Errorf("a run record of report directory %q in the journal of %q", rec.DirID, st.dirID)
	}
	switch {
	case rec.TenantID == "":
	case st.tenantID == "":
		st.tenantID = rec.TenantID
	case rec.TenantID != st.tenantID:
		return fmt.Errorf("a run record of tenant %q in the journal of tenant %q", rec.TenantID, st.tenantID)
	}
	st.runs = append(st.runs, runRecord{
		Type: rec.Type, RunID: rec.RunID, DirID: rec.DirID, TenantID: rec.TenantID, InputSHA256: rec.InputSHA256,
		StartedAt: rec.StartedAt, DryRun: rec.DryRun,
	})
	st.applied = append(st.applied, false)
	st.runLines = append(st.runLines, st.line)
	return nil
}

// recorded are the words of a record's status and detail, for the fate
// table's plan-recorded and outcome-recorded.
func recorded(rec *anyRecord) job.Words {
	return job.Words{"status": rec.State, "detail": rec.Detail}
}

// applyPlan replays a plan record: the row as the run planned it.
func (st *journalState) applyPlan(rec *anyRecord) error {
	it := job.Item{
		PrincipalID:      rec.PrincipalID,
		UPN:              rec.UPN,
		Reference:        rec.Reference,
		Source:           rec.Source,
		AssignmentID:     rec.AssignmentID,
		RoleDefinitionID: rec.RoleDefinitionID,
		RoleName:         rec.RoleName,
		Scope:            rec.Scope,
		Attempts:         rec.Attempts,
		Line:             rec.Line,
		Raw:              rec.Raw,
	}
	if err := it.Step(job.PlanRecorded, recorded(rec)); err != nil {
		return err
	}
	at, err := parseTime(rec.UpdatedAt)
	if err != nil {
		return fmt.Errorf("updated_at: %v", err)
	}
	it.UpdatedAt = at
	if rec.KindSet != nil {
		it.Kind = *rec.KindSet
	} else {
		it.Kind = legacyKind(it)
	}
	if len(rec.Keys) > 0 {
		keys := rec.Keys
		it.Keys = &keys
	}
	// A finished row that a later run (a rerun, a dry run) plans again
	// unchanged is still the work of the run that finished it: the
	// watch dates an offboarding by that run.
	planRun := len(st.runs) - 1
	if old := st.entries[it.Key()]; old != nil && old.item.State == it.State && it.State.Done() {
		planRun = old.planRun
	}
	e := &entry{item: it, planRun: planRun}
	if st.lineUnsigned {
		e.unsigned = st.line
	}
	st.entries[it.Key()] = e
	return nil
}

// applyOutcome replays an outcome record: the row's new status, detail,
// attempts and time.
func (st *journalState) applyOutcome(rec *anyRecord) error {
	key := job.Item{
		PrincipalID: rec.PrincipalID, Source: rec.Source, AssignmentID: rec.AssignmentID,
		Line: rec.Line, State: job.State(rec.State),
	}.Key()
	e := st.entries[key]
	it := job.Item{PrincipalID: rec.PrincipalID, Source: rec.Source, AssignmentID: rec.AssignmentID, Line: rec.Line}
	if e != nil {
		it = e.item
	}
	if err := it.Step(job.OutcomeRecorded, recorded(rec)); err != nil {
		return err
	}
	at, err := parseTime(rec.UpdatedAt)
	if err != nil {
		return fmt.Errorf("updated_at: %v", err)
	}
	if e == nil {
		// An outcome without a plan: keep what it says rather than lose it.
		e = &entry{planRun: len(st.runs) - 1}
		st.entries[key] = e
	}
	it.Attempts, it.UpdatedAt = rec.Attempts, at
	e.item = it
	e.settled = true
	if st.lineUnsigned {
		e.unsigned = st.line
	}
	return nil
}

// unsignedItems maps the items that lines without a MAC set to the last
// such line.
func (st *journalState) unsignedItems() map[job.Key]int {
	out := map[job.Key]int{}
	for k, e := range st.entries {
		if e.unsigned != 0 {
			out[k] = e.unsigned
		}
	}
	return out
}

// items returns every item, sorted, with Unconfirmed set on the planned
// removals whose run started writing and never recorded their outcome.
func (st *journalState) items() []job.Item {
	out := make([]job.Item, 0, len(st.entries))
	for _, e := range st.entries {
		it := e.item
		if st.applied[e.planRun] && !e.settled {
			// Every status a record names has a row for unanswered:
			// none is refused.
			_ = it.Step(job.Unanswered, nil)
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b job.Item) int {
		if c := job.Compare(a, b); c != 0 {
			return c
		}
		// Only distinct keys reach here, and they differ in State.
		return strings.Compare(string(a.State), string(b.State))
	})
	return out
}

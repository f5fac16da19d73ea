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
	"time"

	"github.com/offboard/offboard/job"
)

// The journal is JSON lines, one record per line, each record's "type" first:
//
//	{"type":"run","run_id":…,"dir_id":…,"tenant_id":…,"input_sha256":…,"started_at":…,"dry_run":…}
//	{"type":"plan","principal_id":…,"upn":…,…,"raw":{…}}
//	{"type":"applying","run_id":…}
//	{"type":"outcome","principal_id":…,"source":…,"assignment_id":…,"line":…,"state":…,"detail":…,"attempts":…,"updated_at":…}
//
// Times are RFC 3339 with nanoseconds in UTC, empty for the zero time, so
// that they read back equal.
//
// dir_id is the report directory's id: drawn at random when an
// authenticated journal is created, and repeated by every later run record
// (a rerun's, a restore's in restore.jsonl), so that the records of one
// directory name it and a journal copied into another does not match that
// directory's summary. A journal begun before issue 24 has none, and keeps
// none.
//
// tenant_id is the Entra tenant the run acted in (issue 31): --tenant, or
// the tid of its token; absent when neither was known (a static token that
// is not a JWT) and in journals written before. The first run record that
// names one gives the directory's tenant; a run record naming another is
// not the job's (it refuses to run into another tenant's directory).

type runRecord struct {
	Type        string `json:"type"`
	RunID       string `json:"run_id"`
	DirID       string `json:"dir_id,omitempty"`
	TenantID    string `json:"tenant_id,omitempty"`
	InputSHA256 string `json:"input_sha256"`
	StartedAt   string `json:"started_at"`
	DryRun      bool   `json:"dry_run"`
}

type planRecord struct {
	Type             string          `json:"type"`
	PrincipalID      string          `json:"principal_id"`
	UPN              string          `json:"upn"`
	Reference        string          `json:"reference"`
	Source           string          `json:"source"`
	Kind             string          `json:"kind"`
	AssignmentID     string          `json:"assignment_id"`
	RoleDefinitionID string          `json:"role_definition_id"`
	RoleName         string          `json:"role_name,omitempty"`
	Scope            string          `json:"scope"`
	State            string          `json:"state"`
	Detail           string          `json:"detail"`
	Attempts         int             `json:"attempts"`
	UpdatedAt        string          `json:"updated_at"`
	Line             int             `json:"line"`
	Raw              json.RawMessage `json:"raw,omitempty"`
	// Keys are the mails and employee ids the input named the principal
	// by, so that a rerun resolves them after the account is deleted.
	Keys []string `json:"keys,omitempty"`
}

type applyingRecord struct {
	Type  string `json:"type"`
	RunID string `json:"run_id"`
}

type outcomeRecord struct {
	Type         string `json:"type"`
	PrincipalID  string `json:"principal_id"`
	Source       string `json:"source"`
	AssignmentID string `json:"assignment_id"`
	Line         int    `json:"line"`
	State        string `json:"state"`
	Detail       string `json:"detail"`
	Attempts     int    `json:"attempts"`
	UpdatedAt    string `json:"updated_at"`
}

// anyRecord is every record type's fields, for reading.
type anyRecord struct {
	Type        string `json:"type"`
	RunID       string `json:"run_id"`
	DirID       string `json:"dir_id"`
	TenantID    string `json:"tenant_id"`
	InputSHA256 string `json:"input_sha256"`
	StartedAt   string `json:"started_at"`
	DryRun      bool   `json:"dry_run"`
	// KindSet is a plan record's kind, nil in a journal written before
	// kinds (planRecord's own Kind is shadowed by it).
	KindSet *string `json:"kind"`
	planRecord
}

func planRecordOf(it job.Item) planRecord {
	return planRecord{
		Type:             "plan",
		PrincipalID:      it.PrincipalID,
		UPN:              it.UPN,
		Reference:        it.Reference,
		Source:           it.Source,
		Kind:             it.Kind,
		AssignmentID:     it.AssignmentID,
		RoleDefinitionID: it.RoleDefinitionID,
		RoleName:         it.RoleName,
		Scope:            it.Scope,
		State:            string(it.State),
		Detail:           it.Detail,
		Attempts:         it.Attempts,
		UpdatedAt:        formatTime(it.UpdatedAt),
		Line:             it.Line,
		Raw:              it.Raw,
		Keys:             keysOf(it),
	}
}

func keysOf(it job.Item) []string {
	if it.Keys == nil {
		return nil
	}
	return *it.Keys
}

// lineEncoder encodes records as JSON lines into a reusable buffer. HTML
// characters are kept as they are, so raw payloads stay verbatim (up to
// insignificant whitespace, which a line cannot hold).
//
// With a key, each line is authenticated (auth.go): chain is the MAC of the
// line before, or the journal's seed.
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder

	key     *Key
	chain   []byte
	scratch bytes.Buffer
	senc    *json.Encoder
	// n counts the lines encoded since the last reset.
	n int
}

func newLineEncoder() *lineEncoder {
	e := &lineEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// signing makes the encoder authenticate every line under key, chained
// from chain.
func (e *lineEncoder) signing(key *Key, chain []byte) {
	e.key, e.chain = key, chain
	e.senc = json.NewEncoder(&e.scratch)
	e.senc.SetEscapeHTML(false)
}

// encode appends v and a newline. The records hold only strings, numbers,
// booleans and raw JSON checked beforehand, so encoding cannot fail.
func (e *lineEncoder) encode(v any) {
	e.n++
	if e.key == nil {
		if err := e.enc.Encode(v); err != nil {
			panic(fmt.Sprintf("report: encode journal record: %v", err))
		}
		return
	}
	e.scratch.Reset()
	if err := e.senc.Encode(v); err != nil {
		panic(fmt.Sprintf("report: encode journal record: %v", err))
	}
	b := e.scratch.Bytes()
	e.chain = e.key.signLine(&e.buf, e.chain, b[:len(b)-1])
}

func (e *lineEncoder) bytes() []byte { return e.buf.Bytes() }
func (e *lineEncoder) len() int      { return e.buf.Len() }
func (e *lineEncoder) reset()        { e.buf.Reset(); e.n = 0 }

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

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

// validState accepts the statuses of a run and of a restore.
func validState(s string) bool {
	return slices.Contains(job.States, job.State(s)) || slices.Contains(job.RestoreStates, job.State(s))
}

// apply replays one record.
func (st *journalState) apply(rec *anyRecord) error {
	if len(st.runs) == 0 && rec.Type != "run" {
		return fmt.Errorf("journal does not start with a run record")
	}
	run := len(st.runs) - 1
	switch rec.Type {
	case "run":
		if _, err := parseTime(rec.StartedAt); err != nil {
			return fmt.Errorf("started_at: %v", err)
		}
		// The first run record names the directory; every later one
		// repeats it.
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
	case "applying":
		st.applied[run] = true
	case "plan":
		if !validState(rec.State) {
			return fmt.Errorf("unknown state %q", rec.State)
		}
		at, err := parseTime(rec.UpdatedAt)
		if err != nil {
			return fmt.Errorf("updated_at: %v", err)
		}
		it := job.Item{
			PrincipalID:      rec.PrincipalID,
			UPN:              rec.UPN,
			Reference:        rec.Reference,
			Source:           rec.Source,
			AssignmentID:     rec.AssignmentID,
			RoleDefinitionID: rec.RoleDefinitionID,
			RoleName:         rec.RoleName,
			Scope:            rec.Scope,
			State:            job.State(rec.State),
			Detail:           rec.Detail,
			Attempts:         rec.Attempts,
			UpdatedAt:        at,
			Line:             rec.Line,
			Raw:              rec.Raw,
		}
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
		planRun := run
		if old := st.entries[it.Key()]; old != nil && old.item.State == it.State && it.State.Done() {
			planRun = old.planRun
		}
		e := &entry{item: it, planRun: planRun}
		if st.lineUnsigned {
			e.unsigned = st.line
		}
		st.entries[it.Key()] = e
	case "outcome":
		if !validState(rec.State) {
			return fmt.Errorf("unknown state %q", rec.State)
		}
		at, err := parseTime(rec.UpdatedAt)
		if err != nil {
			return fmt.Errorf("updated_at: %v", err)
		}
		key := job.Item{
			PrincipalID: rec.PrincipalID, Source: rec.Source, AssignmentID: rec.AssignmentID,
			Line: rec.Line, State: job.State(rec.State),
		}.Key()
		e := st.entries[key]
		if e == nil {
			// An outcome without a plan: keep what it says rather than lose it.
			e = &entry{item: job.Item{
				PrincipalID: rec.PrincipalID, Source: rec.Source,
				AssignmentID: rec.AssignmentID, Line: rec.Line,
			}, planRun: run}
			st.entries[key] = e
		}
		e.item.State = job.State(rec.State)
		e.item.Detail = rec.Detail
		e.item.Attempts = rec.Attempts
		e.item.UpdatedAt = at
		e.settled = true
		if st.lineUnsigned {
			e.unsigned = st.line
		}
	default:
		return fmt.Errorf("unknown record type %q", rec.Type)
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
		it.Unconfirmed = it.State == job.Planned && st.applied[e.planRun] && !e.settled
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

package report

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
)

// Tests of issue 24: a record counts only in the report directory and run
// it was written for; a cut journal makes a restore do less, never more;
// --trust-unsigned reads only reports written before records were
// authenticated.

func journalLines(t *testing.T, dir, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	return lines[:len(lines)-1] // each with its newline
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o640); err != nil {
		t.Fatal(err)
	}
}

func copyInto(t *testing.T, from, to, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(to, name), b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// restoreOf opens a restore of dir under the test key.
func restoreOf(dir string, trust bool) (*Dir, error) {
	k, _ := NewKey([]byte(strings.Repeat("k", MinKeySize))) // testKey(t, "k")
	return OpenRestore(dir, RunInfo{ID: "restore-1", StartedAt: t0, Key: k, TrustUnsigned: trust})
}

var dirIDPattern = regexp.MustCompile(`"dir_id":"([0-9a-f]{32})"`)

// The summary names the directory id its journal's run records carry, and
// vouches for the journal's lines: how many, and the MAC of the last.
func TestSummaryVouchesForItsJournal(t *testing.T) {
	dir := signedRun(t)
	s, err := ReadAuthenticSummary(dir, testKey(t, "k"))
	if err != nil {
		t.Fatal(err)
	}
	lines := journalLines(t, dir, journalName)
	m := dirIDPattern.FindStringSubmatch(lines[0])
	if m == nil || s.DirID != m[1] {
		t.Fatalf("summary dir_id %q, the journal's first line %s", s.DirID, lines[0])
	}
	_, mac, _ := splitLine([]byte(lines[len(lines)-1]))
	if s.JournalLines != len(lines) || s.JournalMAC != hex.EncodeToString(mac) {
		t.Errorf("summary vouches for %d lines ending %s; the journal has %d ending %x", s.JournalLines, s.JournalMAC, len(lines), mac)
	}
	// A rerun keeps the directory's id.
	mustClose(t, mustOpen(t, dir, inputA, signedInfo(t, "run-2")))
	lines = journalLines(t, dir, journalName)
	if !strings.Contains(lines[len(lines)-1], `"dir_id":"`+s.DirID+`"`) {
		t.Errorf("the rerun's run record does not name the directory: %s", lines[len(lines)-1])
	}
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); err != nil {
		t.Errorf("after a rerun without a summary: %v", err)
	}
}

// Item 1: a journal copied from another report directory (same key, same
// run id and input even) is refused by the restore and the watch there,
// naming it; so is a restore journal.
func TestCopiedJournalIsRefused(t *testing.T) {
	august, tonight := signedRun(t), signedRun(t)
	copyInto(t, august, tonight, journalName)
	path := filepath.Join(tonight, journalName)
	for _, trust := range []bool{false, true} {
		if _, err := ReadRunItems(tonight, testKey(t, "k"), trust); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadRunItems(trust %v): %v, want ErrTampered naming %s", trust, err, path)
		}
		if d, err := restoreOf(tonight, trust); !errors.Is(err, ErrTampered) {
			if d != nil {
				d.Close()
			}
			t.Errorf("OpenRestore(trust %v): %v, want ErrTampered", trust, err)
		}
	}
	if _, err := ReadEvidence(tonight, testKey(t, "k")); !errors.Is(err, ErrTampered) {
		t.Errorf("ReadEvidence: %v, want ErrTampered", err)
	}

	// A restore journal copied from another directory.
	restored, other := signedRun(t), signedRun(t)
	d, err := restoreOf(restored, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteSummary(Summary{RunID: "restore-1", InputSHA256: inputA}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	copyInto(t, restored, other, restoreFiles.journal)
	if d, err := restoreOf(other, false); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), restoreFiles.journal) {
		if d != nil {
			d.Close()
		}
		t.Errorf("OpenRestore with a copied restore.jsonl: %v, want ErrTampered naming it", err)
	}
	if ev, err := ReadEvidence(other, testKey(t, "k")); err != nil || ev.RestoreProblem == "" || len(ev.Restored) != 0 {
		t.Errorf("ReadEvidence with a copied restore.jsonl: %v, problem %q, restored %v", err, ev.RestoreProblem, ev.Restored)
	}
	// In its own directory, it is read.
	d, err = restoreOf(restored, false)
	if err != nil {
		t.Fatalf("a second restore in its own directory: %v", err)
	}
	mustClose(t, d)
}

// writeRelease18 leaves in dir a report as the release before issue 24
// wrote it: authenticated, with no directory id, and a summary that
// vouches for no line.
// release18Plan is a plan record as the release before kinds wrote it:
// no kind, no role name.
func release18Plan(it job.Item) any {
	r := planRecordOf(it)
	return struct {
		Type             string          `json:"type"`
		PrincipalID      string          `json:"principal_id"`
		UPN              string          `json:"upn"`
		Reference        string          `json:"reference"`
		Source           string          `json:"source"`
		AssignmentID     string          `json:"assignment_id"`
		RoleDefinitionID string          `json:"role_definition_id"`
		Scope            string          `json:"scope"`
		State            string          `json:"state"`
		Detail           string          `json:"detail"`
		Attempts         int             `json:"attempts"`
		UpdatedAt        string          `json:"updated_at"`
		Line             int             `json:"line"`
		Raw              json.RawMessage `json:"raw,omitempty"`
		Keys             []string        `json:"keys,omitempty"`
	}{r.Type, r.PrincipalID, r.UPN, r.Reference, r.Source, r.AssignmentID, r.RoleDefinitionID, r.Scope,
		r.State, r.Detail, r.Attempts, r.UpdatedAt, r.Line, r.Raw, r.Keys}
}

func writeRelease18(t *testing.T, dir, runID string) {
	t.Helper()
	key := testKey(t, "k")
	enc := newLineEncoder()
	enc.signing(key, newChainSeed(journalName).Sum(nil))
	enc.encode(runRecord{Type: "run", RunID: runID, InputSHA256: inputA, StartedAt: formatTime(t0)})
	for _, it := range plan() {
		enc.encode(release18Plan(it))
	}
	enc.encode(applyingRecord{Type: "applying", RunID: runID})
	enc.encode(outcomeRecord{Type: "outcome", PrincipalID: "p1", Source: "directory", AssignmentID: "a1", State: "removed", Attempts: 1})
	if err := os.WriteFile(filepath.Join(dir, journalName), enc.bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(Summary{RunID: runID, InputSHA256: inputA, Counts: map[string]int{"removed": 2}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "dir_id") || strings.Contains(string(b), "journal_") {
		t.Fatalf("not the previous release's summary:\n%s", b)
	}
	if err := os.WriteFile(filepath.Join(dir, summaryName), key.signSummary(summaryName, b), 0o640); err != nil {
		t.Fatal(err)
	}
}

// Reports written by the previous release restore and rerun as before,
// and keep no directory id; but their journal copied into a directory
// whose summary names one is refused, and so is one copied between two of
// them (another run).
func TestPreviousReleaseReportsStillRestore(t *testing.T) {
	dir := t.TempDir()
	writeRelease18(t, dir, "run-old")
	items, err := ReadRunItems(dir, testKey(t, "k"), false)
	if err != nil {
		t.Fatal(err)
	}
	if sel, _ := job.SelectRemoved(items, nil); len(sel) != 2 {
		t.Errorf("%d removals selected, want 2", len(sel))
	}
	d, err := restoreOf(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	// A rerun, with a summary this release writes.
	d = mustOpen(t, dir, inputA, signedInfo(t, "run-new"))
	if err := d.WriteSummary(Summary{RunID: "run-new", InputSHA256: inputA}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	for _, l := range journalLines(t, dir, journalName) {
		if strings.Contains(l, "dir_id") {
			t.Errorf("a rerun gave the old journal a directory id: %s", l)
		}
	}
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); err != nil {
		t.Errorf("after a rerun: %v", err)
	}
	d, err = restoreOf(dir, false)
	if err != nil {
		t.Fatalf("a restore after the rerun: %v", err)
	}
	mustClose(t, d)

	// Copied into a directory of this release, or of the previous one.
	old := t.TempDir()
	writeRelease18(t, old, "run-other")
	for _, into := range []string{signedRun(t), old} {
		copyInto(t, dir, into, journalName)
		if _, err := ReadRunItems(into, testKey(t, "k"), true); !errors.Is(err, ErrTampered) {
			t.Errorf("an old journal copied into %s: %v, want ErrTampered", into, err)
		}
	}
}

// Item 2: a journal cut before the line its summary vouches for is
// refused; without a summary (a run killed before writing it), a restore
// selects only the removals the journal confirms, and says so.
func TestCutJournalIsRefused(t *testing.T) {
	dir := signedRun(t)
	lines := journalLines(t, dir, journalName)
	path := filepath.Join(dir, journalName)
	applying := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, `"type":"applying"`) })
	writeLines(t, path, lines[:applying+1])
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("a cut journal: %v, want ErrTampered, cut short", err)
	}
	if d, err := restoreOf(dir, false); !errors.Is(err, ErrTampered) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("OpenRestore of a cut journal: %v, want ErrTampered", err)
	}
	// Its last line replaced by another authentic one: not the line vouched for.
	writeLines(t, path, append(slices.Clone(lines[:len(lines)-1]), lines[len(lines)-2]))
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); !errors.Is(err, ErrTampered) {
		t.Errorf("a journal whose last line is not the one vouched for: %v, want ErrTampered", err)
	}

	writeLines(t, path, lines[:applying+1])
	if err := os.Remove(filepath.Join(dir, summaryName)); err != nil {
		t.Fatal(err)
	}
	d, err := restoreOf(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, d)
	sel, _ := job.SelectRemoved(d.RunItems(), nil)
	if len(sel) != 1 || sel[0].AssignmentID != "a5" {
		t.Errorf("selected %v, want only a5, which the journal confirms removed", sel)
	}
	if u := job.SelectUnconfirmed(d.RunItems(), nil); len(u) != 3 {
		t.Errorf("%d unconfirmed, want 3 (a1, g1, a2)", len(u))
	}
	if w := strings.Join(d.Warnings(), "\n"); !strings.Contains(w, "only the removals the journal confirms") {
		t.Errorf("warnings do not say so: %q", w)
	}
}

// Item 3: a journal whose MACs were removed is refused, --trust-unsigned
// or not, while an authenticated summary vouches for it or its run records
// name a directory id. Residual: with every authenticated record removed
// and the directory id cut out too, it reads as a report written before
// records were authenticated (the restore logs every such line it acts on
// and records the decision).
func TestStrippedJournalIsRefusedEvenTrusted(t *testing.T) {
	dir := signedRun(t)
	var stripped []string
	for _, l := range journalLines(t, dir, journalName) {
		if i := strings.LastIndex(l, `,"mac":"`); i >= 0 {
			l = l[:i] + "}\n"
		}
		stripped = append(stripped, l)
	}
	path := filepath.Join(dir, journalName)
	writeLines(t, path, stripped)
	for _, trust := range []bool{false, true} {
		_, err := ReadRunItems(dir, testKey(t, "k"), trust)
		if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), summaryName) {
			t.Errorf("trust %v: %v, want ErrTampered naming %s", trust, err, summaryName)
		}
	}
	if err := os.Remove(filepath.Join(dir, summaryName)); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRunItems(dir, testKey(t, "k"), true); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "directory id") {
		t.Errorf("without the summary: %v, want ErrTampered for the directory id", err)
	}
	for i, l := range stripped {
		stripped[i] = dirIDPattern.ReplaceAllString(l, `"dir_id":""`)
	}
	writeLines(t, path, stripped)
	d, err := restoreOf(dir, true)
	if err != nil {
		t.Fatalf("the residual: %v", err)
	}
	defer mustClose(t, d)
	if d.UnsignedLines() != len(stripped) {
		t.Errorf("UnsignedLines %d, want %d", d.UnsignedLines(), len(stripped))
	}
	a5 := item("p5", "directory", "a5", job.Removed)
	if d.UnsignedLine(a5) == 0 {
		t.Error("the item from an unsigned line is not named")
	}
}

// The watch: two directories carrying one run id (a report copied whole,
// journal and summary) are both left out, and say why.
func TestCollectEvidenceRefusesCopies(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "a")
	if err := os.Rename(signedRun(t), a); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(root, "b")
	if err := os.Mkdir(b, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{journalName, summaryName} {
		copyInto(t, a, b, name)
	}
	evidence, err := CollectEvidence(root, testKey(t, "k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(evidence) != 2 {
		t.Fatalf("%d reports, want 2", len(evidence))
	}
	for _, ev := range evidence {
		if !strings.Contains(ev.Problem, "copy") || len(ev.Removed) != 0 || len(ev.Runs) == 0 {
			t.Errorf("%s: problem %q, %d removed, runs %v; want refused as a copy, its runs named", ev.Name, ev.Problem, len(ev.Removed), ev.Runs)
		}
	}
}

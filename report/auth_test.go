package report

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
)

// Tests of issue 18, item 1: records are authenticated.

func testKey(t testing.TB, seed string) *Key {
	t.Helper()
	k, err := NewKey([]byte(strings.Repeat(seed, MinKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signedInfo(t testing.TB, id string) RunInfo {
	r := runInfo(id, false)
	r.Key = testKey(t, "k")
	return r
}

// signedRun leaves in a new directory a finished, authenticated run of the
// sample plan, one outcome recorded, and returns the directory.
func signedRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, signedInfo(t, "run-1"))
	if err := d.Plan(slices.Values(plan())); err != nil {
		t.Fatal(err)
	}
	if err := d.Applying(); err != nil {
		t.Fatal(err)
	}
	done := item("p1", "directory", "a1", job.Removed)
	if err := d.Outcome(done); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteSummary(Summary{RunID: "run-1", InputSHA256: inputA, Counts: map[string]int{}}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	return dir
}

func TestSignedJournalRoundTrip(t *testing.T) {
	dir := signedRun(t)
	b, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n") {
		if _, _, ok := splitLine([]byte(strings.TrimSuffix(line, "\n") + "\n")); !ok {
			t.Errorf("line %d carries no MAC: %s", i+1, line)
		}
	}
	items, err := ReadRunItems(dir, testKey(t, "k"), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(plan()) {
		t.Errorf("%d items, want %d", len(items), len(plan()))
	}
	if _, err := ReadAuthenticSummary(dir, testKey(t, "k")); err != nil {
		t.Errorf("ReadAuthenticSummary: %v", err)
	}
	// A second run continues the chain.
	d := mustOpen(t, dir, inputA, signedInfo(t, "run-2"))
	if w := d.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
	mustClose(t, d)
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); err != nil {
		t.Errorf("after a second run: %v", err)
	}
	// Another key verifies nothing.
	if _, err := ReadRunItems(dir, testKey(t, "x"), false); !errors.Is(err, ErrTampered) {
		t.Errorf("under another key: %v, want ErrTampered", err)
	}
}

// Issue 18, finding 1: a forged plan line for Global Administrator and a
// `removed` outcome, appended to the journal, are refused by every reader
// that acts, naming the line, and the journal is left as it was.
func TestForgedJournalLineIsRefused(t *testing.T) {
	dir := signedRun(t)
	path := filepath.Join(dir, journalName)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	n := len(lines) - 1 // the last element is empty
	forgedPlan := `{"type":"plan","principal_id":"p9","source":"directory","assignment_id":"ga","role_definition_id":"62e90394-69f5-4237-9190-012177145e10","scope":"/","state":"planned","line":9}` + "\n"
	forgedOutcome := `{"type":"outcome","principal_id":"p9","source":"directory","assignment_id":"ga","line":9,"state":"removed"}` + "\n"
	fakeMAC := strings.TrimSuffix(forgedOutcome, "}\n") + `,"mac":"` + strings.Repeat("ab", 32) + `"}` + "\n"
	tests := []struct {
		name    string
		journal string
		line    int
	}{
		{"unsigned lines appended", string(good) + forgedPlan + forgedOutcome, n + 1},
		{"a line with a made-up MAC", string(good) + fakeMAC, n + 1},
		{"a line altered", strings.Join(lines[:n-1], "") + strings.Replace(lines[n-1], `"state":"removed"`, `"state":"failed"`, 1), n},
		{"a line moved", strings.Join(append(slices.Clone(lines[:1]), append([]string{lines[2], lines[1]}, lines[3:]...)...), ""), 2},
		{"a line repeated", string(good) + lines[n-1], n + 1},
		{"a line dropped from the middle", strings.Join(append(slices.Clone(lines[:2]), lines[3:]...), ""), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.journal), 0o640); err != nil {
				t.Fatal(err)
			}
			_, err := ReadRunItems(dir, testKey(t, "k"), true)
			if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), path) {
				t.Fatalf("ReadRunItems: %v, want ErrTampered naming %s", err, path)
			}
			for _, want := range []string{"line " + strconv.Itoa(tc.line) + ":", "line " + strconv.Itoa(tc.line) + " "} {
				if strings.Contains(err.Error(), want) {
					goto named
				}
			}
			t.Errorf("%v: want it to name line %d", err, tc.line)
		named:
			for name, open := range map[string]func() (*Dir, error){
				"Open":        func() (*Dir, error) { return Open(dir, inputA, signedInfo(t, "run-3")) },
				"OpenRestore": func() (*Dir, error) { return OpenRestore(dir, signedInfo(t, "restore-1")) },
			} {
				if d, err := open(); !errors.Is(err, ErrTampered) {
					if d != nil {
						_ = d.Close()
					}
					t.Errorf("%s: %v, want ErrTampered", name, err)
				}
			}
			if b, _ := os.ReadFile(path); string(b) != tc.journal {
				t.Error("a refused open changed the journal")
			}
			if _, err := os.Stat(filepath.Join(dir, restoreFiles.journal)); !errors.Is(err, fs.ErrNotExist) {
				t.Error("a refused restore left a restore journal")
			}
		})
	}
}

// A torn last line is not tampering, signed or not: it is dropped and said.
func TestTornSignedLastLineIsDropped(t *testing.T) {
	dir := signedRun(t)
	path := filepath.Join(dir, journalName)
	good, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(good), "\n")
	last := lines[len(lines)-2]
	torn := string(good) + last[:len(last)-10]
	if err := os.WriteFile(path, []byte(torn), 0o640); err != nil {
		t.Fatal(err)
	}
	d := mustOpen(t, dir, inputA, signedInfo(t, "run-2"))
	if w := d.Warnings(); len(w) != 1 || !strings.Contains(w[0], "last line") {
		t.Errorf("warnings %q, want one about the last line", w)
	}
	mustClose(t, d)
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); err != nil {
		t.Errorf("after the repair: %v", err)
	}
}

// A journal written before records were authenticated is read by a run,
// which says so and authenticates what it appends, binding the old lines;
// a restore refuses it unless told to trust it.
func TestUnsignedJournalIsReadByRunAndRefusedByRestore(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, inputA, runInfo("old", false)) // no key: as before issue 18
	if err := d.Plan(slices.Values(plan())); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	if _, err := ReadRunItems(dir, testKey(t, "k"), false); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "line 1 ") {
		t.Errorf("ReadRunItems: %v, want ErrUnsigned naming line 1", err)
	}
	if d, err := OpenRestore(dir, signedInfo(t, "restore")); !errors.Is(err, ErrUnsigned) {
		if d != nil {
			_ = d.Close()
		}
		t.Errorf("OpenRestore: %v, want ErrUnsigned", err)
	}

	d = mustOpen(t, dir, inputA, signedInfo(t, "new"))
	if w := d.Warnings(); len(w) != 1 || !strings.Contains(w[0], "--trust-unsigned") {
		t.Errorf("warnings %q, want one about the unauthenticated lines", w)
	}
	mustClose(t, d)
	if _, err := ReadRunItems(dir, testKey(t, "k"), true); err != nil {
		t.Errorf("trusted: %v", err)
	}
	trusted := signedInfo(t, "restore")
	trusted.TrustUnsigned = true
	r, err := OpenRestore(dir, trusted)
	if err != nil {
		t.Fatalf("OpenRestore --trust-unsigned: %v", err)
	}
	mustClose(t, r)

	// The old lines are bound by the first authenticated one.
	path := filepath.Join(dir, journalName)
	b, _ := os.ReadFile(path)
	altered := bytes.Replace(b, []byte(`"state":"skipped"`), []byte(`"state":"removed"`), 1)
	if bytes.Equal(altered, b) {
		t.Fatal("the sample plan has no skipped row")
	}
	if err := os.WriteFile(path, altered, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRunItems(dir, testKey(t, "k"), true); !errors.Is(err, ErrTampered) {
		t.Errorf("an old line altered after the upgrade: %v, want ErrTampered", err)
	}
}

// Issue 18, finding 2 (the summary half): a forged summary.json is never
// authentic, and a directory holding one is refused.
func TestForgedOneLineSummaryIsRefused(t *testing.T) {
	key := testKey(t, "k")
	forged := `{"run_id":"x","input_sha256":"` + inputA + `","exit_code":0}` + "\n"

	// Alone in a directory (the drop folder's report of a file).
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, summaryName), []byte(forged), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAuthenticSummary(dir, key); !errors.Is(err, ErrUnsigned) {
		t.Errorf("ReadAuthenticSummary: %v, want ErrUnsigned", err)
	}
	if d, err := Open(dir, inputA, signedInfo(t, "r")); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), summaryName) {
		if d != nil {
			_ = d.Close()
		}
		t.Errorf("Open: %v, want ErrTampered naming %s", err, summaryName)
	}
	if _, err := os.Stat(filepath.Join(dir, journalName)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("the refused Open wrote a journal")
	}

	// Over an authenticated run's, and altered.
	dir = signedRun(t)
	path := filepath.Join(dir, summaryName)
	good, _ := os.ReadFile(path)
	for name, b := range map[string]string{
		"one line":   forged,
		"altered":    strings.Replace(string(good), `"exit_code": 0`, `"exit_code": 1`, 1),
		"mac inside": strings.Replace(forged, `"exit_code"`, `"mac":"00","exit_code"`, 1),
	} {
		if b == string(good) {
			t.Fatalf("%s: nothing altered", name)
		}
		if err := os.WriteFile(path, []byte(b), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadAuthenticSummary(dir, key); err == nil {
			t.Errorf("%s: ReadAuthenticSummary accepted it", name)
		}
		if d, err := Open(dir, inputA, signedInfo(t, "r")); !errors.Is(err, ErrTampered) {
			if d != nil {
				_ = d.Close()
			}
			t.Errorf("%s: Open: %v, want ErrTampered", name, err)
		}
	}

	// A restore's summary is not a run's.
	r, err := OpenRestore(signedRun(t), signedInfo(t, "restore"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WriteSummary(Summary{RunID: "restore", InputSHA256: inputA}); err != nil {
		t.Fatal(err)
	}
	rb, _ := os.ReadFile(filepath.Join(r.path, restoreFiles.summary))
	mustClose(t, r)
	if _, err := ParseSummary(summaryName, rb, key); !errors.Is(err, ErrTampered) {
		t.Errorf("restore-summary.json taken as summary.json: %v, want ErrTampered", err)
	}
	if _, err := ParseSummary(restoreFiles.summary, rb, key); err != nil {
		t.Errorf("restore-summary.json: %v", err)
	}
}

// Issue 18, finding 5: a journal.jsonl that is a symbolic link is not
// followed; its target is left as it was.
func TestJournalSymlinkNotFollowed(t *testing.T) {
	for _, name := range []string{journalName, lockName} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(t.TempDir(), "precious")
			if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
			d, err := Open(dir, inputA, signedInfo(t, "r"))
			if err == nil {
				_ = d.Close()
				t.Fatal("Open followed the link")
			}
			if !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("Open: %v, want it to say the link is refused", err)
			}
			if b, _ := os.ReadFile(target); string(b) != "precious\n" {
				t.Errorf("the link's target now holds %q", b)
			}
		})
	}
}

// FuzzSignedJournalTail appends arbitrary bytes to an authenticated journal:
// whatever they are, the journal is refused, or reads back exactly as
// before (a torn tail dropped). Nothing written without the key gets in.
func FuzzSignedJournalTail(f *testing.F) {
	key, err := NewKey([]byte(strings.Repeat("k", MinKeySize)))
	if err != nil {
		f.Fatal(err)
	}
	enc := newLineEncoder()
	seed := newChainSeed(journalName)
	enc.signing(key, seed.Sum(nil))
	enc.encode(runRecord{Type: "run", RunID: "r1", InputSHA256: inputA, StartedAt: "2026-11-23T02:00:00Z"})
	for _, it := range plan() {
		enc.encode(planRecordOf(it))
	}
	enc.encode(applyingRecord{Type: "applying", RunID: "r1"})
	whole := slices.Clone(enc.bytes())
	lines := bytes.SplitAfter(whole, []byte("\n"))
	base := &journalState{entries: map[job.Key]*entry{}, key: key}
	if err := base.read(bytes.NewReader(whole), journalName); err != nil {
		f.Fatal(err)
	}
	want := base.items()
	f.Add([]byte(`{"type":"outcome","principal_id":"p1","source":"directory","assignment_id":"a1","state":"removed"}` + "\n"))
	f.Add(lines[1])
	f.Add(bytes.Replace(lines[1], []byte(`"p1"`), []byte(`"p9"`), 1))
	f.Add(lines[len(lines)-2][:20])
	f.Add([]byte("garbage\n"))
	f.Fuzz(func(t *testing.T, tail []byte) {
		st := &journalState{entries: map[job.Key]*entry{}, key: key}
		err := st.read(bytes.NewReader(append(slices.Clone(whole), tail...)), journalName)
		if err != nil {
			if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused without ErrTampered or ErrCorrupt: %v", err)
			}
			return
		}
		if got := st.items(); !slices.EqualFunc(got, want, sameItem) {
			t.Fatalf("a tail written without the key changed the items:\n%v\n%v", got, want)
		}
		if st.good != int64(len(whole)) {
			t.Fatalf("good %d, want %d", st.good, len(whole))
		}
	})
}

// A restore's own journal is authenticated too: a line forged into
// restore.jsonl stops the next restore.
func TestForgedRestoreJournalLineIsRefused(t *testing.T) {
	dir := signedRun(t)
	r, err := OpenRestore(dir, signedInfo(t, "restore-1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Plan(slices.Values([]job.Item{item("p1", "directory", "a1", job.Planned)})); err != nil {
		t.Fatal(err)
	}
	mustClose(t, r)
	path := filepath.Join(dir, restoreFiles.journal)
	good, _ := os.ReadFile(path)
	forged := `{"type":"outcome","principal_id":"p1","source":"directory","assignment_id":"a1","line":2,"state":"restored"}` + "\n"
	if err := os.WriteFile(path, append(good, forged...), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, trust := range []bool{false, true} {
		info := signedInfo(t, "restore-2")
		info.TrustUnsigned = trust
		if d, err := OpenRestore(dir, info); !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), path) {
			if d != nil {
				_ = d.Close()
			}
			t.Errorf("OpenRestore (trust %v): %v, want ErrTampered naming %s", trust, err, path)
		}
	}
}

// A signed summary.json beside a journal that carries no MAC at all: the
// journal was swapped for an unsigned one, which run would otherwise read.
func TestUnsignedJournalBesideASignedSummaryIsRefused(t *testing.T) {
	dir := signedRun(t)
	legacy := t.TempDir()
	d := mustOpen(t, legacy, inputA, runInfo("old", false)) // no key: the old format
	if err := d.Plan(slices.Values(plan())); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	b, err := os.ReadFile(filepath.Join(legacy, journalName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, journalName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, inputA, signedInfo(t, "run-2")); !errors.Is(err, ErrTampered) {
		t.Fatalf("Open = %v, want ErrTampered", err)
	}
}

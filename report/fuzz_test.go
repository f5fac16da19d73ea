package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/offboard/offboard/job"
)

// FuzzJournal replays arbitrary bytes as a journal, as Open does with what
// a killed run left: it never panics; a journal it refuses is ErrCorrupt; a
// journal it accepts with a torn last line reads back the same once cut
// where Open cuts it (at the end of the last good line), and then untorn.
func FuzzJournal(f *testing.F) {
	enc := newLineEncoder()
	enc.encode(runRecord{Type: "run", RunID: "r1", InputSHA256: inputA, StartedAt: "2026-11-23T02:00:00Z"})
	for _, it := range plan() {
		enc.encode(planRecordOf(it))
	}
	enc.encode(applyingRecord{Type: "applying", RunID: "r1"})
	enc.encode(outcomeRecord{Type: "outcome", PrincipalID: "p1", Source: "directory", AssignmentID: "a1",
		State: "removed", Attempts: 1, UpdatedAt: "2026-11-23T02:00:01Z"})
	whole := slices.Clone(enc.bytes())
	f.Add(whole)
	f.Add(whole[:len(whole)-1])                         // no final newline
	f.Add(whole[:len(whole)/2])                         // torn mid-record
	f.Add(append(slices.Clone(whole), "{\"type\":"...)) // a record begun
	f.Add([]byte("{\"type\":\"plan\"}\n"))              // no run record first
	f.Add([]byte("not json\n{\"type\":\"run\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &journalState{entries: map[job.Key]*entry{}}
		err := st.read(bytes.NewReader(data), "journal.jsonl")
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused without ErrCorrupt: %v", err)
			}
			return
		}
		items := st.items()
		seen := map[job.Key]bool{}
		for _, it := range items {
			if !validState(string(it.State)) {
				t.Fatalf("item with state %q", it.State)
			}
			if seen[it.Key()] {
				t.Fatalf("two items with key %+v", it.Key())
			}
			seen[it.Key()] = true
		}
		if st.good > int64(len(data)) || st.torn == "" && st.good != int64(len(data)) {
			t.Fatalf("good %d of %d bytes, torn %q", st.good, len(data), st.torn)
		}
		if st.torn == "" {
			return
		}
		again := &journalState{entries: map[job.Key]*entry{}}
		if err := again.read(bytes.NewReader(data[:st.good]), "journal.jsonl"); err != nil || again.torn != "" {
			t.Fatalf("cut at %d: %v, torn %q", st.good, err, again.torn)
		}
		if got := again.items(); !slices.EqualFunc(got, items, sameItem) {
			t.Fatalf("cut at %d, the journal reads back otherwise:\n%v\n%v", st.good, got, items)
		}
	})
}

func sameItem(a, b job.Item) bool {
	return a.Key() == b.Key() && a.State == b.State && a.Detail == b.Detail && a.Attempts == b.Attempts &&
		a.UpdatedAt.Equal(b.UpdatedAt) && a.Unconfirmed == b.Unconfirmed && bytes.Equal(a.Raw, b.Raw)
}

// FuzzReportRow renders arbitrary text as a report row: a spreadsheet never
// runs a cell the input or a service could fill, every cell is UTF-8, and
// the row reads back from report.csv as it was written.
func FuzzReportRow(f *testing.F) {
	f.Add("11111111-1111-1111-1111-111111111111", "alice@contoso.com", "HR-1", "HTTP 403: no", "removed")
	f.Add("=1+1", "", "", "line 2: principal_id \"=1+1\" is not a GUID", "invalid")
	f.Add("", "@x", `=HYPERLINK("http://x")`, "\tdetail", "failed")
	f.Add("", "+1", "-1", "\r\n=x", "planned")
	f.Add("", "\xff\xfe", "a\"b,c\nd", "", "skipped")
	f.Fuzz(func(t *testing.T, pid, upn, ref, detail, state string) {
		it := job.Item{PrincipalID: pid, UPN: upn, Reference: ref, Detail: detail, State: job.State(state),
			Source: "directory", AssignmentID: "a1"}
		cells := reportRow(&it)
		if len(cells) != len(header) {
			t.Fatalf("%d cells", len(cells))
		}
		neutral := []int{1, 2, 8} // user_principal_name, reference, detail
		if it.State == job.Invalid {
			neutral = append(neutral, 0) // principal_id as the input gave it
		}
		for _, i := range neutral {
			if c := cells[i]; c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Fatalf("%s cell %q would run as a formula", header[i], c)
			}
		}
		for _, c := range cells {
			if !utf8.ValidString(c) {
				t.Fatalf("cell %q is not UTF-8", c)
			}
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write(cells); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		back, err := csv.NewReader(&buf).Read()
		if err != nil {
			t.Fatalf("the row does not read back: %v\n%q", err, buf.String())
		}
		// A CSV reader turns each \r\n inside a quoted field into \n,
		// once ("\r\r\n" reads back "\r\n": found by this target).
		norm := func(s []string) []string {
			out := make([]string, len(s))
			for i, c := range s {
				out[i] = strings.ReplaceAll(c, "\r\n", "\n")
			}
			return out
		}
		if !slices.Equal(back, norm(cells)) {
			t.Fatalf("wrote %q, read %q", cells, back)
		}
	})
}

package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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
			if !it.State.Valid() {
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

// FuzzReportRow renders arbitrary values in all 11 cells of a report row:
// a spreadsheet never runs a cell the input could fill (user_principal_name,
// reference, detail, an invalid row's principal_id) nor a service id the
// job refused; the ids the services hand out (principal, assignment, role
// definition, scope) and the job's own words (source, status) are written
// as they are, since a Graph role assignment id may begin with "-"; every
// cell is UTF-8; and the row reads back from report.csv as it was written.
func FuzzReportRow(f *testing.F) {
	f.Add("11111111-1111-1111-1111-111111111111", "alice@contoso.com", "HR-1", "directory",
		"lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1", "62e90394-69f5-4237-9190-012177145e10", "/", "removed", "HTTP 403: no", 1, int64(1795000000))
	f.Add("=1+1", "", "", "", "", "", "", "invalid", "line 2: principal_id \"=1+1\" is not a GUID", 0, int64(0))
	f.Add("", "@x", `=HYPERLINK("http://x")`, "azure", "-x", "+r", "-/s", "failed", "\tdetail", 3, int64(-1))
	f.Add("p", "+1", "-1", "groups", "=cmd|' /C calc'!A0", "", "", "failed", job.UnexpectedID, 1, int64(1))
	f.Add("", "+1", "-1", "pim", "@a", "\tr", "\rs", "planned", "\r\n=x", -5, int64(253402300799))
	f.Add("\xff", "\xff\xfe", "a\"b,c\nd", "\xff", "\xfe", "\xff", "\xff", "skipped", "", 0, int64(0))
	f.Fuzz(func(t *testing.T, pid, upn, ref, source, aid, role, scope, state, detail string, attempts int, updated int64) {
		// A role's name is a service's text: the UPN's value stands in for it.
		it := job.Item{PrincipalID: pid, UPN: upn, Reference: ref, Source: source, AssignmentID: aid,
			RoleDefinitionID: role, RoleName: upn, Scope: scope, State: job.State(state), Detail: detail, Attempts: attempts}
		if updated != 0 {
			it.UpdatedAt = time.Unix(updated, 0)
		}
		cells := reportRow(&it)
		if len(cells) != len(header) {
			t.Fatalf("%d cells", len(cells))
		}
		const (
			cPrincipal = iota
			cUPN
			cReference
			cSource
			cKind
			cAssignment
			cRole
			cRoleName
			cScope
			cStatus
			cDetail
			cAttempts
			cUpdated
		)
		// Role definition ids and scopes come from the services: checked
		// before a row is planned, neutralised when written (issue 24).
		neutral := []int{cUPN, cReference, cRole, cScope, cDetail, cRoleName}
		asIs := map[int]string{cSource: source, cStatus: state}
		if it.State == job.Invalid {
			neutral = append(neutral, cPrincipal) // as the input gave it
		} else {
			asIs[cPrincipal] = pid
		}
		if it.State == job.Failed && it.Detail == job.UnexpectedID {
			neutral = append(neutral, cAssignment) // refused: not an id
		} else {
			asIs[cAssignment] = aid
		}
		for _, i := range neutral {
			if c := cells[i]; c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Fatalf("%s cell %q would run as a formula", header[i], c)
			}
		}
		for _, i := range []int{cUPN, cReference, cRole, cScope, cDetail, cRoleName} {
			in := []string{cUPN: upn, cReference: ref, cRole: role, cScope: scope, cDetail: detail, cRoleName: upn}[i]
			if c := cells[i]; c != validUTF8(in) && c != "'"+validUTF8(in) {
				t.Fatalf("%s cell %q for %q: more than a leading quote changed", header[i], c, in)
			}
		}
		for i, in := range asIs {
			if cells[i] != validUTF8(in) {
				t.Fatalf("%s cell %q, want %q as it is", header[i], cells[i], in)
			}
		}
		if cells[cAttempts] != strconv.Itoa(attempts) {
			t.Fatalf("attempts cell %q for %d", cells[cAttempts], attempts)
		}
		wantUpdated := ""
		if updated != 0 {
			wantUpdated = time.Unix(updated, 0).UTC().Format(time.RFC3339)
		}
		if cells[cUpdated] != wantUpdated {
			t.Fatalf("updated_at cell %q, want %q", cells[cUpdated], wantUpdated)
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

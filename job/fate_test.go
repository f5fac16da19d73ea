package job

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fate table's copy in fate.go's doc comment")

// standings is every standing a row can have.
func standings() []State {
	out := []State{noRow, unconfirmed}
	for _, s := range append(slices.Clone(States), RestoreStates...) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// rowAt returns an item standing at s, its detail "the note".
func rowAt(s State) Item {
	it := Item{PrincipalID: alice, Source: "groups", AssignmentID: "g1", Detail: "the note", State: s}
	if s == unconfirmed {
		it.State, it.Unconfirmed = Planned, true
	}
	return it
}

// fateCase is what one row of the table must do, written out apart from
// the table so that a changed row fails: from each of the standings,
// event on with words turns a row whose detail is "the note" into want
// (a status, or noRow, same, unconfirmed) with detail.
type fateCase struct {
	from   []State
	on     Event
	words  Words
	want   State
	detail string
}

var (
	doneStates    = []State{Removed, AlreadyAbsent, Restored, AlreadyPresent}
	notDoneStates = []State{Planned, Skipped, Failed, Invalid, NotFound, Deferred, NoAssignments}
	answer        = Words{"answer": "HTTP 204"}
)

var fateCases = []fateCase{
	{[]State{noRow}, LineInvalid, Words{"problem": "no principal_id"}, Invalid, "no principal_id"},
	{[]State{noRow}, NotYetEffective, Words{"date": "2031-01-02"}, Deferred, "effective 2031-01-02"},
	{[]State{noRow}, KeyRefused, Words{"line": "3", "why": "mail \"a@b\" matches 2 users"}, Invalid, "line 3: mail \"a@b\" matches 2 users"},
	{[]State{noRow}, KeyNamesNoOne, Words{"line": "4", "key": "mail \"x@y\"", "searched": ""}, NotFound, "line 4: mail \"x@y\" names no user of the tenant"},
	{[]State{noRow}, KeyNamesNoOne, Words{"line": "4", "key": "mail \"x@y\"", "searched": " (soft-deleted users could not be searched: HTTP 400)"}, NotFound,
		"line 4: mail \"x@y\" names no user of the tenant (soft-deleted users could not be searched: HTTP 400)"},
	{[]State{noRow}, ResolveFailed, Words{"line": "5", "why": "resolving mail: HTTP 503"}, Failed, "line 5: resolving mail: HTTP 503"},

	{[]State{noRow}, ListingFailed, Words{"error": "HTTP 503"}, Failed, "listing failed: HTTP 503"},
	{[]State{noRow}, IDRefused, nil, Failed, "unexpected id from the service"},
	{[]State{noRow}, Listed, nil, Planned, "the note"},
	{[]State{noRow}, Protected, Words{"reason": "self"}, Skipped, "self"},
	{[]State{noRow}, HoldsNothing, nil, NoAssignments, ""},
	{[]State{noRow}, DeletedHoldsNothing, nil, NoAssignments, "a soft-deleted user (directory/deletedItems): nothing the sources list is left"},
	{[]State{noRow}, NamesNoObject, Words{"line": "7", "id": bob}, NotFound,
		"line 7: principal_id " + bob + " names no user, service principal or group of the tenant, and holds nothing the sources list"},

	{doneStates, ListedAbsent, nil, same, "the note"},
	{[]State{unconfirmed}, ListedAbsent, nil, Removed, "confirmed absent on rerun"},
	{[]State{Failed}, ListedAbsent, nil, AlreadyAbsent, "absent on rerun"},
	{[]State{Planned, Skipped, Deferred, Invalid, NotFound, NoAssignments}, ListedAbsent, nil, noRow, ""},
	{doneStates, NotListed, nil, same, "the note"},
	{append([]State{unconfirmed}, notDoneStates...), NotListed, nil, noRow, ""},

	{[]State{Planned}, Guarded, Words{"reason": "last-global-admin"}, Skipped, "last-global-admin"},
	{[]State{Planned}, OverCap, Words{"planned": "501", "cap": "500"}, Deferred,
		"the note; held back: 501 planned removals exceed --max-removals-per-principal 500"},

	{[]State{Planned}, AnsweredRemoved, answer, Removed, "the note; HTTP 204"},
	{[]State{Planned}, AnsweredAbsent, Words{"answer": "HTTP 404"}, AlreadyAbsent, "the note; HTTP 404"},
	{[]State{Planned}, ResentFoundAbsent, Words{"answer": "HTTP 404"}, Removed,
		"the note; removed by an attempt whose answer was lost: the request sent again found it gone; HTTP 404"},
	{[]State{Planned}, AnsweredRestored, Words{"answer": ""}, Restored, "the note"},
	{[]State{Planned}, AnsweredPresent, Words{"answer": "HTTP 409"}, AlreadyPresent, "the note; HTTP 409"},
	{[]State{Planned}, ResentFoundPresent, Words{"answer": "HTTP 409"}, Restored,
		"the note; restored by an attempt whose answer was lost: the request sent again found it present; HTTP 409"},
	{[]State{Planned}, UnconfirmedFoundPresent, Words{"answer": "HTTP 409"}, Restored, "the note; confirmed present on rerun"},
	{[]State{Planned}, FinalError, Words{"error": "HTTP 403 Authorization_RequestDenied"}, Failed, "the note; HTTP 403 Authorization_RequestDenied"},
	{[]State{Planned}, AnsweredOther, Words{"status": "skipped", "answer": ""}, Failed,
		"the note; the source answered skipped, which ends no removal"},
	{[]State{Planned}, CutOffInFlight, nil, Planned,
		"the note; cut off in flight by the interruption: the rerun finds out whether it took effect"},

	{nil, PlanRecorded, Words{"status": "removed", "detail": "HTTP 204"}, Removed, "HTTP 204"},
	{nil, OutcomeRecorded, Words{"status": "already-present", "detail": ""}, AlreadyPresent, ""},
	{[]State{Planned}, Unanswered, nil, unconfirmed, "the note"},
	{[]State{Skipped, Failed, Invalid, NotFound, Deferred, NoAssignments, Removed, AlreadyAbsent, Restored, AlreadyPresent},
		Unanswered, nil, same, "the note"},
}

// earlierCases are the rows that give the earlier run's row back.
var earlierCases = []Event{RelistedFoundAbsent, RelistedFoundPresent}

// TestFateTransitions walks every row of the table, from every standing
// it names, and checks what it does against fateCases.
func TestFateTransitions(t *testing.T) {
	walked := map[[2]string]bool{}
	for _, c := range fateCases {
		from := c.from
		if from == nil { // the replay's (any)
			from = standings()
		}
		for _, s := range from {
			it := rowAt(s)
			before := it
			if err := it.Step(c.on, c.words); err != nil {
				t.Errorf("%s from %s: %v", c.on, standingName(s), err)
				continue
			}
			walked[[2]string{string(s), string(c.on)}] = true
			want := before
			switch c.want {
			case same:
			case unconfirmed:
				want.State, want.Unconfirmed, want.Detail = Planned, true, c.detail
			default:
				want.State, want.Unconfirmed, want.Detail = c.want, false, c.detail
			}
			if it.State != want.State || it.Unconfirmed != want.Unconfirmed || it.Detail != want.Detail {
				t.Errorf("%s from %s: %s (unconfirmed %v) %q, want %s (unconfirmed %v) %q",
					c.on, standingName(s), standingName(it.State), it.Unconfirmed, it.Detail,
					standingName(want.State), want.Unconfirmed, want.Detail)
			}
		}
	}
	for _, on := range earlierCases {
		earlierRow := Item{PrincipalID: alice, Source: "groups", AssignmentID: "g1", State: Removed, Detail: "HTTP 204", Attempts: 2}
		it := rowAt(Planned)
		if err := it.StepBack(on, earlierRow); err != nil || !sameItem(it, earlierRow) {
			t.Errorf("%s from planned: %+v, %v; want the earlier row", on, it, err)
		}
		walked[[2]string{string(Planned), string(on)}] = true
	}
	for _, tr := range fates {
		from := tr.from
		if slices.Contains(from, anyStanding) {
			from = standings()
		}
		for _, s := range from {
			if !walked[[2]string{string(s), string(tr.on)}] {
				t.Errorf("the table's %s from %s is walked by no case", tr.on, standingName(s))
			}
		}
	}
}

func sameItem(a, b Item) bool {
	return a.State == b.State && a.Detail == b.Detail && a.Attempts == b.Attempts && a.Unconfirmed == b.Unconfirmed
}

// TestFateRefusesIllegal steps every standing on every event the table
// has no row for: each is refused, and leaves the row as it was.
func TestFateRefusesIllegal(t *testing.T) {
	var events []Event
	for _, tr := range fates {
		if !slices.Contains(events, tr.on) {
			events = append(events, tr.on)
		}
	}
	refused := 0
	for _, s := range standings() {
		for _, e := range events {
			if _, ok := next(s, e); ok {
				continue
			}
			it := rowAt(s)
			before := it
			err := it.Step(e, Words{"answer": "x", "error": "x", "reason": "x", "planned": "1", "cap": "1", "status": "removed", "detail": "x"})
			if !errors.Is(err, ErrIllegal) || !sameItem(it, before) {
				t.Errorf("%s from %s: %v, row %+v; want it refused and the row unchanged", e, standingName(s), err, it)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no illegal step was tried")
	}
	// Some that a bug could send.
	for _, tc := range []struct {
		from State
		on   Event
		w    Words
	}{
		{Removed, Listed, nil},                     // a row is listed once, in a run
		{Skipped, AnsweredRemoved, answer},         // nothing is sent for a skipped row
		{Failed, Guarded, Words{"reason": "self"}}, // a guard skips planned rows only
		{unconfirmed, AnsweredRemoved, answer},     // a rerun plans a fresh row
		{noRow, Unanswered, nil},
		{Planned, AnsweredRemoved, nil},                       // a word missing
		{noRow, PlanRecorded, Words{"status": "gone"}},        // not a status
		{noRow, PlanRecorded, Words{"status": "(no row)"}},    // a standing, not a status
		{Planned, RelistedFoundAbsent, nil},                   // needs the earlier row
		{Planned, Event("bogus"), nil},                        // no such event
		{NoAssignments, OutcomeRecorded, Words{"status": ""}}, // recorded as nothing
	} {
		it := rowAt(tc.from)
		before := it
		if err := it.Step(tc.on, tc.w); !errors.Is(err, ErrIllegal) || !sameItem(it, before) {
			t.Errorf("%s from %s: %v; want it refused, the row unchanged", tc.on, standingName(tc.from), err)
		}
	}
	it := rowAt(Planned)
	if err := it.StepBack(AnsweredAbsent, Item{State: Removed}); !errors.Is(err, ErrIllegal) || it.State != Planned {
		t.Errorf("StepBack(answered-absent): %v, %s; want it refused", err, it.State)
	}
	// The replay shows an unknown status as it always has.
	it = Item{}
	if err := it.Step(PlanRecorded, Words{"status": "gone", "detail": ""}); err == nil || err.Error() != `unknown state "gone"` {
		t.Errorf("plan-recorded gone: %v", err)
	}
}

// A watch's removals begin with why it removed them, in place of the note.
func TestFateWatchWord(t *testing.T) {
	const held = "held again after offboarding on 2030-01-02 (run r1)"
	for _, tc := range []struct {
		from State
		on   Event
		w    Words
		want string
	}{
		{Planned, AnsweredRemoved, Words{"answer": "HTTP 204"}, held + "; HTTP 204"},
		{Planned, AnsweredRemoved, Words{"answer": ""}, held},
		{Planned, ResentFoundAbsent, Words{"answer": "HTTP 404"}, held + "; " + lostAnswerDetail + "; HTTP 404"},
		{unconfirmed, ListedAbsent, nil, held + "; confirmed absent on rerun"},
		// Only a removal says it.
		{Planned, AnsweredAbsent, Words{"answer": "HTTP 404"}, "the note; HTTP 404"},
		{Planned, FinalError, Words{"error": "HTTP 403"}, "the note; HTTP 403"},
		{Failed, ListedAbsent, nil, "absent on rerun"},
	} {
		w := Words{"watch": held}
		for k, v := range tc.w {
			w[k] = v
		}
		it := rowAt(tc.from)
		if err := it.Step(tc.on, w); err != nil || it.Detail != tc.want {
			t.Errorf("%s from %s in a watch: %q, %v; want %q", tc.on, standingName(tc.from), it.Detail, err, tc.want)
		}
	}
	// A watch that cannot say why still leaves the note out.
	it := rowAt(Planned)
	if err := it.Step(AnsweredRemoved, Words{"watch": "", "answer": "HTTP 204"}); err != nil || it.Detail != "HTTP 204" {
		t.Errorf("answered-removed, empty watch word: %q, %v", it.Detail, err)
	}
}

// answerEvent reads a removal's answer as the table's event: an error
// first, then a restore's unconfirmed earlier attempt, then a request sent
// again after a lost answer, then an earlier row listed again.
func TestAnswerEvent(t *testing.T) {
	boom := errors.New("HTTP 403")
	for _, tc := range []struct {
		out                           Outcome
		err                           error
		resent, relisted, unconfirmed bool
		want                          Event
	}{
		{Outcome{Removed, ""}, nil, false, false, false, AnsweredRemoved},
		{Outcome{Removed, ""}, nil, true, true, true, AnsweredRemoved},
		{Outcome{AlreadyAbsent, "HTTP 404"}, nil, false, false, false, AnsweredAbsent},
		{Outcome{AlreadyAbsent, "HTTP 404"}, nil, true, false, false, ResentFoundAbsent},
		{Outcome{AlreadyAbsent, "HTTP 404"}, nil, true, true, false, ResentFoundAbsent},
		{Outcome{AlreadyAbsent, "HTTP 404"}, nil, false, true, false, RelistedFoundAbsent},
		{Outcome{AlreadyAbsent, "HTTP 404"}, nil, false, false, true, AnsweredAbsent},
		{Outcome{Restored, ""}, nil, true, false, false, AnsweredRestored},
		{Outcome{AlreadyPresent, "HTTP 409"}, nil, false, false, false, AnsweredPresent},
		{Outcome{AlreadyPresent, "HTTP 409"}, nil, true, false, false, ResentFoundPresent},
		{Outcome{AlreadyPresent, "HTTP 409"}, nil, false, true, false, RelistedFoundPresent},
		{Outcome{AlreadyPresent, "HTTP 409"}, nil, true, false, true, UnconfirmedFoundPresent},
		{Outcome{AlreadyAbsent, "HTTP 404"}, boom, true, true, true, FinalError},
		{Outcome{}, boom, false, false, false, FinalError},
		{Outcome{Skipped, ""}, nil, false, false, false, AnsweredOther},
		{Outcome{}, nil, false, false, false, AnsweredOther},
	} {
		if got, _ := answerEvent(tc.out, tc.err, tc.resent, tc.relisted, tc.unconfirmed); got != tc.want {
			t.Errorf("answerEvent(%v, %v, resent %v, relisted %v, unconfirmed %v) = %s, want %s",
				tc.out, tc.err, tc.resent, tc.relisted, tc.unconfirmed, got, tc.want)
		}
	}
}

// Done is what not-listed keeps; every event is in the table, once per
// standing.
func TestFateTableShape(t *testing.T) {
	for _, s := range standings() {
		tr, ok := next(s, NotListed)
		if ok && (tr.to == same) != s.Done() {
			t.Errorf("%s: Done %v, but not-listed goes to %s", standingName(s), s.Done(), standingName(tr.to))
		}
	}
	seen := map[[2]string]bool{}
	for _, tr := range fates {
		for _, s := range tr.from {
			k := [2]string{string(s), string(tr.on)}
			if seen[k] {
				t.Errorf("%s from %s has two rows", tr.on, standingName(s))
			}
			seen[k] = true
		}
	}
}

// renderFates is the table as fate.go's doc comment shows it.
func renderFates() []string {
	const fromWidth = 38
	lines := []string{strings.TrimRight(fmt.Sprintf("%-*s %-26s %-17s %s", fromWidth, "from", "event", "to", "detail"), " ")}
	phase := ""
	for _, tr := range fates {
		if tr.phase != phase {
			phase = tr.phase
			lines = append(lines, "", phase)
		}
		var from []string
		for i, s := range tr.from {
			name := standingName(s)
			if i < len(tr.from)-1 {
				name += ","
			}
			if n := len(from); n > 0 && len(from[n-1])+1+len(name) <= fromWidth {
				from[n-1] += " " + name
			} else if n > 0 {
				from = append(from, "  "+name)
			} else {
				from = append(from, name)
			}
		}
		lines = append(lines, strings.TrimRight(fmt.Sprintf("%-*s %-26s %-17s %s", fromWidth, from[0], tr.on, standingName(tr.to), tr.detail), " "))
		lines = append(lines, from[1:]...)
	}
	return lines
}

// TestFateTableDocumented checks that Event's doc comment shows the table
// as it is (-update rewrites it).
func TestFateTableDocumented(t *testing.T) {
	src, err := os.ReadFile("fate.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	const first, after = "//\tfrom ", "//\n// What happens to no row"
	start, end := strings.Index(text, first), strings.Index(text, after)
	if start < 0 || end < start {
		t.Fatalf("fate.go's doc comment has no table between %q and %q", first, after)
	}
	var b strings.Builder
	for _, l := range renderFates() {
		if l == "" {
			b.WriteString("//\n")
		} else {
			b.WriteString("//\t" + l + "\n")
		}
	}
	if text[start:end] == b.String() {
		return
	}
	if *update {
		if err := os.WriteFile("fate.go", []byte(text[:start]+b.String()+text[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("fate.go's doc comment does not show the table as it is: go test -run TestFateTableDocumented -update; it should read:\n%s", b.String())
}

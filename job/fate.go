package job

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Event is something that happens to a row of the report (or of a
// restore): a line read, a listing's answer, a guard, a removal's answer,
// a rerun's finding, a journal record read back. A row's status changes
// only by Item.Step (Item.StepBack for the events that give the earlier
// run's row back), which looks the row's standing and the event up in
// this table, sets the status it names and writes the detail it names.
// An event the table has no row for, from that standing, is refused: the
// row is left as it was and the error wraps ErrIllegal.
//
// A standing is a status, or one of: (no row), before a row's first event
// and after the table drops it (it is not reported); (unconfirmed), a
// planned row whose removal a run started without recording an outcome
// (Item.Unconfirmed: the journal's replay finds it so, and a rerun learns
// from the tenant what became of it). A target is a status, or one of:
// (no row), the row is dropped; (unchanged), status and detail stay;
// (earlier row), the earlier run's row stands as it was (StepBack); (as
// recorded), the status a journal record names, which must be one of a
// run's or a restore's. A row of an earlier run is the From of the rerun
// events.
//
// The detail is written from a template: its parts, split at "; ", are
// filled and those that come out empty are left out (as JoinDetail
// does). {note} is the row's detail before the event (the listing's note,
// such as a group's name); any other {word} is what the event says
// (Words). In a watch (Runner.RemovedDetail), a row that becomes removed
// begins with the word {watch}, "held again after offboarding on {date}
// (run {id})", and leaves {note} out.
//
// The table (TestFateTableDocumented keeps this copy of it true; go test
// -run TestFateTableDocumented -update rewrites it):
//
//	from                                   event                      to                detail
//
//	Resolution: a line of the input, before any source is listed
//	(no row)                               line-invalid               invalid           {problem}
//	(no row)                               not-yet-effective          deferred          effective {date}
//	(no row)                               key-refused                invalid           line {line}: {why}
//	(no row)                               key-names-no-one           not-found         line {line}: {key} names no user of the tenant{searched}
//	(no row)                               resolve-failed             failed            line {line}: {why}
//
//	Listing: what each source finds for a resolved principal
//	(no row)                               listing-failed             failed            listing failed: {error}
//	(no row)                               id-refused                 failed            unexpected id from the service
//	(no row)                               listed                     planned           {note}
//	(no row)                               protected                  skipped           {reason}
//	(no row)                               holds-nothing              no-assignments
//	(no row)                               deleted-holds-nothing      no-assignments    a soft-deleted user (directory/deletedItems): nothing the sources list is left
//	(no row)                               names-no-object            not-found         line {line}: principal_id {id} names no user, service principal or group of the tenant, and holds nothing the sources list
//
//	Rerun: an earlier run's row whose assignment no listing returned
//	removed, already-absent, restored,     listed-absent              (unchanged)
//	  already-present
//	(unconfirmed)                          listed-absent              removed           confirmed absent on rerun
//	failed                                 listed-absent              already-absent    absent on rerun
//	planned, skipped, deferred, invalid,   listed-absent              (no row)
//	  not-found, no-assignments
//	removed, already-absent, restored,     not-listed                 (unchanged)
//	  already-present
//	planned, (unconfirmed), skipped,       not-listed                 (no row)
//	  failed, invalid, not-found,
//	  deferred, no-assignments
//
//	Guards: the whole plan, before the first write
//	planned                                guarded                    skipped           {reason}
//	planned                                over-cap                   deferred          {note}; held back: {planned} planned removals exceed --max-removals-per-principal {cap}
//
//	Applying: a removal's (a restore's re-creation's) answer
//	planned                                answered-removed           removed           {note}; {answer}
//	planned                                answered-absent            already-absent    {note}; {answer}
//	planned                                resent-found-absent        removed           {note}; removed by an attempt whose answer was lost: the request sent again found it gone; {answer}
//	planned                                relisted-found-absent      (earlier row)
//	planned                                answered-restored          restored          {note}; {answer}
//	planned                                answered-present           already-present   {note}; {answer}
//	planned                                resent-found-present       restored          {note}; restored by an attempt whose answer was lost: the request sent again found it present; {answer}
//	planned                                relisted-found-present     (earlier row)
//	planned                                unconfirmed-found-present  restored          {note}; confirmed present on rerun
//	planned                                final-error                failed            {note}; {error}
//	planned                                answered-other             failed            {note}; the source answered {status}, which ends no removal; {answer}
//	planned                                cut-off                    planned           {note}; cut off in flight by the interruption: the rerun finds out whether it took effect
//
//	Replay: the journal read back
//	(any)                                  plan-recorded              (as recorded)     {detail}
//	(any)                                  outcome-recorded           (as recorded)     {detail}
//	planned                                unanswered                 (unconfirmed)     {note}
//	skipped, failed, invalid, not-found,   unanswered                 (unchanged)
//	  deferred, no-assignments, removed,
//	  already-absent, restored,
//	  already-present
//
// What happens to no row: a guard that stops the run (--max-removals, a
// guard's stop or error), a dry run, a 401 and an interruption before the
// first write leave every row as it stands (planned).
type Event string

// The events, by phase. The Runner and Restore send every one of them but
// the replay's, which report sends when it reads a journal back.
const (
	// LineInvalid: the input's line cannot be used ({problem}).
	LineInvalid Event = "line-invalid"
	// NotYetEffective: the line's effective date ({date}) is after today.
	NotYetEffective Event = "not-yet-effective"
	// KeyRefused: a key of the line cannot be looked up, matches several
	// users, or the keys name different objects ({line}, {why}).
	KeyRefused Event = "key-refused"
	// KeyNamesNoOne: a key ({key}) names no user, and nothing else names
	// the principal.
	KeyNamesNoOne Event = "key-names-no-one"
	// ResolveFailed: looking a key up failed, or was cut off ({why}).
	ResolveFailed Event = "resolve-failed"

	// ListingFailed: the source's listing of the principal failed ({error}).
	ListingFailed Event = "listing-failed"
	// IDRefused: the source refused the id its service listed (IDChecker).
	IDRefused Event = "id-refused"
	// Listed: the source lists the assignment. The tenant beats the
	// journal: an assignment listed again is planned again whatever an
	// earlier row said of it (a done one is set aside: relisted-found-*).
	Listed Event = "listed"
	// Protected: the principal is protected or the job itself ({reason}):
	// its rows are listed, never touched.
	Protected Event = "protected"
	// HoldsNothing: no source lists anything for the principal.
	HoldsNothing Event = "holds-nothing"
	// DeletedHoldsNothing: the principal is a soft-deleted user its keys
	// found among directory/deletedItems, and no source lists anything
	// for it.
	DeletedHoldsNothing Event = "deleted-holds-nothing"
	// NamesNoObject: the principal_id, given alone, names no object of the
	// tenant and holds nothing ({line}, {id}).
	NamesNoObject Event = "names-no-object"

	// ListedAbsent: the principal's listing, complete, no longer returns
	// the earlier row's assignment.
	ListedAbsent Event = "listed-absent"
	// NotListed: the earlier row's assignment could not be listed (its
	// principal is not in the run, its listing failed, or a restore no
	// longer selects it).
	NotListed Event = "not-listed"

	// Guarded: a guard leaves the row's access in place ({reason}:
	// protected rows aside, last-global-admin, last-owner, a group Graph
	// cannot change).
	Guarded Event = "guarded"
	// OverCap: the principal's plan holds more removals ({planned}) than
	// --max-removals-per-principal ({cap}).
	OverCap Event = "over-cap"

	// AnsweredRemoved and the other Answered events: the service's answer
	// ({answer}, its detail) to the removal, or the restore's re-creation.
	AnsweredRemoved  Event = "answered-removed"
	AnsweredAbsent   Event = "answered-absent"
	AnsweredRestored Event = "answered-restored"
	AnsweredPresent  Event = "answered-present"
	// AnsweredOther: an answer no removal ends in ({status}): the source
	// broke the Source contract.
	AnsweredOther Event = "answered-other"
	// ResentFoundAbsent (ResentFoundPresent): a request sent again after
	// an attempt whose answer was lost found its work done: the lost
	// attempt did it.
	ResentFoundAbsent  Event = "resent-found-absent"
	ResentFoundPresent Event = "resent-found-present"
	// RelistedFoundAbsent (RelistedFoundPresent): an assignment an earlier
	// run finished, listed again, found done: the earlier row stands.
	RelistedFoundAbsent  Event = "relisted-found-absent"
	RelistedFoundPresent Event = "relisted-found-present"
	// UnconfirmedFoundPresent: a re-creation an earlier restore started
	// without recording its outcome is found present: that restore's work.
	UnconfirmedFoundPresent Event = "unconfirmed-found-present"
	// FinalError: the request failed for good ({error}).
	FinalError Event = "final-error"
	// CutOffInFlight: the run cut the request off (a signal's grace ran
	// out, the deadline came): the service may or may not have acted, and
	// no outcome is recorded.
	CutOffInFlight Event = "cut-off"

	// PlanRecorded, OutcomeRecorded: a journal record read back
	// ({status}, {detail}). The journal holds what this table wrote.
	PlanRecorded    Event = "plan-recorded"
	OutcomeRecorded Event = "outcome-recorded"
	// Unanswered: the row's run began applying and recorded no outcome
	// for it.
	Unanswered Event = "unanswered"
)

// Words are what an event says, by the name its detail template gives it
// ("answer" for {answer}). {note} is not a word: it is the row's detail.
type Words map[string]string

// ErrIllegal is what a step the table refuses wraps.
var ErrIllegal = errors.New("illegal transition")

// The standings and targets that are not statuses.
const (
	noRow       State = ""
	unconfirmed State = "(unconfirmed)"
	same        State = "(unchanged)"
	earlier     State = "(earlier row)"
	recorded    State = "(as recorded)"
	anyStanding State = "(any)"
)

// transition is one row of the table.
type transition struct {
	phase  string
	from   []State
	on     Event
	to     State
	detail string
}

// The details the table writes that other code names.
const (
	confirmedAbsent = "confirmed absent on rerun"
	heldBackText    = "held back: {planned} planned removals exceed --max-removals-per-principal {cap}"
	// lostAnswerDetail and lostAnswerRestoredDetail are what a row says
	// when its removal (re-creation) was found already done by a request
	// sent again after the first one's answer was lost: the plan had just
	// listed the assignment (or the run's journal had it removed), so the
	// lost attempt did it, and offboard restore puts it back like any
	// other.
	lostAnswerDetail         = "removed by an attempt whose answer was lost: the request sent again found it gone"
	lostAnswerRestoredDetail = "restored by an attempt whose answer was lost: the request sent again found it present"
)

var (
	// done are the statuses of a row finished for good (State.Done).
	done = []State{Removed, AlreadyAbsent, Restored, AlreadyPresent}
	// notDone are the others, (unconfirmed) aside.
	notDone = []State{Planned, Skipped, Failed, Invalid, NotFound, Deferred, NoAssignments}
)

// The phases, as the documentation heads them.
const (
	phaseResolution = "Resolution: a line of the input, before any source is listed"
	phaseListing    = "Listing: what each source finds for a resolved principal"
	phaseRerun      = "Rerun: an earlier run's row whose assignment no listing returned"
	phaseGuards     = "Guards: the whole plan, before the first write"
	phaseApplying   = "Applying: a removal's (a restore's re-creation's) answer"
	phaseReplay     = "Replay: the journal read back"
)

// fates is the table. Every row of it is walked by TestFateTransitions.
var fates = []transition{
	{phaseResolution, []State{noRow}, LineInvalid, Invalid, "{problem}"},
	{phaseResolution, []State{noRow}, NotYetEffective, Deferred, "effective {date}"},
	{phaseResolution, []State{noRow}, KeyRefused, Invalid, "line {line}: {why}"},
	{phaseResolution, []State{noRow}, KeyNamesNoOne, NotFound, "line {line}: {key} names no user of the tenant{searched}"},
	{phaseResolution, []State{noRow}, ResolveFailed, Failed, "line {line}: {why}"},

	{phaseListing, []State{noRow}, ListingFailed, Failed, "listing failed: {error}"},
	{phaseListing, []State{noRow}, IDRefused, Failed, UnexpectedID},
	{phaseListing, []State{noRow}, Listed, Planned, "{note}"},
	{phaseListing, []State{noRow}, Protected, Skipped, "{reason}"},
	{phaseListing, []State{noRow}, HoldsNothing, NoAssignments, ""},
	{phaseListing, []State{noRow}, DeletedHoldsNothing, NoAssignments, "a soft-deleted user (directory/deletedItems): nothing the sources list is left"},
	{phaseListing, []State{noRow}, NamesNoObject, NotFound,
		"line {line}: principal_id {id} names no user, service principal or group of the tenant, and holds nothing the sources list"},

	{phaseRerun, done, ListedAbsent, same, ""},
	{phaseRerun, []State{unconfirmed}, ListedAbsent, Removed, confirmedAbsent},
	{phaseRerun, []State{Failed}, ListedAbsent, AlreadyAbsent, "absent on rerun"},
	{phaseRerun, []State{Planned, Skipped, Deferred, Invalid, NotFound, NoAssignments}, ListedAbsent, noRow, ""},
	{phaseRerun, done, NotListed, same, ""},
	{phaseRerun, slices.Insert(slices.Clone(notDone), 1, unconfirmed), NotListed, noRow, ""},

	{phaseGuards, []State{Planned}, Guarded, Skipped, "{reason}"},
	{phaseGuards, []State{Planned}, OverCap, Deferred, "{note}; " + heldBackText},

	{phaseApplying, []State{Planned}, AnsweredRemoved, Removed, "{note}; {answer}"},
	{phaseApplying, []State{Planned}, AnsweredAbsent, AlreadyAbsent, "{note}; {answer}"},
	{phaseApplying, []State{Planned}, ResentFoundAbsent, Removed, "{note}; " + lostAnswerDetail + "; {answer}"},
	{phaseApplying, []State{Planned}, RelistedFoundAbsent, earlier, ""},
	{phaseApplying, []State{Planned}, AnsweredRestored, Restored, "{note}; {answer}"},
	{phaseApplying, []State{Planned}, AnsweredPresent, AlreadyPresent, "{note}; {answer}"},
	{phaseApplying, []State{Planned}, ResentFoundPresent, Restored, "{note}; " + lostAnswerRestoredDetail + "; {answer}"},
	{phaseApplying, []State{Planned}, RelistedFoundPresent, earlier, ""},
	{phaseApplying, []State{Planned}, UnconfirmedFoundPresent, Restored, "{note}; confirmed present on rerun"},
	{phaseApplying, []State{Planned}, FinalError, Failed, "{note}; {error}"},
	{phaseApplying, []State{Planned}, AnsweredOther, Failed, "{note}; the source answered {status}, which ends no removal; {answer}"},
	{phaseApplying, []State{Planned}, CutOffInFlight, Planned,
		"{note}; cut off in flight by the interruption: the rerun finds out whether it took effect"},

	{phaseReplay, []State{anyStanding}, PlanRecorded, recorded, "{detail}"},
	{phaseReplay, []State{anyStanding}, OutcomeRecorded, recorded, "{detail}"},
	{phaseReplay, []State{Planned}, Unanswered, unconfirmed, "{note}"},
	{phaseReplay, append(slices.DeleteFunc(slices.Clone(notDone), func(s State) bool { return s == Planned }), done...), Unanswered, same, ""},
}

// Valid reports whether s is a status of a run or of a restore.
func (s State) Valid() bool { return slices.Contains(States, s) || slices.Contains(RestoreStates, s) }

// standing is where the row stands, for the table.
func (it *Item) standing() State {
	if it.State == Planned && it.Unconfirmed {
		return unconfirmed
	}
	return it.State
}

// next is the table's transition from standing on e.
func next(from State, e Event) (transition, bool) {
	for _, t := range fates {
		if t.on == e && (slices.Contains(t.from, from) || slices.Contains(t.from, anyStanding)) {
			return t, true
		}
	}
	return transition{}, false
}

// Step moves the row on e as the table says: it sets the status the
// transition names and writes its detail from w. A transition that drops
// the row leaves it with no status (State ""). An event the table has no
// row for from the row's standing, or a word its detail needs and w lacks,
// is refused: the row is left as it was, and the error wraps ErrIllegal.
func (it *Item) Step(e Event, w Words) error {
	t, ok := next(it.standing(), e)
	if !ok {
		return fmt.Errorf("job: %s from %s: %w", e, standingName(it.standing()), ErrIllegal)
	}
	if t.to == earlier {
		return fmt.Errorf("job: %s gives the earlier row back (StepBack): %w", e, ErrIllegal)
	}
	to := t.to
	switch to {
	case same:
		return nil
	case recorded:
		to = State(w["status"])
		if !to.Valid() {
			return refusal{fmt.Sprintf("unknown state %q", w["status"])}
		}
	}
	detail, err := t.write(it.Detail, w)
	if err != nil {
		return err
	}
	it.State, it.Detail, it.Unconfirmed = to, detail, to == unconfirmed
	if to == unconfirmed {
		it.State = Planned
	}
	return nil
}

// StepBack is Step for an event whose transition gives the earlier run's
// row back (relisted-found-*): it becomes earlier, as it was.
func (it *Item) StepBack(e Event, earlierRow Item) error {
	t, ok := next(it.standing(), e)
	if !ok || t.to != earlier {
		return fmt.Errorf("job: %s from %s does not give the earlier row back: %w", e, standingName(it.standing()), ErrIllegal)
	}
	*it = earlierRow
	return nil
}

// refusal is a refused step whose message the journal's replay shows as
// it is ("unknown state ...").
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return ErrIllegal }

// write fills the transition's detail template; note is the row's detail
// before the event.
func (t transition) write(note string, w Words) (string, error) {
	watch, isWatch := w["watch"]
	if isWatch && t.to == Removed {
		note = ""
	}
	filled, err := fill(t.detail, note, w)
	if err != nil {
		return "", fmt.Errorf("job: %s: %w", t.on, err)
	}
	if isWatch && t.to == Removed {
		filled = JoinDetail(watch, filled)
	}
	return filled, nil
}

// fill fills a detail template: each part ("; " apart) with its {words},
// the parts that come out empty left out.
func fill(template, note string, w Words) (string, error) {
	var parts []string
	for _, part := range strings.Split(template, "; ") {
		var b strings.Builder
		rest := part
		for {
			open := strings.IndexByte(rest, '{')
			if open < 0 {
				b.WriteString(rest)
				break
			}
			end := strings.IndexByte(rest[open:], '}')
			if end < 0 {
				return "", fmt.Errorf("template %q: an unclosed {: %w", template, ErrIllegal)
			}
			name := rest[open+1 : open+end]
			word, ok := w[name]
			if name == "note" {
				word, ok = note, true
			}
			if !ok {
				return "", fmt.Errorf("no word {%s} for %q: %w", name, template, ErrIllegal)
			}
			b.WriteString(rest[:open])
			b.WriteString(word)
			rest = rest[open+end+1:]
		}
		if b.Len() > 0 {
			parts = append(parts, b.String())
		}
	}
	return strings.Join(parts, "; "), nil
}

// standingName is a standing as the table's documentation names it.
func standingName(s State) string {
	if s == noRow {
		return "(no row)"
	}
	return string(s)
}

// HeldBackDetail is what over-cap adds to a held-back principal's rows.
func HeldBackDetail(planned, limit int) string {
	s, _ := fill(heldBackText, "", Words{"planned": fmt.Sprint(planned), "cap": fmt.Sprint(limit)})
	return s
}

// PrincipalIDAsGiven reports whether the row's principal_id is what the
// input said rather than an id the tenant issued: an invalid line's
// (line-invalid, key-refused). It is part of the row's key, with the
// line, and report.csv neutralizes it as text.
func (it Item) PrincipalIDAsGiven() bool { return it.State == Invalid }

// AssignmentIDRefused reports whether the row's assignment_id is one its
// source refused (id-refused): not an id, and possibly anything, so
// report.csv neutralizes it as text.
func (it Item) AssignmentIDRefused() bool { return it.State == Failed && it.Detail == UnexpectedID }

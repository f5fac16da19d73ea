// Package job is offboard's core: the domain of a run (entries read from the
// input, assignments found in the services, items with a state and a reason),
// the small interfaces the pipeline needs from the outside world, and the
// Runner that reads, resolves, plans, guards, removes and accounts for every
// item. It imports no service SDK: adapters in subpackages implement its
// interfaces.
package job

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// State is where an item of the report stands.
type State string

// The statuses of the report, as CONTRACT.md names them.
const (
	Planned       State = "planned"
	Removed       State = "removed"
	AlreadyAbsent State = "already-absent"
	Skipped       State = "skipped"
	Failed        State = "failed"
	Invalid       State = "invalid"
	NotFound      State = "not-found"
	Deferred      State = "deferred"
	NoAssignments State = "no-assignments"
)

// States lists every status, in the order summaries print them.
var States = []State{Planned, Removed, AlreadyAbsent, Skipped, Failed, Invalid, NotFound, Deferred, NoAssignments}

// Done reports whether the item is finished for good (removed or already
// absent in a run; restored or already present in a restore): a rerun keeps
// it as it is and sends nothing for it (the fate table's not-listed keeps
// exactly these).
func (s State) Done() bool { return slices.Contains(done, s) }

// Entry is one line of the input, checked for syntax but not yet resolved.
type Entry struct {
	Line          int    // 1-based line of the CSV where the record starts
	PrincipalID   string // as given, trimmed; lower-cased when it is a GUID
	UPN           string
	Mail          string // a user's mail (HR key)
	EmployeeID    string // a user's employeeId (HR key)
	Type          string
	Reference     string
	EffectiveDate time.Time // zero when the column is absent or empty
	Problem       string    // non-empty: the line cannot be used, and why
}

// Principal is a departing principal whose object id is known.
type Principal struct {
	ID        string
	UPN       string
	Type      string
	Reference string
	Line      int
}

// Assignment is one thing a source can remove: a role assignment, an
// eligibility, a membership.
type Assignment struct {
	Source string
	// Kind names the kind of access (KindDirectoryRole, …).
	Kind             string
	ID               string
	PrincipalID      string
	RoleDefinitionID string
	Scope            string
	// RoleName is the role's display name (a group's, for a membership or
	// ownership); empty when it could not be read.
	RoleName string
	// Note says what the assignment is in words (a group's name, "eligible").
	Note string
	// Raw is the object as the service listed it, kept in the journal so that
	// a later restore can re-create it exactly.
	Raw json.RawMessage
	// Justification says why, for the services that record one (PIM): the
	// run and the input's reference.
	Justification string
}

// Item is one row of the report: an assignment (or a principal without one)
// and what became of it.
type Item struct {
	PrincipalID      string
	UPN              string
	Reference        string
	Source           string
	Kind             string
	AssignmentID     string
	RoleDefinitionID string
	RoleName         string
	Scope            string
	State            State
	Detail           string
	Attempts         int
	UpdatedAt        time.Time
	// Line is the input line the row comes from. It is part of the key of
	// rows that no object id tells apart: invalid rows, and rows of a line
	// whose principal could not be resolved.
	Line int
	// Raw is the assignment as the service listed it.
	Raw json.RawMessage
	// Unconfirmed marks an item a previous run started to remove without
	// recording an outcome (it was killed): the fate table's (unconfirmed)
	// standing, which the journal's replay gives (unanswered). Only
	// loaded items carry it.
	Unconfirmed bool
	// Keys are the mails and employee ids (UserKey.String) the input named
	// the principal by, shared by its items and kept in the journal, so
	// that a rerun still resolves them once the account is deleted. A
	// pointer: nil for most principals, and one word in every item.
	Keys *[]string
}

// Key identifies an item across runs.
type Key struct {
	PrincipalID  string
	Source       string
	AssignmentID string
	Line         int
}

// Key returns the item's identity.
func (it Item) Key() Key {
	k := Key{PrincipalID: it.PrincipalID, Source: it.Source, AssignmentID: it.AssignmentID}
	if it.PrincipalIDAsGiven() || it.PrincipalID == "" {
		k.Line = it.Line
	}
	return k
}

// Compare orders items as the report lists them: by principal id, source,
// assignment id, then input line.
func Compare(a, b Item) int {
	if c := strings.Compare(a.PrincipalID, b.PrincipalID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Source, b.Source); c != 0 {
		return c
	}
	if c := strings.Compare(a.AssignmentID, b.AssignmentID); c != 0 {
		return c
	}
	return cmp.Compare(a.Line, b.Line)
}

// Less reports whether a comes before b in the report.
func Less(a, b Item) bool { return Compare(a, b) < 0 }

// Source finds and removes one kind of assignment.
type Source interface {
	// Name is the source's name in --sources and in the report.
	Name() string
	// Find lists the assignments the principals hold. An error means the
	// listing failed for every one of them: none may be reported as holding
	// fewer assignments than it does. A ListingErrors instead fails only
	// the principals it names.
	Find(ctx context.Context, principals []Principal) ([]Assignment, error)
	// Remove removes one assignment. It answers Removed or AlreadyAbsent, or
	// an error that says why it is final (after the transport's retries).
	Remove(ctx context.Context, a Assignment) (Outcome, error)
}

// Grouper is implemented by a source that can list several principals in
// one request; GroupSize is how many at most.
type Grouper interface {
	GroupSize() int
}

// BatchRemover is implemented by a source that can send several removals
// in one request (Graph's JSON batching). The runner hands it chunks of up
// to BatchSize pending assignments of that source, each chunk one worker
// task, and records every assignment's result on its own. A BatchSize below
// 2 means removals go one at a time through Remove.
type BatchRemover interface {
	// BatchSize is how many assignments one RemoveBatch call takes at most.
	BatchSize() int
	// RemoveBatch removes the assignments and answers for each of them, in
	// the same order: exactly what Remove would have answered for it, and
	// how many times it was sent, retries included. An assignment whose
	// request was cut off by ctx carries ctx's error.
	RemoveBatch(ctx context.Context, as []Assignment) []BatchResult
}

// BatchResult is what RemoveBatch achieved for one assignment.
type BatchResult struct {
	Outcome Outcome
	// Err is a final failure, as Remove's error.
	Err error
	// Attempts counts the requests that carried this assignment.
	Attempts int
	// Resent: it was sent again after an attempt whose answer was lost
	// (see ResentUnanswered).
	Resent bool
}

// Outcome is what a removal achieved.
type Outcome struct {
	State  State
	Detail string
}

// The kinds of key an input row may name a user by, as the input's
// columns name them.
const (
	KeyUPN        = "user_principal_name"
	KeyMail       = "mail"
	KeyEmployeeID = "employee_id"
)

// UserKey is one value of one kind of key: a UPN, a mail or an employee id.
// Value is as the input gave it (trimmed); the directory compares it
// case-insensitively.
type UserKey struct {
	Kind  string
	Value string
}

// String is the key as the journal keeps it: kind, colon, lower-cased
// value.
func (k UserKey) String() string { return k.Kind + ":" + strings.ToLower(k.Value) }

// DirectoryUser is a user the directory answered for a key.
type DirectoryUser struct {
	ID  string
	UPN string
	// Deleted: a soft-deleted user (DeletedDirectory); UPN is the one it
	// had, without the prefix deletion gives it.
	Deleted bool
}

// Resolution is what the directory answered for one key: every user it
// matches (none, one, or several for a mail or employee id, which the
// directory does not keep unique), or why it could not be looked up.
type Resolution struct {
	Users []DirectoryUser
	// Err is a failed lookup; it wraps ErrInvalidKey when the value
	// cannot go into a request at all.
	Err error
	// DeletedUnknown says why soft-deleted users could not be searched
	// for a key no live user matched; "" when they were, or were not
	// asked.
	DeletedUnknown string
}

// Directory finds users by UPN, mail or employee id, many at once.
type Directory interface {
	// Resolve answers every key, each on its own: one failed lookup
	// fails only the keys it carried.
	Resolve(ctx context.Context, keys []UserKey) map[UserKey]Resolution
}

// ObjectChecker is implemented by a Directory that can tell which object
// ids name no object of the tenant: a principal_id that names no one is a
// typo to report (not-found), not a principal that holds nothing.
type ObjectChecker interface {
	// Absent returns the ids, of those given, that name no user, service
	// principal or group of the tenant. The error is a failed lookup:
	// then nothing is known absent.
	Absent(ctx context.Context, ids []string) (map[string]bool, error)
}

// ErrInvalidKey is wrapped by a lookup refused before it was sent: the
// value is not one a request may carry.
var ErrInvalidKey = errors.New("invalid key")

// Bounds of the key values, checked before any of them goes into a
// $filter (CheckKey).
const (
	// MaxUPN is Active Directory's rangeUpper for userPrincipalName.
	MaxUPN = 1024
	// MaxMail is Entra's limit of a user's mail, in characters.
	MaxMail = 256
	// MaxEmployeeID is Entra's limit of employeeId, in characters.
	MaxEmployeeID = 16
)

// CheckKey returns why a key's value may not go into a request, or "": it
// is not empty, not longer than its kind allows, holds no control
// character, and a mail has one '@' with something on either side and no
// white space. The input's reader checks a UPN more closely.
func CheckKey(k UserKey) string {
	limit := 0
	switch k.Kind {
	case KeyUPN:
		limit = MaxUPN
	case KeyMail:
		limit = MaxMail
	case KeyEmployeeID:
		limit = MaxEmployeeID
	default:
		return "unknown kind of key"
	}
	if k.Value == "" {
		return "empty"
	}
	if !utf8.ValidString(k.Value) {
		return "not UTF-8"
	}
	if n := utf8.RuneCountInString(k.Value); n > limit {
		return fmt.Sprintf("%d characters long, more than %d", n, limit)
	}
	for _, r := range k.Value {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return fmt.Sprintf("contains the control character %U", r)
		}
	}
	if k.Kind == KeyMail {
		local, domain, ok := strings.Cut(k.Value, "@")
		switch {
		case !ok || strings.Contains(domain, "@"):
			return "not one '@'"
		case local == "" || domain == "":
			return "nothing before or after the '@'"
		case strings.ContainsFunc(k.Value, unicode.IsSpace):
			return "contains white space"
		}
	}
	if k.Value != strings.TrimSpace(k.Value) {
		return "begins or ends with white space"
	}
	return ""
}

// Recorder keeps the journal: what the run planned and each outcome, synced
// to stable storage as they happen, so that a run killed at any instant
// loses nothing.
type Recorder interface {
	// Plan records the items of the plan before the first write; items
	// may be ranged over more than once.
	Plan(items iter.Seq[Item]) error
	// Applying records that writes are about to start.
	Applying() error
	// Outcome records one item's new state.
	Outcome(it Item) error
}

// ErrNotFound is what an adapter wraps when the service says an object does
// not exist.
var ErrNotFound = errors.New("not found")

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is an object id in its canonical text form. Every
// id is checked with it before it is put into a $filter.
func IsGUID(s string) bool { return guidPattern.MatchString(s) }

// NormalizeGUID lower-cases a GUID so that the same principal written in
// two cases is one principal.
func NormalizeGUID(s string) string { return strings.ToLower(s) }

// IDChecker is implemented by a source that knows the shape of the ids its
// service hands out. The runner asks it about every assignment a listing
// returns, before the assignment enters the plan: an id it refuses (a
// lock's id where a role assignment's should be, "..") becomes a failed
// row and is never put in a request.
type IDChecker interface {
	// CheckID answers nil when the assignment's ids are what the service
	// issues, and why not otherwise.
	CheckID(a Assignment) error
}

// UnexpectedID is the detail of the row of an assignment whose id its
// source refused.
const UnexpectedID = "unexpected id from the service"

// Holder is implemented by a source whose service throttles parts of it
// apart from each other (ARM, each subscription on its own). While a lane
// is held (a throttled answer asked its requests to wait), the runner gives
// a free worker to an assignment of another lane rather than let every
// worker wait behind the one lane.
type Holder interface {
	// Lane names the part of the service a's requests count against.
	Lane(a Assignment) string
	// HeldUntil is when the lane's requests may go again; a time not
	// after now (the zero time) means it is not held.
	HeldUntil(lane string) time.Time
}

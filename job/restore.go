package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The statuses a restore adds: restore.csv has these, Planned and Failed.
const (
	// Restored: the restore re-created the assignment.
	Restored State = "restored"
	// AlreadyPresent: the service already held the assignment (someone
	// re-created it, or an earlier restore whose outcome was lost did).
	AlreadyPresent State = "already-present"
)

// RestoreStates lists every status of a restore, in the order its summary
// prints them. States stays the run's list: a run's summary counts the
// run's statuses only.
var RestoreStates = []State{Planned, Restored, AlreadyPresent, Failed}

// Restorer re-creates assignments of one source from what a run recorded
// of them: Assignment.Raw is the assignment as the service listed it
// before the run removed it.
type Restorer interface {
	// Restore re-creates a. It answers Restored or AlreadyPresent, or an
	// error that says why it is final (after the transport's retries).
	Restore(ctx context.Context, a Assignment) (Outcome, error)
}

// ErrExpired is what Schedule.Resume wraps when the schedule's end has
// passed: there is nothing left to restore.
var ErrExpired = errors.New("schedule expired")

// Schedule is when an eligibility holds: from Start until End. A zero
// Start is "now"; a zero End never comes.
type Schedule struct {
	Start, End time.Time
}

// Resume returns the schedule a restore asks for at now: the original one
// while its start is still ahead; from now to the original end once its
// start has passed, with a detail that says so; an error wrapping
// ErrExpired once its end has passed.
func (s Schedule) Resume(now time.Time) (Schedule, string, error) {
	now = now.UTC().Truncate(time.Second)
	if !s.End.IsZero() && !s.End.After(now) {
		return Schedule{}, "", fmt.Errorf("its schedule ended at %s: an expired eligibility cannot be restored: %w",
			s.End.UTC().Format(time.RFC3339), ErrExpired)
	}
	if s.Start.After(now) {
		return s, "", nil
	}
	detail := ""
	if !s.Start.IsZero() {
		detail = "starts now: the original start " + s.Start.UTC().Format(time.RFC3339) + " has passed"
	}
	return Schedule{Start: now, End: s.End}, detail, nil
}

// SelectRemoved picks from a run's items what a restore puts back: every
// assignment the run's journal confirms removed (a rerun confirms one
// whose outcome a killed run never recorded), of the principals named by
// object id or by the UPN the run recorded, or of every principal when
// none is named. A removal started and never confirmed is not put back:
// the run may never have sent it, and a journal cut after its plan would
// otherwise grant what was never removed (SelectUnconfirmed lists them).
// unknown lists the names that no row of the run carries.
func SelectRemoved(items []Item, principals []string) (selected []Item, unknown []string) {
	return selectItems(items, principals, func(it Item) bool { return it.State == Removed })
}

// SelectUnconfirmed picks, as SelectRemoved does, the removals a run
// started without recording their outcome: a restore leaves them until a
// rerun confirms them.
func SelectUnconfirmed(items []Item, principals []string) []Item {
	selected, _ := selectItems(items, principals, func(it Item) bool { return it.State == Planned && it.Unconfirmed })
	return selected
}

func selectItems(items []Item, principals []string, pick func(Item) bool) (selected []Item, unknown []string) {
	var wanted map[string]bool // principal ids; nil: all
	if len(principals) > 0 {
		wanted = map[string]bool{}
		for _, name := range principals {
			found := false
			for _, it := range items {
				if it.PrincipalID == "" || it.State == Invalid {
					continue
				}
				if strings.EqualFold(it.PrincipalID, name) || it.UPN != "" && strings.EqualFold(it.UPN, name) {
					wanted[it.PrincipalID] = true
					found = true
				}
			}
			if !found {
				unknown = append(unknown, name)
			}
		}
	}
	for _, it := range items {
		if !pick(it) || it.AssignmentID == "" || wanted != nil && !wanted[it.PrincipalID] {
			continue
		}
		selected = append(selected, it)
	}
	return selected, unknown
}

// Restore puts back what a run removed. It is a Runner whose sources list
// the run's removals of each principal (as the run's journal holds them)
// and act by re-creating them, so that a restore plans, guards, journals,
// paces, retries, stops on a signal and reruns exactly as a run does.
type Restore struct {
	// Restorers re-create assignments, by source name.
	Restorers map[string]Restorer
	Recorder  Recorder
	Log       *zap.Logger
	Now       func() time.Time
	// Concurrency bounds the requests in flight.
	Concurrency int
	// MaxRestorations: a restore with more re-creations to send stops
	// before any change (--max-removals).
	MaxRestorations int
	DryRun          bool
	// Previous is the restore journal left by earlier restores.
	Previous      []Item
	Grace         time.Duration
	ProgressEvery time.Duration
	// RunID names the restore in the justification of requests.
	RunID string
	// Observer, when set, is told of the restore as it goes.
	Observer Observer
}

// Run re-creates the removed items (from SelectRemoved). Items an earlier
// restore finished are kept as they are and nothing is sent for them.
func (r *Restore) Run(ctx context.Context, removed []Item) (Result, error) {
	prev := map[Key]Item{}
	for _, it := range r.Previous {
		prev[it.Key()] = it
	}
	sources := map[string]*restoring{}
	selected := map[Key]bool{}
	principals := map[string]bool{}
	var entries []Entry
	pending := 0
	for _, it := range removed {
		k := it.Key()
		if selected[k] {
			continue
		}
		selected[k] = true
		src := sources[it.Source]
		if src == nil {
			src = &restoring{name: it.Source, restorer: r.Restorers[it.Source], runID: r.RunID,
				held: map[string][]Assignment{}, references: map[Key]string{}}
			sources[it.Source] = src
		}
		src.references[k] = it.Reference
		p, ok := prev[k]
		if !ok || !p.State.Done() {
			// What an earlier restore finished is not listed: the Runner
			// plans again whatever a listing returns, and keeps the
			// earlier row of what it does not.
			src.held[it.PrincipalID] = append(src.held[it.PrincipalID], Assignment{
				Source: it.Source, Kind: it.Kind, ID: it.AssignmentID, PrincipalID: it.PrincipalID,
				RoleDefinitionID: it.RoleDefinitionID, RoleName: it.RoleName, Scope: it.Scope, Raw: it.Raw,
			})
			pending++
		}
		if !principals[it.PrincipalID] {
			principals[it.PrincipalID] = true
			entries = append(entries, Entry{Line: it.Line, PrincipalID: it.PrincipalID, UPN: it.UPN, Reference: it.Reference})
		}
	}

	guard := ""
	if pending > r.MaxRestorations {
		guard = fmt.Sprintf("the restore holds %d restorations, more than --max-removals %d", pending, r.MaxRestorations)
		if r.Log != nil {
			r.Log.Warn("guard stopped the restore before any change", zap.String("guard", guard))
		}
	}
	runner := &Runner{
		Log:           r.Log,
		Recorder:      r.Recorder,
		Now:           r.Now,
		Concurrency:   r.Concurrency,
		MaxRemovals:   math.MaxInt, // the guard above counts restorations
		DryRun:        r.DryRun || guard != "",
		Previous:      notListedAgain(r.Previous, selected, principals),
		Grace:         r.Grace,
		ProgressEvery: r.ProgressEvery,
		RunID:         r.RunID,
		Observer:      r.Observer,
	}
	for _, name := range slices.Sorted(maps.Keys(sources)) {
		runner.Sources = append(runner.Sources, sources[name])
	}
	res, err := runner.Run(ctx, entries)
	res.Guard = guard
	return res, err
}

// notListedAgain is what the Runner of a restore is given of the previous
// restore's rows: a row of a principal restored now that the run no longer
// reports removed is not listed (not-listed: what is done is kept, the
// rest dropped) before the Runner sees it, which would read it as a
// removal that went missing. An unconfirmed row the restore lists again is
// the Runner's (unconfirmed-found-present).
func notListedAgain(previous []Item, selected map[Key]bool, principals map[string]bool) []Item {
	var out []Item
	for _, it := range previous {
		if !selected[it.Key()] && principals[it.PrincipalID] {
			if err := it.Step(NotListed, nil); err != nil || it.State == noRow {
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// restoring is one source of a restore, as the Runner sees it: its Find
// lists what the run removed, its Remove re-creates.
type restoring struct {
	name     string
	restorer Restorer // nil: the source cannot restore
	runID    string
	// held lists the run's removals by principal id; references are by
	// item key.
	held       map[string][]Assignment
	references map[Key]string
}

var _ Source = (*restoring)(nil)

func (s *restoring) Name() string { return s.name }

// Find implements Source with the run's removals: it sends nothing.
func (s *restoring) Find(_ context.Context, principals []Principal) ([]Assignment, error) {
	var out []Assignment
	for _, p := range principals {
		out = append(out, s.held[p.ID]...)
	}
	return out, nil
}

// Remove implements Source by re-creating the assignment. (An assignment
// already present that an earlier restore started to re-create without
// recording an outcome is that restore's work: the fate table's
// unconfirmed-found-present reports it restored.)
func (s *restoring) Remove(ctx context.Context, a Assignment) (Outcome, error) {
	if s.restorer == nil {
		return Outcome{}, fmt.Errorf("source %q cannot restore", s.name)
	}
	k := Item{PrincipalID: a.PrincipalID, Source: a.Source, AssignmentID: a.ID}.Key()
	a.Justification = s.justification(s.references[k])
	return s.restorer.Restore(ctx, a)
}

// justification names the restore and the input's reference.
func (s *restoring) justification(reference string) string {
	return justification("offboard restore "+s.runID, reference)
}

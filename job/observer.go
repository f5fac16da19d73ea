package job

// The phases of a run an Observer is told of, in the order they run.
const (
	PhaseResolving = "resolving" // user principal names to object ids
	PhaseListing   = "listing"   // what each source holds for each principal
	PhaseRemoving  = "removing"  // the plan's removals (a restore's re-creations)
)

// Observer is told how a run goes while it goes, for a person watching
// it (the terminal display); the log says the same for machines. Its
// methods are called from the run's goroutines, concurrently, and must
// return quickly.
type Observer interface {
	// Phase tells that a phase began with total units of work (UPNs to
	// resolve, listing requests, removals). done says how many are
	// finished so far and may be called from any goroutine until end
	// returns; the run calls end when the phase is over, finished or cut
	// short.
	Phase(name string, total int, done func() int) (end func())
	// Item tells of a row as it reaches a state of note: a failed or
	// invalid row when the run finds it, and every removal's outcome when
	// the journal holds it. A row is the work of the phase last begun
	// (a failed resolution's row may come just after its phase ended,
	// before the next begins; a failed listing's comes while the listing
	// phase goes, as its listing is merged); rows told before any phase
	// (invalid input lines) are nobody's.
	Item(it Item)
}

// observePhase tells the Observer, if any, that a phase began, and
// returns what ends it.
func (r *Runner) observePhase(name string, total int, done func() int) (end func()) {
	if r.Observer == nil {
		return func() {}
	}
	return r.Observer.Phase(name, total, done)
}

// observeItem tells the Observer, if any, of a row of note.
func (r *Runner) observeItem(it Item) {
	if r.Observer != nil {
		r.Observer.Item(it)
	}
}

// phaseOf names the phase of a progress line's event.
func phaseOf(event string) string {
	if event == "listing progress" {
		return PhaseListing
	}
	return PhaseRemoving
}

package job

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// Interrupted is the log line of a run interrupted by a signal: no new
// work starts, the requests in flight get the grace to finish.
const Interrupted = "interrupted: no new work starts; the requests in flight get the grace to finish, or are cut off at a second signal"

// CutOff is the log line of a removal the interruption cut off in
// flight: it stays planned, and the rerun finds out.
const CutOff = "a removal was cut off; its outcome is unknown until the rerun"

type stopNowKey struct{}

// WithStopNow returns ctx carrying now: when ctx is done (a signal) and
// now is closed after (a second signal), a run cuts its requests in
// flight off at once rather than at the end of its grace.
func WithStopNow(ctx context.Context, now <-chan struct{}) context.Context {
	return context.WithValue(ctx, stopNowKey{}, now)
}

// stopNow is ctx's WithStopNow channel; nil (never ready) when none.
func stopNow(ctx context.Context) <-chan struct{} {
	now, _ := ctx.Value(stopNowKey{}).(<-chan struct{})
	return now
}

// Noter is an Observer that is also told, in a sentence for a person,
// what the run is doing that no bar shows.
type Noter interface {
	Note(msg string)
}

// interrupted logs and tells the Observer that a signal stopped the run.
func (r *Runner) interrupted() {
	r.Log.Warn(Interrupted, zap.Duration("grace", r.Grace))
	if n, ok := r.Observer.(Noter); ok {
		n.Note(fmt.Sprintf("interrupted: finishing in-flight requests (grace %s); Ctrl-C again to stop now", r.Grace))
	}
}

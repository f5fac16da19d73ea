package job

import (
	"context"
	"sync/atomic"
)

type attemptsKey struct{}

// attempts is what the transport tells the runner about the requests it
// sent for one removal.
type attempts struct {
	n      atomic.Int64
	resent atomic.Bool
}

// WithAttempts returns a context that counts the requests sent on its
// behalf, retries included, and the counter.
func WithAttempts(ctx context.Context) (context.Context, *atomic.Int64) {
	a := new(attempts)
	return context.WithValue(ctx, attemptsKey{}, a), &a.n
}

// CountAttempt adds one to the context's counter, if it has one. The
// transport calls it for every request it sends.
func CountAttempt(ctx context.Context) {
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		a.n.Add(1)
	}
}

// ResentUnanswered notes that a write is being sent again after an attempt
// whose answer was lost (a network error, an answer cut off, a 5xx that is
// not throttling): the service may have acted on that attempt.
func ResentUnanswered(ctx context.Context) {
	if a, ok := ctx.Value(attemptsKey{}).(*attempts); ok {
		a.resent.Store(true)
	}
}

// WasResentUnanswered reports whether ResentUnanswered was called for ctx.
func WasResentUnanswered(ctx context.Context) bool {
	a, ok := ctx.Value(attemptsKey{}).(*attempts)
	return ok && a.resent.Load()
}

package job

import (
	"context"
	"sync/atomic"
)

type attemptsKey struct{}

// WithAttempts returns a context that counts the requests sent on its
// behalf, retries included, and the counter.
func WithAttempts(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, attemptsKey{}, n), n
}

// CountAttempt adds one to the context's counter, if it has one. The
// transport calls it for every request it sends.
func CountAttempt(ctx context.Context) {
	if n, ok := ctx.Value(attemptsKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

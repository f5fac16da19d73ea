package job

import (
	"context"
	"errors"
)

// ErrUnauthorized is what a 401 from a service is (errors.Is): the
// service refused the job's token. Nothing the job does next can succeed
// with that identity, so the run stops at once (Runner.Run) rather than
// fail every row, and the command exits 2.
var ErrUnauthorized = errors.New("the service refused the token (401)")

// UnauthorizedStop is the advice a run stopped by a 401 ends with.
const UnauthorizedStop = "the service refused the token (401): fix the identity and rerun"

// unauthorizedKey carries the hook the transport calls on a 401.
type unauthorizedKey struct{}

// WithUnauthorized returns ctx carrying f, which Unauthorized calls.
func WithUnauthorized(ctx context.Context, f func(endpoint string)) context.Context {
	return context.WithValue(ctx, unauthorizedKey{}, f)
}

// Unauthorized tells the run ctx belongs to, if any, that endpoint
// answered 401. The transport calls it for every 401 it gets.
func Unauthorized(ctx context.Context, endpoint string) {
	if f, ok := ctx.Value(unauthorizedKey{}).(func(string)); ok {
		f(endpoint)
	}
}

// unauthorizedWhere names where a 401 came from when only its error is
// known: the error's text, which names the service's answer.
func unauthorizedWhere(err error) string {
	return "the service's answer: " + err.Error()
}

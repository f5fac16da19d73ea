package job

import (
	"errors"
	"time"
)

// ErrBeyondDeadline is returned instead of waiting when a wait a service
// asked for (Retry-After, or a gate a throttled answer closed) would end
// after the run's deadline: the request is not sent, and its row fails at
// once with a detail that says so, rather than sleeping past the deadline.
var ErrBeyondDeadline = errors.New("the service asked for a wait beyond the run's deadline")

// HeldUntil is when the gate in front of the pace opens: before it, no
// request may be sent (zero or past: open).
func (p *Pace) HeldUntil() time.Time { return p.gate.Until() }

package job

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log messages of a row: a removal's outcome as it arrives, and every
// other row of the report (invalid, skipped, deferred, no-assignments,
// planned, failed listings, rows carried from an earlier run) when the run
// ends. The two carry the same fields, so that the log holds exactly one
// line per report row.
const (
	LogOutcome = "outcome"
	LogRow     = "row"
)

// rowLog remembers the rows (the plan's items) whose outcome line was
// written, so that the lines written at the end leave them out. By
// pointer: a Key is seven times the size.
type rowLog struct {
	mu     sync.Mutex
	logged map[*Item]struct{}
}

func (l *rowLog) mark(it *Item) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.logged == nil {
		l.logged = map[*Item]struct{}{}
	}
	l.logged[it] = struct{}{}
}

func (l *rowLog) has(it *Item) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.logged[it]
	return ok
}

// logRow writes a row's line: failed and invalid rows at warn, the rest at
// info. latency is 0 for a row no request was sent for.
func (r *Runner) logRow(msg string, it Item, latency time.Duration) {
	level := zapcore.InfoLevel
	if it.State == Failed || it.State == Invalid {
		level = zapcore.WarnLevel
	}
	r.Log.Log(level, msg,
		zap.String("principal_id", it.PrincipalID), zap.String("source", it.Source), zap.String("kind", it.Kind),
		zap.String("assignment_id", it.AssignmentID), zap.String("role_name", it.RoleName), zap.String("status", string(it.State)),
		zap.Int("attempts", it.Attempts), zap.Int64("latency_ms", latency.Milliseconds()),
		zap.String("detail", it.Detail))
}

// rows ends the run's use of the plan: it writes the line of every row
// whose outcome line was not written while the run went, and hands the
// rows over in report order.
func (r *Runner) rows(p *plan, logged *rowLog) []Item {
	list := p.list()
	for _, it := range list {
		if !logged.has(it) {
			r.logRow(LogRow, *it, 0)
		}
	}
	return p.handOver(list)
}

package console

import (
	"go.uber.org/zap/zapcore"

	"github.com/offboard/offboard/job"
)

// shownByDisplay are the log lines the display shows in its own way: it
// draws progress and outcomes (a failed row is printed once, by the
// display, not again by the warning that led to it), and ends with a
// table; the lines that open a command say what the table says at the
// end. Every other warning and error still comes as a log line.
var shownByDisplay = map[string]bool{
	job.LogOutcome: true, job.LogRow: true, "progress": true, "listing progress": true,
	"run starting": true, "watch starting": true, "restore starting": true,
	"run finished": true, "restore finished": true, "watch finished": true, "verdict": true,
	"resolving a line's keys failed": true, "listing failed": true, job.UnexpectedID: true,
	job.Interrupted: true, job.CutOff: true,
}

// Quiet wraps a logger's core to leave out the log lines the display
// shows in its own way.
func Quiet(core zapcore.Core) zapcore.Core { return quietCore{core} }

type quietCore struct{ zapcore.Core }

func (c quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if shownByDisplay[e.Message] {
		return ce
	}
	return c.Core.Check(e, ce)
}

func (c quietCore) With(fields []zapcore.Field) zapcore.Core { return quietCore{c.Core.With(fields)} }

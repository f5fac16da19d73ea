package console

import "go.uber.org/zap/zapcore"

// shownByDisplay are the log lines the display shows in its own way: it
// draws progress and outcomes, and ends with a table.
var shownByDisplay = map[string]bool{
	"outcome": true, "progress": true, "listing progress": true,
	"run finished": true, "restore finished": true,
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

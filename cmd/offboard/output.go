package main

import (
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newOutput settles the log format (console at a terminal, else json,
// unless --log-format said) and builds the logger, and the display when a
// person is watching. restore labels the last phase "restoring".
func newOutput(c *config, w io.Writer, restore bool) (*zap.Logger, *display) {
	tty := isTerminal(w)
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if tty {
			c.LogFormat = "console"
		}
	}
	if c.LogFormat != "console" || !tty {
		return newLogger(c.LogFormat, w), nil
	}
	d := &display{out: w, verbose: c.Verbose, restore: restore}
	log := newLogger(c.LogFormat, d)
	return log.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core { return quietCore{core} })), d
}

// shownByDisplay are the log lines the display shows in its own way: it
// draws progress and outcomes, and ends with a table.
var shownByDisplay = map[string]bool{
	"outcome": true, "progress": true, "listing progress": true,
	"run finished": true, "restore finished": true,
}

// quietCore leaves out the log lines the display shows in its own way.
type quietCore struct{ zapcore.Core }

func (c quietCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if shownByDisplay[e.Message] {
		return ce
	}
	return c.Core.Check(e, ce)
}

func (c quietCore) With(fields []zapcore.Field) zapcore.Core { return quietCore{c.Core.With(fields)} }

// newLogger builds the run's one logger, writing to w.
func newLogger(format string, w io.Writer) *zap.Logger {
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.InfoLevel))
}

package main

import (
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/console"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newOutput settles the log format (console at a terminal, else json,
// unless --log-format said) and builds the logger, and the display when a
// person is watching. restore labels the last phase "restoring".
func newOutput(c *app.Config, w io.Writer, restore bool) (*zap.Logger, *console.Display) {
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
	d := console.New(w, c.Verbose, restore)
	log := newLogger(c.LogFormat, d)
	return log.WithOptions(zap.WrapCore(console.Quiet)), d
}

// newLogger builds the run's one logger, writing to w.
func newLogger(format string, w io.Writer) *zap.Logger {
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = console.CleanEncoder(zapcore.NewConsoleEncoder(ec))
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.InfoLevel))
}

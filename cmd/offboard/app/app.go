// Package app runs offboard's commands: run (and plan, on one input or a
// drop folder), restore, watch and check. Each takes its configuration,
// with its locations already parsed, and Deps (its streams, its logger,
// and how its services are built, which cmd/offboard wires), and returns
// the process's exit code. It is the one place that composes the job,
// its adapters and report into a command.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/preflight"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// Exit codes of CONTRACT.md.
const (
	ExitOK          = 0
	ExitRowsFailed  = 1
	ExitUsage       = 2
	ExitGuard       = 3
	ExitInterrupted = 4
)

// Deps is what a command is handed besides its configuration.
type Deps struct {
	Stdin  io.Reader
	Stdout io.Writer
	// Env looks up an environment variable.
	Env func(string) (string, bool)
	Log *zap.Logger
	// Display is the terminal's live view; nil when nobody watches.
	Display *console.Display
	// Services builds the sources c selects, and the directory and the
	// admins, over transports that authenticate with creds; gates, when
	// not nil, is told of each throttled answer and each wait.
	Services func(c Config, creds transport.Credentials, log *zap.Logger, gates GateWatcher) (Services, error)
	// AzureChecker builds what `check` reads of the identity's rights at
	// the Azure scopes.
	AzureChecker func(c Config, creds transport.Credentials, log *zap.Logger) (preflight.AzureChecker, error)
	// Reach, when set, checks that the service endpoints a run calls can
	// be reached at all (Unreachable), before the run takes its report
	// location; nil: not checked (services handed in by a test).
	Reach func(ctx context.Context, endpoints []string) error
	// AfterCopy, when set, is called between the copy and the delete of a
	// move to --processed (a test kills the process there).
	AfterCopy func()
}

// Services are what a command talks to.
type Services struct {
	Sources   []job.Source
	Directory job.Directory
	Admins    job.Admins
}

// storage reaches the locations of a command with its credentials.
func (d Deps) storage(creds transport.Credentials, log *zap.Logger) *location.Storage {
	cs, _ := d.Env("AZURE_STORAGE_CONNECTION_STRING")
	return &location.Storage{ConnectionString: cs, Token: creds.StorageCredential(), StaticToken: creds.Static(),
		Stdin: d.Stdin, Log: log, AfterCopy: d.AfterCopy}
}

// observer is the display as the runner's observer, or nil.
func (d Deps) observer() job.Observer {
	if d.Display == nil {
		return nil
	}
	return d.Display
}

// GateWatcher is told what the services' gates do (the terminal display):
// each throttled answer, and each wait behind a gate, by service ("Graph",
// "ARM"): until when, and whether the service asked for it (throttled) or
// the pace keeps to its budget.
type GateWatcher interface {
	OnThrottled()
	Held(service string, until time.Time, throttled bool)
}

var _ GateWatcher = (*console.Display)(nil)

// gates is the display as the services' GateWatcher, or nil.
func (d Deps) gates() GateWatcher {
	if d.Display == nil {
		return nil
	}
	return d.Display
}

// keyFor loads the journal key for a command working in rep and reading
// inputs, and logs where it came from; the error is logged.
func (d Deps) keyFor(log *zap.Logger, rep location.Location, inputs ...location.Location) (*report.Key, error) {
	jk, err := location.LoadKey(d.Env, rep, inputs...)
	if err != nil {
		log.Error("the journal key is not usable: records cannot be authenticated", zap.Error(err))
		return nil, err
	}
	if jk.Created {
		log.Warn("created the journal key file: keep it (or set OFFBOARD_JOURNAL_KEY); without it, restore refuses the records written now",
			zap.String("key_file", jk.Source))
	}
	return jk.Key, nil
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// pass is what the log says of a run, a watch or a restore when its
// --timeout came (reached; nothing, when empty) or its report location
// failed (stopped).
type pass struct {
	reached, stopped string
}

// runPass does run under the --timeout deadline counted from started,
// when there is one: the runner starts no work after it and cuts off what
// is in flight, and the report is still written. It returns the result and
// the exit code; ok is false when nothing trustworthy is left to report
// (the journal keeps what happened).
func runPass(ctx context.Context, log *zap.Logger, started time.Time, timeout time.Duration, p pass,
	run func(context.Context) (job.Result, error)) (res job.Result, code int, ok bool) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, started.Add(timeout))
		defer cancel()
	}
	res, err := run(ctx)
	if res.DeadlineReached && p.reached != "" {
		log.Warn(p.reached, zap.Duration("timeout", timeout))
	}
	code = res.ExitCode()
	if res.Unauthorized != "" {
		log.Error(res.Unauthorized + "; rows not yet attempted stay as they were: rerun with the same input and report directory")
	}
	if err != nil {
		log.Error(p.stopped, zap.Error(err))
		code = max(code, ExitRowsFailed)
	}
	return res, code, err == nil || res.Items != nil
}

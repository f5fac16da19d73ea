// Command offboard removes the access of principals who leave an
// organisation: every role they hold in Microsoft Entra ID and Azure. See
// README.md and ../shared/CONTRACT.md for the commands, flags and report.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/job"
)

// Stamped by the build (-ldflags "-X main.version=... -X main.commit=...").
var (
	version = "dev"
	commit  = ""
)

// Exit codes of CONTRACT.md, those the commands themselves end with.
const (
	exitOK    = app.ExitOK
	exitUsage = app.ExitUsage
)

// stdio is where a command reads and writes; tests give their own.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	// env looks up an environment variable.
	env func(string) (string, bool)
	// environ lists the environment (NAME=value), to warn of OFFBOARD_*
	// variables the job does not know; nil: not judged.
	environ func() []string
}

// gcPercent is the collector's target when GOGC is not set. The job's heap
// is mostly what it keeps for the whole run (the plan, each assignment as
// listed), so Go's default of 100 % grows the process to twice that for
// garbage it hardly makes: 50 % took the peak RSS of 100,000 removals from
// 183 MB to 144 MB for 10 % more CPU (BENCHMARKS.md, footprint).
const gcPercent = 50

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, env: os.LookupEnv, environ: os.Environ})
	stop()
	os.Exit(code)
}

// signalContext is done at the first SIGINT or SIGTERM: no new work
// starts, and the requests in flight get --grace to finish. The second
// cuts them off at once (job.WithStopNow); the report is written either
// way. stop stops listening.
func signalContext(parent context.Context) (context.Context, func()) {
	now := make(chan struct{})
	ctx, cancel := context.WithCancel(job.WithStopNow(parent, now))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(now)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

func versionLine() string {
	v, c := version, commit
	if info, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				c = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("offboard %s commit %s %s %s/%s", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

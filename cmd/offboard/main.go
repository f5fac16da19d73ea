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

const usage = `offboard removes the roles of departing principals from Entra ID and Azure.

Usage:
  offboard run --input FILE --report DIR [flags]   the job
  offboard plan --input FILE --report DIR [flags]  the same as run --dry-run
  offboard check [--input FILE] [--report DIR] [flags]  read-only preflight: permissions, licences, input, report
  offboard restore --report DIR (--principal P | --all) [flags]  put back what the run in DIR removed
  offboard watch --reports ROOT [flags]            re-check those offboarded within --within (90d): remove what they hold again, attest
  offboard demo [--dir DIR] [--tenants 2]          the whole job against a simulated tenant (or two)
  offboard simulate [--listen ADDR] [flags]        serve a simulated tenant over HTTP
  offboard version                                 version, commit, Go version
  offboard completion bash|zsh|fish|powershell     a shell completion script

'offboard COMMAND --help' lists a command's flags.
`

// run dispatches a command line and returns the process exit code.
func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 {
		fmt.Fprint(io.err, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runJob(ctx, args[1:], io, false)
	case "plan":
		return runJob(ctx, args[1:], io, true)
	case "check":
		return runCheck(ctx, args[1:], io)
	case "restore":
		return runRestore(ctx, args[1:], io)
	case "watch":
		return runWatch(ctx, args[1:], io)
	case "demo":
		return runDemo(ctx, args[1:], io)
	case "simulate":
		return runSimulate(ctx, args[1:], io)
	case "version":
		fmt.Fprintln(io.out, versionLine())
		return exitOK
	case "completion":
		return runCompletion(ctx, args[1:], io)
	case "help", "-h", "--help":
		fmt.Fprint(io.out, usage)
		return exitOK
	}
	fmt.Fprintf(io.err, "offboard: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
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

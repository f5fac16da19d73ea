package app

import (
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// reportWriter is a report location a run or a restore ends with.
type reportWriter interface {
	WriteReport(items []job.Item) error
	WriteSummary(s report.Summary) error
	WriteSummaryHTML(p report.Page) error
}

// ending is what the end of a run or a restore shows a person: the
// command that ran and how to run it again (summary.html, the terminal),
// and the terminal's display, if any.
type ending struct {
	command string
	rerun   string
	files   console.Files
	display *console.Display
	// run is what the page says of how the command ran.
	run report.RunContext
	// fields are added to the final log line (a watch's attestation).
	fields []zap.Field
}

// runContext is what a page says of a command run with c on input.
func runContext(c Config, input string) report.RunContext {
	return report.RunContext{SelfID: c.SelfID, Input: input, Sources: c.Sources, AzureScopes: c.AzureScopes}
}

// finish writes the report and the summary of a run or a restore that
// ended with code, counting states, then publish (when not nil), and logs
// event with the counts. It returns the exit code, at least 1 when the
// report could not be written.
func finish(log *zap.Logger, dir reportWriter, event string, states []job.State, res job.Result,
	summary report.Summary, code int, where location.Location, publish func() error, end ending) int {
	if end.display != nil {
		// The bars stay as last drawn; what follows goes below them.
		defer end.display.Stop()
	}
	if err := dir.WriteReport(res.Items); err != nil {
		log.Error("writing the report", zap.Error(err))
		return max(code, ExitRowsFailed)
	}
	counts := res.Counts()
	summary.FinishedAt, summary.ExitCode, summary.Guard = time.Now().UTC(), code, res.Guard
	summary.Stopped = res.Unauthorized
	summary.Unavailable = res.Unavailable
	for _, h := range res.HeldBack {
		summary.HeldBack = append(summary.HeldBack, report.HeldBack{PrincipalID: h.PrincipalID, UPN: h.UPN, Planned: h.Planned, MaxPerPrincipal: h.Cap})
	}
	summary.Counts = map[string]int{}
	fields := []zap.Field{zap.Int("exit_code", code)}
	for _, s := range states {
		summary.Counts[string(s)] = counts[s]
		fields = append(fields, zap.Int(string(s), counts[s]))
	}
	if err := dir.WriteSummary(summary); err != nil {
		log.Error("writing the summary", zap.Error(err))
		return max(code, ExitRowsFailed)
	}
	page := report.Page{Summary: summary, Command: end.command, Location: where.String(), Rerun: end.rerun, Items: res.Items, Run: end.run}
	if err := dir.WriteSummaryHTML(page); err != nil {
		log.Error("writing the summary page", zap.Error(err))
		return max(code, ExitRowsFailed)
	}
	if publish != nil {
		if err := publish(); err != nil {
			log.Error("uploading the report", zap.Error(err))
			return max(code, ExitRowsFailed)
		}
	}
	if res.Guard != "" {
		fields = append(fields, zap.String("guard", res.Guard))
	}
	if res.Unauthorized != "" {
		fields = append(fields, zap.String("stopped", res.Unauthorized))
	}
	if len(res.HeldBack) > 0 {
		fields = append(fields, zap.Int("held_back", len(res.HeldBack)))
	}
	fields = append(fields, zap.String("report", where.String()))
	fields = append(fields, end.fields...)
	fields = append(fields, zap.Duration("elapsed", time.Since(summary.StartedAt).Round(time.Millisecond)))
	// A run that did not end well is an error in the log, so that an
	// alert on error lines fires for it.
	if code != ExitOK {
		log.Error(event, fields...)
	} else {
		log.Info(event, fields...)
	}
	if end.display != nil {
		end.display.Stop()
		files := end.files
		files.At = where.At
		console.PrintSummary(end.display, end.command, states, res, summary, where.String(), files, end.rerun)
	}
	return code
}

// opened logs what opening a report location said: why it cannot be used
// (ok is false), or its warnings. closeDir closes it and logs a failure.
func opened(log *zap.Logger, where location.Location, dir *location.Report, err error) (closeDir func(), ok bool) {
	if err != nil {
		log.Error("the report directory cannot be used", zap.String("report", where.String()), zap.Error(err))
		return nil, false
	}
	for _, w := range dir.Warnings() {
		log.Warn(w)
	}
	return func() {
		if err := dir.Close(); err != nil {
			log.Error("closing the report directory", zap.Error(err))
		}
	}, true
}

// rerunCommand is the command line that runs command again on the input
// into the report, with the flags that changed.
func rerunCommand(command, input, reportLoc string, flags []string) string {
	parts := []string{"offboard", command}
	if input != "" {
		parts = append(parts, "--input", shellQuote(input))
	}
	parts = append(parts, "--report", shellQuote(reportLoc))
	for _, f := range flags {
		parts = append(parts, shellQuote(f))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that are safe as they are.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@%+", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

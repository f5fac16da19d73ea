package app

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// RestoreConfig is what `restore` needs: the flags it shares with `run`,
// and which principals to restore.
type RestoreConfig struct {
	Config
	// Principals are object ids or UPNs; empty means every principal,
	// which only All (--all) may ask for.
	Principals []string
	All        bool
	// TrustUnsigned reads a run's records written before records were
	// authenticated.
	TrustUnsigned bool
}

// Restore is `offboard restore`: it re-creates what the run in the report
// location removed and writes restore.csv next to the run's report.
func Restore(ctx context.Context, c RestoreConfig, d Deps) int {
	started := time.Now().UTC()
	runID := newRunID()
	log := d.Log.With(zap.String("run_id", runID))

	key, err := d.keyFor(log, c.ReportAt)
	if err != nil {
		return ExitUsage
	}
	selected, ok := readRemovals(ctx, log, c, d, key)
	if !ok {
		return ExitUsage
	}
	c.Sources = sourcesOf(selected)
	creds, err := d.credentials(c.Config)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return ExitUsage
	}
	// A report written for another tenant is refused when the report
	// location is opened (report.ErrOtherTenant), before any change.
	tenant, ok := tenantOf(ctx, log, c.Config, creds)
	if !ok {
		return ExitUsage
	}

	// A service that cannot be reached fails now, in seconds, before the
	// report location is taken.
	if code, ok := d.reachable(ctx, log, c.EndpointsInUse()); !ok {
		return code
	}
	storage := d.storage(creds, log)
	dir, err := storage.OpenRestore(ctx, c.ReportAt, report.RunInfo{ID: runID, StartedAt: started, DryRun: c.DryRun,
		Key: key, TrustUnsigned: c.TrustUnsigned, TenantID: tenant})
	closeDir, ok := opened(log, c.ReportAt, dir, err)
	if !ok {
		return ExitUsage
	}
	defer closeDir()
	selected, _ = job.SelectRemoved(dir.RunItems(), c.Principals)
	warnUnconfirmed(log, dir.RunItems(), c.Principals)
	if c.TrustUnsigned {
		warnUnsigned(log, c.Report, dir, selected)
	}

	svc, err := d.Services(c.Config, creds, log, d.gates())
	if err != nil {
		log.Error("setting up the services", zap.Error(err))
		return ExitUsage
	}
	restore := &job.Restore{
		Restorers:       restorersOf(svc.Sources),
		Recorder:        dir,
		Log:             log,
		Concurrency:     c.Concurrency,
		MaxRestorations: c.MaxRemovals,
		DryRun:          c.DryRun,
		Previous:        dir.Previous(),
		Grace:           c.Grace,
		RunID:           runID,
		Observer:        d.observer(),
	}
	log.Info("restore starting", zap.String("report", c.Report), zap.Strings("principals", c.Principals),
		zap.Int("removed", len(selected)), zap.Strings("sources", c.Sources), zap.Bool("dry_run", c.DryRun))
	res, code, ok := runPass(ctx, log, started, c.Timeout, pass{
		reached: "the restore reached its --timeout: rows not started stay planned; rerun the restore to finish",
		stopped: "the restore stopped",
	}, func(ctx context.Context) (job.Result, error) { return restore.Run(ctx, selected) })
	if !ok {
		return code
	}
	summary := report.Summary{RunID: runID, InputSHA256: dir.InputSHA256(), DryRun: c.DryRun, StartedAt: started, TenantID: dir.TenantID(),
		TrustUnsigned: c.TrustUnsigned, UnsignedLines: dir.UnsignedLines()}
	end := restoreEnding(c, d)
	return finish(log, dir, "restore finished", job.RestoreStates, res, summary, code, c.ReportAt, func() error { return dir.Publish(ctx) }, end)
}

// restorersOf is the sources that can put back what they removed, by
// name.
func restorersOf(sources []job.Source) map[string]job.Restorer {
	restorers := map[string]job.Restorer{}
	for _, s := range sources {
		if r, ok := s.(job.Restorer); ok {
			restorers[s.Name()] = r
		}
	}
	return restorers
}

// readRemovals reads the run's removals of the principals restore is
// given, once before anything happens, so that a wrong directory or
// principal changes nothing (they are read again under the lock). Only
// records the job wrote are acted on: a forged or altered line stops the
// restore here. A local report is read with no credential; a blob report
// with the job's (the endpoints the restore calls are checked later, once
// its sources are known).
func readRemovals(ctx context.Context, log *zap.Logger, c RestoreConfig, d Deps, key *report.Key) ([]job.Item, bool) {
	storage := &location.Storage{Log: log}
	if c.ReportAt.IsBlob() {
		creds, err := d.credentials(c.Config)
		if err != nil {
			log.Error("authentication is not configured", zap.Error(err))
			return nil, false
		}
		storage = d.storage(creds, log)
	}
	items, err := storage.ReadRunItems(ctx, c.ReportAt, key, c.TrustUnsigned)
	if !readable(log, c.Report, err) {
		return nil, false
	}
	selected, unknown := job.SelectRemoved(items, c.Principals)
	if len(unknown) > 0 {
		log.Error("the run's report names no such principal (give an object id or the UPN the report records)",
			zap.Strings("principals", unknown), zap.String("report", c.Report))
		return nil, false
	}
	return selected, true
}

// warnUnconfirmed names the removals the run started and never
// confirmed, which the restore leaves alone (the first 20).
func warnUnconfirmed(log *zap.Logger, items []job.Item, principals []string) {
	left := job.SelectUnconfirmed(items, principals)
	if len(left) == 0 {
		return
	}
	var ids []string
	for _, it := range left[:min(len(left), 20)] {
		ids = append(ids, it.AssignmentID)
	}
	log.Warn("removals the run started and never confirmed are not restored: rerun the run into the same report directory "+
		"(it confirms them, or finds them held), then restore again",
		zap.Int("unconfirmed", len(left)), zap.Strings("assignment_ids", ids))
}

// restoreEnding is how a restore ends: its files (a dry run's beside a
// real one's) and the command that runs it again, which keeps what the
// restore did: which principals (or --all), a dry run, and every other
// flag not at its default.
func restoreEnding(c RestoreConfig, d Deps) ending {
	flags := c.Changed
	end := ending{command: "restore", files: console.RestoreFiles, display: d.Display, run: runContext(c.Config, "")}
	if c.DryRun {
		flags = append([]string{"--dry-run"}, flags...)
		end.files = console.RestorePlanFiles
	}
	end.rerun = rerunCommand("restore", "", c.Report, flags)
	return end
}

// warnUnsigned names, for --trust-unsigned, every journal line nobody
// vouches for that the restore acts on, and how many were read.
func warnUnsigned(log *zap.Logger, where string, dir *location.Report, selected []job.Item) {
	for _, it := range selected {
		if n := dir.UnsignedLine(it); n != 0 {
			log.Warn("restoring from a journal line without a MAC (--trust-unsigned)", zap.String("report", where),
				zap.String("file", "journal.jsonl"), zap.Int("line", n),
				zap.String("principal_id", it.PrincipalID), zap.String("source", it.Source), zap.String("assignment_id", it.AssignmentID))
		}
	}
	if n := dir.UnsignedLines(); n > 0 {
		log.Warn("--trust-unsigned: journal lines without a MAC were read; restore-summary.json records how many", zap.Int("unsigned_lines", n))
	}
}

// readable logs why the run's journal in the report location cannot be
// restored from, when err says so.
func readable(log *zap.Logger, where string, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, fs.ErrNotExist):
		log.Error("nothing to restore: the report directory holds no run journal (journal.jsonl)", zap.String("report", where))
	case errors.Is(err, report.ErrTampered):
		log.Error("the run's journal holds a record the job did not write (forged, altered, or written under another key), "+
			"or is not the journal its report directory's summary vouches for (copied from another directory, or cut short): nothing is restored",
			zap.String("report", where), zap.Error(err))
	case errors.Is(err, report.ErrUnsigned):
		log.Error("the run's journal was written before records were authenticated: check that nobody else wrote it, then rerun with --trust-unsigned",
			zap.String("report", where), zap.Error(err))
	default:
		log.Error("the run's journal cannot be read", zap.String("report", where), zap.Error(err))
	}
	return false
}

// sourcesOf lists the sources of the items, in the order of KnownSources.
func sourcesOf(items []job.Item) []string {
	var out []string
	for _, s := range KnownSources() {
		if slices.ContainsFunc(items, func(it job.Item) bool { return it.Source == s }) {
			out = append(out, s)
		}
	}
	return out
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// restoreConfig is what `restore` needs: the flags it shares with `run`,
// and which principals to restore.
type restoreConfig struct {
	config
	// Principals are object ids or UPNs; empty means every principal.
	Principals []string
	// TrustUnsigned reads a run's records written before records were
	// authenticated.
	TrustUnsigned bool
	// report is --report, parsed.
	report location.Location
}

// listFlag is a flag that may be repeated, each value a comma-separated
// list, so that OFFBOARD_PRINCIPAL can name several.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	items := splitList(v)
	if len(items) == 0 {
		return errors.New("empty list")
	}
	*l = append(*l, items...)
	return nil
}

// parseRestoreFlags reads the flags of `restore` from args, then fills
// every flag the command line did not set from its OFFBOARD_* variable.
func parseRestoreFlags(args []string, env func(string) (string, bool), out io.Writer) (restoreConfig, error) {
	var (
		c          restoreConfig
		principals listFlag
	)
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Report, "report", "", "the report location of the run to restore: a directory, or a Blob Storage folder (https://.../reports/{name}/) (required)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "plan only; send no write request")
	fs.Var(&principals, "principal", "object id or UPN (as the run's report records it) of a principal to restore; "+
		"repeat it or separate with commas (default: every principal the run removed something from)")
	fs.BoolVar(&c.TrustUnsigned, "trust-unsigned", false, "read a report written before records were authenticated "+
		"(its journal lines carry no MAC): only after checking that nobody else wrote it")
	c.serviceFlags(fs)
	fs.Lookup("max-removals").Usage = "guard: stop before any change when the restore holds more restorations"
	if err := parseWithEnv(fs, args, env); err != nil {
		return c, err
	}
	c.Changed = changedFlags(fs)
	c.Principals = principals
	var errs []error
	if c.Report == "" {
		errs = append(errs, errors.New("--report is required"))
	}
	if loc, err := location.Parse(c.Report); err != nil {
		errs = append(errs, fmt.Errorf("--report: %w", err))
	} else {
		c.report = loc
	}
	errs = append(errs, c.checkService()...)
	return c, errors.Join(errs...)
}

// runRestore is `offboard restore`: it re-creates what the run in --report
// removed and writes restore.csv next to the run's report.
func runRestore(ctx context.Context, args []string, sio stdio) int {
	c, err := parseRestoreFlags(args, sio.env, sio.err)
	if code, failed := flagsFailed(err, sio.err, "offboard"); failed {
		return code
	}
	log, disp := newOutput(&c.config, sio.err, true)
	defer func() { _ = log.Sync() }()
	defer disp.Stop() // what was written last is shown
	started := time.Now().UTC()
	runID := newRunID()
	log = log.With(zap.String("run_id", runID))

	key, err := keyFor(log, sio.env, c.report)
	if err != nil {
		return exitUsage
	}
	// Read once before anything happens, so that a wrong directory or
	// principal changes nothing, and again under the lock. Only records
	// the job wrote are acted on: a forged or altered line stops the
	// restore here.
	// A local report is read with no credential; a blob report with the
	// job's (the endpoints the restore calls are checked below, once its
	// sources are known).
	storage := &location.Storage{Log: log}
	if c.report.IsBlob() {
		creds, err := newCredentials(c.config, sio.env)
		if err != nil {
			log.Error("authentication is not configured", zap.Error(err))
			return exitUsage
		}
		storage = newStorage(sio, creds, log)
	}
	items, err := storage.ReadRunItems(ctx, c.report, key, c.TrustUnsigned)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Error("nothing to restore: the report directory holds no run journal (journal.jsonl)", zap.String("report", c.Report))
		return exitUsage
	case errors.Is(err, report.ErrTampered):
		log.Error("the run's journal holds a record the job did not write (forged, altered, or written under another key): nothing is restored",
			zap.String("report", c.Report), zap.Error(err))
		return exitUsage
	case errors.Is(err, report.ErrUnsigned):
		log.Error("the run's journal was written before records were authenticated: check that nobody else wrote it, then rerun with --trust-unsigned",
			zap.String("report", c.Report), zap.Error(err))
		return exitUsage
	case err != nil:
		log.Error("the run's journal cannot be read", zap.String("report", c.Report), zap.Error(err))
		return exitUsage
	}
	selected, unknown := job.SelectRemoved(items, c.Principals)
	if len(unknown) > 0 {
		log.Error("the run's report names no such principal (give an object id or the UPN the report records)",
			zap.Strings("principals", unknown), zap.String("report", c.Report))
		return exitUsage
	}
	c.Sources = sourcesOf(selected)
	creds, err := newCredentials(c.config, sio.env)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return exitUsage
	}

	storage = newStorage(sio, creds, log)
	dir, err := storage.OpenRestore(ctx, c.report, report.RunInfo{ID: runID, StartedAt: started, DryRun: c.DryRun,
		Key: key, TrustUnsigned: c.TrustUnsigned})
	closeDir, ok := opened(log, c.report, dir, err)
	if !ok {
		return exitUsage
	}
	defer closeDir()
	selected, _ = job.SelectRemoved(dir.RunItems(), c.Principals)

	j := &jobRun{cfg: c.config, log: log, io: sio, creds: creds, display: disp, key: key, report: c.report, storage: storage}
	sources, _, _, err := j.services(creds, creds.forAudience(c.GraphEndpoint))
	if err != nil {
		log.Error("setting up the services", zap.Error(err))
		return exitUsage
	}
	restorers := map[string]job.Restorer{}
	for _, s := range sources {
		if r, ok := s.(job.Restorer); ok {
			restorers[s.Name()] = r
		}
	}
	restore := &job.Restore{
		Restorers:       restorers,
		Recorder:        dir,
		Log:             log,
		Concurrency:     c.Concurrency,
		MaxRestorations: c.MaxRemovals,
		DryRun:          c.DryRun,
		Previous:        dir.Previous(),
		Grace:           c.Grace,
		RunID:           runID,
		Observer:        j.observer(),
	}
	log.Info("restore starting", zap.String("report", c.Report), zap.Strings("principals", c.Principals),
		zap.Int("removed", len(selected)), zap.Strings("sources", c.Sources), zap.Bool("dry_run", c.DryRun))
	runCtx, cancel := withTimeout(ctx, started, c.Timeout)
	defer cancel()
	res, runErr := restore.Run(runCtx, selected)
	if res.DeadlineReached {
		log.Warn("the restore reached its --timeout: rows not started stay planned; rerun the restore to finish",
			zap.Duration("timeout", c.Timeout))
	}
	code := res.ExitCode()
	if runErr != nil {
		log.Error("the restore stopped", zap.Error(runErr))
		code = max(code, exitRowsFailed)
		if res.Items == nil {
			return code
		}
	}
	summary := report.Summary{RunID: runID, InputSHA256: dir.InputSHA256(), DryRun: c.DryRun, StartedAt: started}
	end := ending{command: "restore", files: console.RestoreFiles, display: disp,
		rerun: rerunCommand("restore", "", c.Report, c.Changed)}
	return finish(log, dir, "restore finished", job.RestoreStates, res, summary, code, c.report, func() error { return dir.Publish(ctx) }, end)
}

// sourcesOf lists the sources of the items, in the order of knownSources.
func sourcesOf(items []job.Item) []string {
	var out []string
	for _, s := range knownSources {
		if slices.ContainsFunc(items, func(it job.Item) bool { return it.Source == s }) {
			out = append(out, s)
		}
	}
	return out
}

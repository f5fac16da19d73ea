package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/csvinput"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// runJob is `offboard run` (and `plan`, with dryRun).
func runJob(ctx context.Context, args []string, sio stdio, dryRun bool) int {
	c, err := parseRunFlags(args, sio.env, sio.err)
	if code, failed := flagsFailed(err, sio.err, "offboard"); failed {
		return code
	}
	c.DryRun = c.DryRun || dryRun
	log, disp := newOutput(&c, sio.err, false)
	defer func() { _ = log.Sync() }()
	defer disp.Stop() // what was written last is shown
	// A location with a query (a SAS URL) is refused here, before any log
	// line could repeat it; each is parsed here only.
	input, err := location.Parse(c.Input)
	var rep, processed location.Location
	if err == nil {
		rep, err = location.Parse(c.Report)
	}
	if err == nil {
		processed, err = location.Parse(c.Processed)
	}
	if err != nil {
		log.Error("the location cannot be used", zap.Error(err))
		return exitUsage
	}
	creds, err := newCredentials(c, sio.env)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return exitUsage
	}
	key, err := keyFor(log, sio.env, rep)
	if err != nil {
		return exitUsage
	}
	j := &jobRun{cfg: c, log: log, io: sio, creds: creds, display: disp, key: key, input: input, report: rep,
		processed: processed, storage: newStorage(sio, creds, log)}
	files, folder, err := j.storage.DropFolder(ctx, input)
	switch {
	case err != nil:
		log.Error("the drop folder cannot be listed", zap.Error(err))
		return exitUsage
	case !processed.Empty() && !folder:
		log.Error("--processed is for a drop folder: --input names a single file", zap.String("input", c.Input))
		return exitUsage
	case !processed.Empty() && processed.ProcessedProblem(input) != "":
		log.Error("the processed location cannot be used", zap.String("processed", c.Processed),
			zap.String("reason", processed.ProcessedProblem(input)))
		return exitUsage
	case folder:
		return j.runFolder(ctx, files)
	}
	return j.run(ctx)
}

// jobRun is one execution of the job, from input to exit code.
type jobRun struct {
	cfg   config
	log   *zap.Logger
	io    stdio
	creds credentials
	// display is the terminal's live view; nil when nobody watches.
	display *console.Display
	// key authenticates the report location's records.
	key *report.Key
	// input and report are --input and --report, parsed; processed is
	// --processed (empty: drop-folder files stay where they are).
	input, report, processed location.Location
	// storage reads and writes them.
	storage *location.Storage
}

// newStorage reaches the locations of a command with its credentials.
func newStorage(sio stdio, creds credentials, log *zap.Logger) *location.Storage {
	cs, _ := sio.env("AZURE_STORAGE_CONNECTION_STRING")
	s := &location.Storage{ConnectionString: cs, Token: creds.arm(), StaticToken: creds.static != "", Stdin: sio.in, Log: log}
	if v, _ := sio.env(killAfterCopyEnv); v == "1" {
		s.AfterCopy = killSelf
	}
	return s
}

// The variables that give the journal key (report/location).
const (
	journalKeyEnv     = location.KeyEnv
	journalKeyFileEnv = location.KeyFileEnv
)

// keyFor loads the journal key for a command working in reportSpec, and logs
// where it came from; the error is logged.
func keyFor(log *zap.Logger, env func(string) (string, bool), rep location.Location) (*report.Key, error) {
	jk, err := location.LoadKey(env, rep)
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

func (j *jobRun) run(ctx context.Context) int {
	c := j.cfg
	started := time.Now().UTC()
	runID := newRunID()
	log := j.log.With(zap.String("run_id", runID))

	data, err := j.storage.ReadInput(ctx, j.input)
	if err != nil {
		if ctx.Err() != nil {
			log.Error("interrupted while reading the input: nothing was done", zap.Error(err))
			return exitInterrupted
		}
		log.Error("the input cannot be read", zap.Error(err))
		return exitUsage
	}
	entries, err := csvinput.Read(bytes.NewReader(data))
	if err != nil {
		log.Error("the input cannot be used", zap.String("input", c.Input), zap.Error(err))
		return exitUsage
	}
	sum := sha256.Sum256(data)
	inputSHA := hex.EncodeToString(sum[:])

	graphToken := j.creds.forAudience(c.GraphEndpoint)
	if !j.learnSelfID(ctx, log, graphToken) {
		return exitUsage
	}

	dir, err := j.storage.OpenReport(ctx, j.report, inputSHA, report.RunInfo{ID: runID, StartedAt: started, DryRun: c.DryRun, Key: j.key})
	closeDir, ok := opened(log, j.report, dir, err)
	if !ok {
		return exitUsage
	}
	defer closeDir()

	runner, err := j.newRunner(log, dir, runID, graphToken)
	if err != nil {
		log.Error("setting up the services", zap.Error(err))
		return exitUsage
	}
	log.Info("run starting", zap.String("input", c.Input), zap.String("input_sha256", inputSHA),
		zap.Int("entries", len(entries)), zap.Strings("sources", c.Sources), zap.Bool("dry_run", c.DryRun))
	runCtx, cancel := withTimeout(ctx, started, c.Timeout)
	defer cancel()
	res, runErr := runner.Run(runCtx, entries)
	if res.DeadlineReached {
		log.Warn("the run reached its --timeout: rows not started stay planned; rerun with the same input and report directory to finish",
			zap.Duration("timeout", c.Timeout))
	}
	code := res.ExitCode()
	if runErr != nil {
		log.Error("the run stopped: the report directory could not be written (disk full?); no new work was started. "+
			"What was done is in the journal: fix the directory, then rerun with the same input and report directory", zap.Error(runErr))
		code = max(code, exitRowsFailed)
		if res.Items == nil {
			// Nothing trustworthy to report: the journal keeps what happened.
			return code
		}
	}
	summary := report.Summary{RunID: runID, InputSHA256: inputSHA, DryRun: c.DryRun, StartedAt: started}
	end := ending{command: "run", files: console.RunFiles, display: j.display,
		rerun: rerunCommand("run", c.Input, c.Report, c.Changed)}
	if c.DryRun {
		end.command, end.rerun = "plan", rerunCommand("plan", c.Input, c.Report, c.Changed)
	}
	return finish(log, dir, "run finished", job.States, res, summary, code, j.report, func() error { return dir.Publish(ctx) }, end)
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// learnSelfID reads the job's own object id from the Graph token's oid
// claim when --self-id was not given; false when no token could be had
// (logged).
func (j *jobRun) learnSelfID(ctx context.Context, log *zap.Logger, graphToken tokenSource) bool {
	if j.cfg.SelfID != "" {
		return true
	}
	tok, err := graphToken(ctx)
	if err != nil {
		log.Error("cannot authenticate to Graph", zap.Error(err))
		return false
	}
	if j.cfg.SelfID, err = oidOf(tok); err != nil {
		log.Warn("the job's own object id is unknown: pass --self-id so that it is never touched", zap.Error(err))
	}
	return true
}

// newRunner wires the services and the runner of a run, or a watch, that
// journals into dir.
func (j *jobRun) newRunner(log *zap.Logger, dir *location.Report, runID string, graphToken tokenSource) (*job.Runner, error) {
	c := j.cfg
	sources, dirSvc, admins, err := j.services(j.creds, graphToken)
	if err != nil {
		return nil, err
	}
	runner := &job.Runner{
		Sources:          sources,
		Directory:        dirSvc,
		Recorder:         dir,
		Log:              log,
		Concurrency:      c.Concurrency,
		MaxRemovals:      c.MaxRemovals,
		Protect:          c.Protect,
		SelfID:           c.SelfID,
		DryRun:           c.DryRun,
		Previous:         dir.Previous(),
		PreviousUnsigned: dir.PreviousUnsigned(),
		Grace:            c.Grace,
		RunID:            runID,
		Guards:           []job.Guard{job.LastGlobalAdmin{Admins: admins, Log: log}},
		Observer:         j.observer(),
	}
	for _, s := range sources {
		// A source that knows what it must not remove (groups: a
		// group's last owner, a dynamic group's members) guards it.
		if g, ok := s.(job.Guard); ok {
			runner.Guards = append(runner.Guards, g)
		}
	}
	return runner, nil
}

package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/csvinput"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// Run is `offboard run`, and `plan` when c.DryRun: the job on the input,
// or on each file of a drop folder, into the report location.
func Run(ctx context.Context, c Config, d Deps) int {
	log := d.Log
	creds, err := d.credentials(c)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return ExitUsage
	}
	// The tokens first: one of another tenant stops the job before any
	// other request.
	tenant, ok := tenantOf(ctx, log, c, creds)
	if !ok {
		return ExitUsage
	}
	key, err := d.keyFor(log, c.ReportAt, c.InputAt)
	if err != nil {
		return ExitUsage
	}
	j := &jobRun{cfg: c, log: log, deps: d, creds: creds, key: key, input: c.InputAt, report: c.ReportAt,
		processed: c.ProcessedAt, storage: d.storage(creds, log), tenant: tenant}
	input, processed := c.InputAt, c.ProcessedAt
	files, folder, err := j.storage.DropFolder(ctx, input)
	switch {
	case err != nil:
		log.Error("the drop folder cannot be listed", zap.Error(err))
		return ExitUsage
	case !processed.Empty() && !folder:
		log.Error("--processed is for a drop folder: --input names a single file", zap.String("input", c.Input))
		return ExitUsage
	case !processed.Empty() && processed.ProcessedProblem(input) != "":
		log.Error("the processed location cannot be used", zap.String("processed", c.Processed),
			zap.String("reason", processed.ProcessedProblem(input)))
		return ExitUsage
	case folder:
		return j.runFolder(ctx, files)
	}
	return j.run(ctx)
}

// jobRun is one execution of the job, from input to exit code.
type jobRun struct {
	cfg   Config
	log   *zap.Logger
	deps  Deps
	creds transport.Credentials
	// key authenticates the report location's records.
	key *report.Key
	// input and report are --input and --report, parsed, or a drop
	// folder's file and its report location; processed is --processed
	// (empty: drop-folder files stay where they are).
	input, report, processed location.Location
	// root is --report: in a drop folder, the root of the files' report
	// locations.
	root location.Location
	// storage reads and writes them.
	storage *location.Storage
	// dropName is the drop-folder file's name without .csv ("" for a
	// single --input): a corrected file of that name whose report
	// location belongs to the file it replaced gets a location of its own,
	// {name}-{first 8 of its sha256} (keyedReport), and supersedes names
	// the earlier one.
	dropName   string
	supersedes string
	// otherInput: opening the report location found it belongs to
	// another input.
	otherInput bool
	// tenant is the tenant the job acts in ("" when unknown).
	tenant string
}

// keyedReport is the report location of a drop-folder file whose
// content is sha: {report root}/{name}-{first 8 of sha}.
func (j *jobRun) keyedReport(sha string) location.Location {
	return j.root.Join(j.dropName + "-" + sha[:8])
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
			return ExitInterrupted
		}
		log.Error("the input cannot be read", zap.Error(err))
		return ExitUsage
	}
	entries, err := csvinput.Read(bytes.NewReader(data))
	if err != nil {
		log.Error("the input cannot be used", zap.String("input", c.Input), zap.Error(err))
		return ExitUsage
	}
	sum := sha256.Sum256(data)
	inputSHA := hex.EncodeToString(sum[:])

	if code, ok := j.deps.reachable(ctx, log, c.EndpointsInUse()); !ok {
		return code
	}
	graphToken := j.creds.ForAudience(c.GraphEndpoint)
	if !j.learnSelfID(ctx, log, graphToken) {
		return ExitUsage
	}

	info := report.RunInfo{ID: runID, StartedAt: started, DryRun: c.DryRun, Key: j.key, TenantID: j.tenant}
	dir, runner, closeDir, ok := j.open(ctx, log, inputSHA, info)
	if !ok && j.dropName != "" && j.otherInput {
		// The file was corrected in place: its first report stays as it
		// is, readable, and this one gets its own location.
		earlier := j.report
		j.report = j.keyedReport(inputSHA)
		j.cfg.Report = j.report.String()
		c = j.cfg
		log.Warn("the drop-folder file changed since its report location was written (corrected in place?): "+
			"its report goes to a location of its own; the earlier one stays as it was",
			zap.String("input", c.Input), zap.String("report", c.Report), zap.String("earlier_report", earlier.String()))
		j.supersedes = earlier.String()
		if problem := j.report.DirProblem(); problem != "" {
			log.Error("the report location is not one the job made", zap.String("report", c.Report), zap.String("reason", problem))
			return ExitUsage
		}
		j.otherInput, j.dropName = false, "" // a refusal now is logged as for a single --input
		dir, runner, closeDir, ok = j.open(ctx, log, inputSHA, info)
	}
	if !ok {
		return ExitUsage
	}
	defer closeDir()
	runner.FindMissing = true // a watch's principals may be deleted since; a run's input may hold a typo
	log.Info("run starting", zap.String("input", c.Input), zap.String("input_sha256", inputSHA),
		zap.Int("entries", len(entries)), zap.Strings("sources", c.Sources), zap.Bool("dry_run", c.DryRun))
	res, code, ok := runPass(ctx, log, started, c.Timeout, pass{
		reached: "the run reached its --timeout: rows not started stay planned; rerun with the same input and report directory to finish",
		stopped: "the run stopped: the report directory could not be written (disk full?); no new work was started. " +
			"What was done is in the journal: fix the directory, then rerun with the same input and report directory",
	}, func(ctx context.Context) (job.Result, error) { return runner.Run(ctx, entries) })
	if !ok {
		return code
	}
	summary := report.Summary{RunID: runID, InputSHA256: inputSHA, DryRun: c.DryRun, StartedAt: started, Supersedes: j.supersedes,
		TenantID: dir.TenantID()}
	end := ending{command: "run", files: console.RunFiles, display: j.deps.Display,
		rerun: rerunCommand("run", c.Input, c.Report, c.Changed), run: runContext(j.cfg, c.Input)}
	if c.DryRun {
		end.command, end.rerun = "plan", rerunCommand("plan", c.Input, c.Report, c.Changed)
		end.files = console.PlanFiles
	}
	return finish(log, dir, "run finished", job.States, res, summary, code, j.report, func() error { return dir.Publish(ctx) }, end)
}

// learnSelfID reads the job's own object id from the Graph token's oid
// claim when --self-id was not given; false when no token could be had
// (logged).
func (j *jobRun) learnSelfID(ctx context.Context, log *zap.Logger, graphToken transport.TokenSource) bool {
	if j.cfg.SelfID != "" {
		return true
	}
	tok, err := graphToken(ctx)
	if err != nil {
		log.Error("cannot authenticate to Graph", zap.Error(err))
		return false
	}
	if j.cfg.SelfID, err = transport.OIDOf(tok); err != nil {
		log.Warn("the job's own object id is unknown: pass --self-id so that it is never touched", zap.Error(err))
	}
	return true
}

// open opens the report location of a run, or a watch, and builds its
// runner; ok is false when either cannot be done (logged). closeDir
// closes the location.
func (j *jobRun) open(ctx context.Context, log *zap.Logger, inputSHA string, info report.RunInfo) (dir *location.Report, runner *job.Runner, closeDir func(), ok bool) {
	dir, err := j.storage.OpenReport(ctx, j.report, inputSHA, info)
	if errors.Is(err, report.ErrOtherInput) {
		j.otherInput = true
		if j.dropName != "" {
			return nil, nil, nil, false // the caller gives the file a location of its own
		}
		log.Error("the report directory belongs to another input: use another --report (one directory per input file), "+
			"or run it with the input it was written for (its summary.json names that input's sha256)",
			zap.String("report", j.report.String()), zap.Error(err))
		return nil, nil, nil, false
	}
	if closeDir, ok = opened(log, j.report, dir, err); !ok {
		return nil, nil, nil, false
	}
	if runner, err = j.newRunner(log, dir, info.ID); err != nil {
		log.Error("setting up the services", zap.Error(err))
		closeDir()
		return nil, nil, nil, false
	}
	return dir, runner, closeDir, true
}

// newRunner wires the services and the runner of a run, or a watch, that
// journals into dir.
func (j *jobRun) newRunner(log *zap.Logger, dir *location.Report, runID string) (*job.Runner, error) {
	c := j.cfg
	// The services log with the command's logger: a drop folder's files
	// share it, so a run's run_id is on the runner's lines only.
	svc, err := j.deps.Services(c, j.creds, j.log, j.deps.gates())
	if err != nil {
		return nil, err
	}
	runner := &job.Runner{
		Sources:          svc.Sources,
		Directory:        svc.Directory,
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
		Guards:           []job.Guard{job.LastGlobalAdmin{Admins: svc.Admins, Log: log}},
		Observer:         j.deps.observer(),
	}
	runner.MaxRemovalsPerPrincipal = c.MaxRemovalsPerPrincipal
	for _, s := range svc.Sources {
		// A source that knows what it must not remove (groups: a
		// group's last owner, a dynamic group's members) guards it.
		if g, ok := s.(job.Guard); ok {
			runner.Guards = append(runner.Guards, g)
		}
	}
	return runner, nil
}

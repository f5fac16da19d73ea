package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// watchConfig is what `watch` needs: run's flags, where the reports are,
// and the window.
type watchConfig struct {
	config
	// Reports is the root the reports to watch are under.
	Reports string
	Within  time.Duration
	// WithinText is --within as given.
	WithinText string
}

// defaultWithin is --within's default.
const defaultWithin = "90d"

// parseWatchFlags reads the flags of `watch`, then the OFFBOARD_* variables.
// An empty Report is the default, {reports}/watch/{UTC date}, which
// runWatch makes from the parsed --reports.
func parseWatchFlags(args []string, env func(string) (string, bool), out io.Writer) (watchConfig, error) {
	var (
		c                        watchConfig
		sources, scopes, protect string
	)
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Reports, "reports", "", "the root the run reports to re-check are under: a directory or Blob Storage prefix (required)")
	fs.StringVar(&c.WithinText, "within", defaultWithin, "re-check the principals offboarded by runs started this long ago or later: Nd (days) or a Go duration")
	fs.StringVar(&c.Report, "report", "", "the watch's report directory (default: {reports}/watch/{UTC date})")
	fs.StringVar(&sources, "sources", "directory,pim,groups", "kinds of assignment to check and remove: directory, pim, groups, azure")
	fs.StringVar(&scopes, "azure-scopes", "", "comma-separated ARM scopes, or all (needed by the azure source)")
	fs.StringVar(&protect, "protect", "", "comma-separated object ids never watched nor touched (break-glass accounts)")
	fs.StringVar(&c.SelfID, "self-id", "", "the job's own object id, never touched (default: the token's oid claim)")
	fs.IntVar(&c.GraphBatchSize, "graph-batch-size", 20, "Graph removals sent in one $batch request, 1 to 20")
	c.serviceFlags(fs)
	if err := parseWithEnv(fs, args, env); err != nil {
		return c, err
	}
	c.Changed = changedFlags(fs)
	var errs []error
	if c.Reports == "" {
		errs = append(errs, errors.New("--reports is required"))
	}
	within, err := parseWithin(c.WithinText)
	if err != nil {
		errs = append(errs, fmt.Errorf("--within: %w", err))
	}
	c.Within = within
	c.Input = "(watch list)" // no input file: the list comes from the reports
	// run's checks, less --report's: the watch has a default for it.
	rep := c.Report
	if rep == "" {
		c.Report = c.Reports
	}
	if err := c.check(sources, scopes, protect); err != nil {
		errs = append(errs, err)
	}
	c.Report = rep
	return c, errors.Join(errs...)
}

// parseWithin reads Nd (days) or a Go duration, above zero.
func parseWithin(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 100*366 {
			return 0, fmt.Errorf("%q: a number of days from 1, such as 90d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: Nd (days) or a Go duration such as 2160h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be above 0", s)
	}
	return d, nil
}

// runWatch is `offboard watch`: it re-checks the principals the reports
// under --reports show offboarded within the window, removes what they
// hold again and writes an attestation.
func runWatch(ctx context.Context, args []string, sio stdio) int {
	started := time.Now().UTC()
	c, err := parseWatchFlags(args, sio.env, sio.err)
	if code, failed := flagsFailed(err, sio.err, "offboard"); failed {
		return code
	}
	log, disp := newOutput(&c.config, sio.err, false)
	defer func() { _ = log.Sync() }()
	defer disp.Stop()
	// Each location is parsed here only; --report defaults to
	// {reports}/watch/{UTC date}.
	reports, err := location.Parse(c.Reports)
	var rep location.Location
	switch {
	case err != nil:
	case c.Report == "":
		rep = reports.Join("watch").Join(started.Format(time.DateOnly))
		c.Report = rep.String()
	default:
		rep, err = location.Parse(c.Report)
	}
	if err != nil {
		log.Error("the location cannot be used", zap.Error(err))
		return exitUsage
	}
	creds, err := newCredentials(c.config, sio.env)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return exitUsage
	}
	// The key file must be outside the reports read and the report written.
	key, err := keyFor(log, sio.env, reports)
	if err != nil {
		return exitUsage
	}
	if _, err := keyFor(log, sio.env, rep); err != nil {
		return exitUsage
	}
	runID := newRunID()
	log = log.With(zap.String("run_id", runID))
	j := &jobRun{cfg: c.config, log: log, io: sio, creds: creds, display: disp, key: key, report: rep,
		storage: newStorage(sio, creds, log)}

	graphToken := creds.forAudience(c.GraphEndpoint)
	if !j.learnSelfID(ctx, log, graphToken) {
		return exitUsage
	}

	// The watch's own reports are not offboardings: {ROOT}/watch/, and
	// --report when it is elsewhere under ROOT.
	own := rep.Under(reports)
	skip := func(rel string) bool { return rel == "watch" || strings.HasPrefix(rel, "watch/") || rel == own }
	root, cleanup, err := j.storage.StageTree(ctx, reports, skip)
	if err != nil {
		log.Error("the reports cannot be read", zap.String("reports", c.Reports), zap.Error(err))
		return exitUsage
	}
	evidence, err := report.CollectEvidence(root, key, skip)
	cleanup()
	if err != nil {
		log.Error("the reports cannot be read", zap.String("reports", c.Reports), zap.Error(err))
		return exitUsage
	}
	for _, ev := range evidence {
		if ev.Problem != "" {
			log.Warn("a report's records are not the job's (forged, altered, unsigned, or written under another key): it adds no one",
				zap.String("report", ev.Name), zap.String("problem", ev.Problem))
		}
		if ev.RestoreProblem != "" {
			log.Warn("a report's restore.jsonl is not the job's: its restores take no one off the watch list",
				zap.String("report", ev.Name), zap.String("problem", ev.RestoreProblem))
		}
	}
	since := started.Add(-c.Within)
	watched, excluded := report.WatchList(evidence, since, j.cfg.Protect, j.cfg.SelfID)
	entries, inputSHA := report.WatchEntries(watched)
	byID := map[string]report.Watched{}
	for _, w := range watched {
		byID[w.PrincipalID] = w
	}

	dir, err := j.storage.OpenReport(ctx, rep, inputSHA, report.RunInfo{ID: runID, StartedAt: started, Key: key})
	closeDir, ok := opened(log, rep, dir, err)
	if !ok {
		return exitUsage
	}
	defer closeDir()
	runner, err := j.newRunner(log, dir, runID, graphToken)
	if err != nil {
		log.Error("setting up the services", zap.Error(err))
		return exitUsage
	}
	runner.RemovedDetail = func(id string) string {
		if w, ok := byID[id]; ok {
			return report.HeldAgain(w)
		}
		return ""
	}
	log.Info("watch starting", zap.String("reports", c.Reports), zap.String("within", c.WithinText),
		zap.Time("since", since), zap.Int("watched", len(watched)), zap.Int("excluded", len(excluded)),
		zap.Int("reports_read", len(evidence)), zap.Strings("sources", c.Sources))
	runCtx, cancel := withTimeout(ctx, started, c.Timeout)
	defer cancel()
	res, runErr := runner.Run(runCtx, entries)
	code := res.ExitCode()
	if runErr != nil {
		log.Error("the watch stopped: the report directory could not be written; rerun it", zap.Error(runErr))
		code = max(code, exitRowsFailed)
		if res.Items == nil {
			return code
		}
	}
	verdicts := report.Verdicts(watched, res.Items, res.Guard)
	for _, v := range verdicts {
		if v.Verdict == report.VerdictFailed {
			code = max(code, exitRowsFailed)
		}
		log.Info("verdict", zap.String("principal_id", v.PrincipalID), zap.String("verdict", v.Verdict),
			zap.String("offboarded_by", v.Run.ID), zap.String("why", v.Why))
	}
	att := report.Attestation{RunID: runID, InputSHA256: inputSHA, StartedAt: started, FinishedAt: time.Now().UTC(),
		Reports: c.Reports, Window: report.Window{Within: c.WithinText, From: since, To: started},
		Sources: c.Sources, AzureScopes: c.AzureScopes, Unavailable: res.Unavailable, Guard: res.Guard, ExitCode: code,
		Principals: verdicts, Excluded: excluded, Evidence: report.EvidenceRefs(evidence)}
	if err := dir.WriteAttestation(att); err != nil {
		log.Error("writing the attestation", zap.Error(err))
		code = max(code, exitRowsFailed)
	}
	summary := report.Summary{RunID: runID, InputSHA256: inputSHA, StartedAt: started}
	end := ending{command: "watch", files: console.RunFiles, display: j.display,
		rerun: rerunCommand("watch", "", c.Report, c.Changed)}
	publish := func() error {
		if err := dir.Publish(ctx); err != nil {
			return err
		}
		return dir.PublishFiles(ctx, report.AttestationFiles)
	}
	return finish(log, dir, "watch finished", job.States, res, summary, code, rep, publish, end)
}

package app

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// WatchConfig is what `watch` needs: run's flags, where the reports are,
// and the window.
type WatchConfig struct {
	Config
	// Reports is the root the reports to watch are under; ReportsAt is
	// it parsed.
	Reports   string
	ReportsAt location.Location
	Within    time.Duration
	// WithinText is --within as given.
	WithinText string
	// Started is when the watch started: the window ends there, and the
	// default report location is named after its UTC date.
	Started time.Time
}

// Watch is `offboard watch`: it re-checks the principals the reports
// under the root show offboarded within the window, removes what they
// hold again and writes an attestation.
func Watch(ctx context.Context, c WatchConfig, d Deps) int {
	started, rep := c.Started, c.ReportAt
	j, runID, code, ok := watchJob(ctx, c, d)
	if !ok {
		return code
	}
	log, key, tenant := j.log, j.key, j.tenant

	evidence, ok := j.evidence(ctx, c)
	if !ok || !j.sameTenant(evidence) {
		return ExitUsage
	}
	since := started.Add(-c.Within)
	watched, excluded := report.WatchList(evidence, since, j.cfg.Protect, j.cfg.SelfID)
	entries, inputSHA := report.WatchEntries(watched)
	byID := map[string]report.Watched{}
	for _, w := range watched {
		byID[w.PrincipalID] = w
	}

	dir, runner, closeDir, ok := j.open(ctx, log, inputSHA, report.RunInfo{ID: runID, StartedAt: started, Key: key, TenantID: tenant, Command: "watch"})
	if !ok {
		return ExitUsage
	}
	defer closeDir()
	runner.RemovedDetail = func(id string) string {
		if w, ok := byID[id]; ok {
			return report.HeldAgain(w)
		}
		return ""
	}
	log.Info("watch starting", zap.String("reports", c.Reports), zap.String("within", c.WithinText),
		zap.Time("since", since), zap.Int("watched", len(watched)), zap.Int("excluded", len(excluded)),
		zap.Int("reports_read", len(evidence)), zap.Strings("sources", c.Sources))
	res, code, ok := runPass(ctx, log, started, c.Timeout, pass{stopped: "the watch stopped: the report directory could not be written; rerun it"},
		func(ctx context.Context) (job.Result, error) { return runner.Run(ctx, entries) })
	if !ok {
		return code
	}
	verdicts := report.Verdicts(watched, res.Items, res.Guard)
	if logVerdicts(log, verdicts) {
		code = max(code, ExitRowsFailed)
	}
	// Evidence refused is what the watch could not see: it fails, so that
	// its alert fires, rather than attest a list it may be blind to.
	refused := report.Refusals(evidence)
	if len(refused) > 0 {
		code = max(code, ExitRowsFailed)
		log.Error("evidence refused as altered or unauthenticated: the watch cannot see what it records, and fails (the attestation names each)",
			zap.Int("refused", len(refused)))
	}
	att := report.Attestation{RunID: runID, TenantID: dir.TenantID(), InputSHA256: inputSHA, StartedAt: started, FinishedAt: time.Now().UTC(),
		Reports: c.Reports, Window: report.Window{Within: c.WithinText, From: since, To: started},
		Sources: c.Sources, AzureScopes: c.AzureScopes, Unavailable: res.Unavailable, Guard: res.Guard, ExitCode: code,
		Principals: verdicts, Excluded: excluded, Evidence: report.EvidenceRefs(evidence), Refused: refused}
	if err := dir.WriteAttestation(att); err != nil {
		log.Error("writing the attestation", zap.Error(err))
		code = max(code, ExitRowsFailed)
	}
	summary := report.Summary{RunID: runID, InputSHA256: inputSHA, StartedAt: started, TenantID: dir.TenantID()}
	end := ending{command: "watch", files: console.RunFiles, display: d.Display,
		rerun: rerunCommand("watch", "", c.Report, c.Changed), run: runContext(j.cfg, ""),
		fields: []zap.Field{zap.String("attestation", strings.TrimSuffix(rep.Join(report.AttestationFiles[0]).String(), "/"))}}
	publish := func() error {
		if err := dir.Publish(ctx); err != nil {
			return err
		}
		return dir.PublishFiles(ctx, report.AttestationFiles)
	}
	return finish(log, dir, "watch finished", job.States, res, summary, code, rep, publish, end)
}

// watchJob sets a watch up: the credentials, the tenant, the services
// reached, the journal key (outside the reports read and the report
// written), a run id and the identity's own id.
func watchJob(ctx context.Context, c WatchConfig, d Deps) (j *jobRun, runID string, code int, ok bool) {
	log := d.Log
	creds, err := d.credentials(c.Config)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return nil, "", ExitUsage, false
	}
	tenant, ok := tenantOf(ctx, log, c.Config, creds)
	if !ok {
		return nil, "", ExitUsage, false
	}
	// A service that cannot be reached fails now, in seconds, before the
	// reports are read or the report location is taken.
	if code, ok := d.reachable(ctx, log, c.EndpointsInUse()); !ok {
		return nil, "", code, false
	}
	key, err := d.keyFor(log, c.ReportsAt)
	if err != nil {
		return nil, "", ExitUsage, false
	}
	if _, err := d.keyFor(log, c.ReportAt); err != nil {
		return nil, "", ExitUsage, false
	}
	runID = newRunID()
	log = log.With(zap.String("run_id", runID))
	j = &jobRun{cfg: c.Config, log: log, deps: d, creds: creds, key: key, report: c.ReportAt, storage: d.storage(creds, log), tenant: tenant}
	if !j.learnSelfID(ctx, log, creds.ForAudience(c.GraphEndpoint)) {
		return nil, "", ExitUsage, false
	}
	return j, runID, 0, true
}

// logVerdicts logs each principal's verdict; failed says whether any is
// failed.
func logVerdicts(log *zap.Logger, verdicts []report.Attested) (failed bool) {
	for _, v := range verdicts {
		fields := []zap.Field{zap.String("principal_id", v.PrincipalID), zap.String("verdict", v.Verdict),
			zap.String("offboarded_by", v.Run.ID), zap.String("why", v.Why)}
		switch v.Verdict {
		case report.VerdictFailed:
			failed = true
			log.Info("verdict", fields...)
		case report.VerdictHeld:
			// Left on purpose, as a run leaves it: a warning with what to
			// do, not a failure.
			log.Warn("verdict", append(fields, zap.String("what_to_do", v.WhatToDo))...)
		default:
			log.Info("verdict", fields...)
		}
	}
	return failed
}

// evidence reads the authenticated records of the reports under the root,
// leaving out the watch's own reports ({root}/watch/, and the watch's
// report location when it is elsewhere under the root); false when they
// cannot be read (logged). A report that is not the job's is logged and
// adds no one.
func (j *jobRun) evidence(ctx context.Context, c WatchConfig) ([]report.Evidence, bool) {
	log := j.log
	own := c.ReportAt.Under(c.ReportsAt)
	skip := func(rel string) bool { return rel == "watch" || strings.HasPrefix(rel, "watch/") || rel == own }
	root, cleanup, err := j.storage.StageTree(ctx, c.ReportsAt, skip)
	if err != nil {
		log.Error("the reports cannot be read", zap.String("reports", c.Reports), zap.Error(err))
		return nil, false
	}
	evidence, err := report.CollectEvidence(root, j.key, skip)
	cleanup()
	if err != nil {
		log.Error("the reports cannot be read", zap.String("reports", c.Reports), zap.Error(err))
		return nil, false
	}
	for _, ev := range evidence {
		if ev.Problem != "" {
			log.Error("a report's records are not the job's (forged, altered, unsigned, or written under another key): it adds no one",
				zap.String("report", ev.Name), zap.String("problem", ev.Problem))
		}
		if ev.RestoreProblem != "" {
			log.Error("a report's restore.jsonl is not the job's: its restores take no one off the watch list",
				zap.String("report", ev.Name), zap.String("problem", ev.RestoreProblem))
		}
	}
	return evidence, true
}

// sameTenant refuses (logged) evidence written for another tenant than
// the one the watch acts in: a watch acts on its own tenant's reports
// only, so a report of another found under its root stops it before any
// change. Reports that name no tenant (written before tenants were
// recorded) are read as before.
func (j *jobRun) sameTenant(evidence []report.Evidence) bool {
	if j.tenant == "" {
		return true
	}
	var others []string
	for _, ev := range evidence {
		if ev.Problem == "" && ev.TenantID != "" && ev.TenantID != j.tenant {
			others = append(others, ev.Name+" (tenant "+ev.TenantID+")")
		}
	}
	if len(others) > 0 {
		j.log.Error("reports under the root were written for another tenant than the one the watch acts in: nothing was done",
			zap.String("tenant", j.tenant), zap.Strings("reports", others))
		return false
	}
	return true
}

package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/offboard/offboard/report/location"
)

// runFolder runs the job on every CSV of a drop folder, each into its own
// report location, skipping those whose report says they finished cleanly.
// One file's failure does not stop the others; the exit code is the worst.
func (j *jobRun) runFolder(ctx context.Context, files []location.DropFile) int {
	worst := exitOK
	j.log.Info("drop folder", zap.String("input", j.cfg.Input), zap.Int("files", len(files)))
	for _, f := range files {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		if f.Refused != "" {
			j.log.Error("drop-folder file refused: it is left where it is", zap.String("input", f.Input.String()), zap.String("reason", f.Refused))
			worst = max(worst, exitUsage)
			continue
		}
		sub := *j
		sub.input, sub.report = f.Input, j.report.Join(f.Name)
		sub.cfg.Input, sub.cfg.Report = sub.input.String(), sub.report.String()
		if problem := sub.report.DirProblem(); problem != "" {
			j.log.Error("drop-folder file refused: its report location is not one the job made", zap.String("input", f.Input.String()),
				zap.String("report", sub.cfg.Report), zap.String("reason", problem))
			worst = max(worst, exitUsage)
			continue
		}
		if sub.storage.FinishedCleanly(ctx, sub.input, sub.report, sub.key) {
			j.log.Info("already finished cleanly: skipped", zap.String("input", f.Input.String()), zap.String("report", sub.cfg.Report))
			continue
		}
		worst = max(worst, sub.run(ctx))
	}
	return worst
}

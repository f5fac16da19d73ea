package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"go.uber.org/zap"

	"github.com/offboard/offboard/report/location"
)

// runFolder runs the job on every CSV of a drop folder, each into its own
// report location, skipping those whose report says they finished cleanly.
// One file's failure does not stop the others; the exit code is the worst.
func (j *jobRun) runFolder(ctx context.Context, files []location.DropFile) int {
	worst := ExitOK
	j.log.Info("drop folder", zap.String("input", j.cfg.Input), zap.Int("files", len(files)))
	for _, f := range files {
		if ctx.Err() != nil {
			return ExitInterrupted
		}
		if f.Refused != "" {
			j.log.Error("drop-folder file refused: it is left where it is", zap.String("input", f.Input.String()), zap.String("reason", f.Refused))
			worst = max(worst, ExitUsage)
			continue
		}
		sub := *j
		sub.input, sub.report, sub.root, sub.dropName = f.Input, j.report.Join(f.Name), j.report, f.Name
		sub.cfg.Input, sub.cfg.Report = sub.input.String(), sub.report.String()
		if problem := sub.report.DirProblem(); problem != "" {
			j.log.Error("drop-folder file refused: its report location is not one the job made", zap.String("input", f.Input.String()),
				zap.String("report", sub.cfg.Report), zap.String("reason", problem))
			worst = max(worst, ExitUsage)
			continue
		}
		if keyed, ok := sub.corrected(ctx); ok {
			// A corrected file whose own location finished cleanly.
			sub.report, sub.cfg.Report = keyed, keyed.String()
		}
		if sub.storage.FinishedCleanly(ctx, sub.input, sub.report, sub.key) {
			j.log.Info("already finished cleanly: skipped", zap.String("input", f.Input.String()), zap.String("report", sub.cfg.Report))
			sub.moveProcessed(ctx, f)
			continue
		}
		code := sub.run(ctx)
		worst = max(worst, code)
		if code == ExitOK {
			sub.moveProcessed(ctx, f)
		}
	}
	return worst
}

// corrected returns the location of its own a corrected drop-folder file
// was given ({name}-{sha8}), when its first location belongs to another
// input and that one exists; ok is false otherwise.
func (j *jobRun) corrected(ctx context.Context) (location.Location, bool) {
	if j.storage.FinishedCleanly(ctx, j.input, j.report, j.key) {
		return location.Location{}, false
	}
	data, err := j.storage.ReadInput(ctx, j.input)
	if err != nil {
		return location.Location{}, false
	}
	sum := sha256.Sum256(data)
	keyed := j.keyedReport(hex.EncodeToString(sum[:]))
	if keyed.DirProblem() != "" || !j.storage.FinishedCleanly(ctx, j.input, keyed, j.key) {
		return location.Location{}, false
	}
	return keyed, true
}

// moveProcessed moves a drop-folder file to --processed when its report
// location says it finished cleanly (a real run, exit 0, of exactly this
// file). A failed move is logged and leaves the file where it is: the
// next run finds it finished and moves it then.
func (j *jobRun) moveProcessed(ctx context.Context, f location.DropFile) {
	if j.processed.Empty() || j.cfg.DryRun {
		return
	}
	sum, ok := j.storage.CleanRun(ctx, j.input, j.report, j.key)
	if !ok {
		return
	}
	to, err := j.storage.MoveProcessed(ctx, f, j.processed, sum)
	if err != nil {
		j.log.Error("the file finished cleanly but could not be moved to the processed location: it stays, and the next run moves it",
			zap.String("input", f.Input.String()), zap.String("processed", j.processed.String()), zap.Error(err))
		return
	}
	j.log.Info("moved to the processed location", zap.String("input", f.Input.String()), zap.String("to", to),
		zap.String("run_id", sum.RunID))
}

package app

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/csvinput"
	"github.com/offboard/offboard/job/preflight"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location"
)

// checkedInput is the input a run would read first (a drop folder's
// oldest file, whose name it gives), read, and where a run of it would
// report (a drop folder: {root}/{name}); ok is false when there is none to read (no --input,
// standard input, an empty or unreadable folder: checkInput says why).
func (j *jobRun) checkedInput(ctx context.Context) (data []byte, rep location.Location, name string, ok bool) {
	if j.cfg.Input == "" || j.cfg.Input == "-" {
		return nil, location.Location{}, "", false
	}
	files, folder, err := j.storage.DropFolder(ctx, j.input)
	input, rep := j.input, j.report
	switch {
	case err != nil || folder && len(files) == 0:
		return nil, location.Location{}, "", false
	case folder:
		input, rep, name = files[0].Input, j.report.Join(files[0].Name), files[0].Name
	}
	data, err = j.storage.ReadInput(ctx, input)
	return data, rep, name, err == nil
}

// checkLines resolves the input's keys as a run will, with the run's own
// code (job.Runner.Admit: the same lookups among live and soft-deleted
// users, the same refusals, the same earlier rows of the report
// directory), sending only reads, one request a query (no $batch), and
// counts the lines a run will report invalid or not-found. Not usable
// when a run would exit 1 for them, or a lookup failed.
func (j *jobRun) checkLines(ctx context.Context, dir job.Directory) []preflight.Result {
	data, rep, _, ok := j.checkedInput(ctx)
	if !ok || dir == nil {
		return nil
	}
	entries, err := csvinput.Read(bytes.NewReader(data))
	if err != nil {
		return nil // checkInput says why
	}
	r := preflight.Result{Check: "lines", Name: j.cfg.Input, Status: preflight.OK}
	sum := sha256.Sum256(data)
	runner := &job.Runner{Directory: dir, Protect: j.cfg.Protect, SelfID: j.cfg.SelfID}
	runner.Previous = j.previousRows(rep, hex.EncodeToString(sum[:]))
	adm := runner.Admit(ctx, entries)
	counts := map[job.State]int{}
	first := map[job.State]job.Item{} // the row of the first such line
	for _, it := range adm.Rows {
		counts[it.State]++
		if f, ok := first[it.State]; !ok || it.Line < f.Line {
			first[it.State] = it
		}
	}
	parts := []string{fmt.Sprintf("%d lines: %d principals to act on", len(entries), adm.Principals)}
	for _, s := range []job.State{job.Invalid, job.NotFound, job.Failed, job.Deferred} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", counts[s], s, cmp.Or(first[s].Detail, fmt.Sprintf("line %d", first[s].Line))))
		}
	}
	if old := counts[job.NotFound] - adm.NewNotFound; old > 0 {
		parts = append(parts, fmt.Sprintf("%d of the not-found lines an earlier run into the report reported already (a run exits 0 for them)", old))
	}
	r.Detail = strings.Join(parts, "; ")
	switch {
	case counts[job.Failed] > 0:
		r.Status = preflight.Error
		r.Fix = "the keys could not all be looked up: grant User.Read.All (README, Authentication and permissions), or check again once Graph answers"
	case counts[job.Invalid] > 0 || adm.NewNotFound > 0:
		r.Status = preflight.Error
		r.Fix = "a run reports these lines invalid or not-found and exits 1 (a not-found line once): fix them in the file (README, Input CSV), or leave them to be reported"
	}
	return []preflight.Result{r}
}

// previousRows are the rows an earlier run of the same input recorded
// in the local report directory rep, read and verified as a run reads
// them, so that keys it resolved resolve again and its not-found rows
// count as reported; none when there are none, the directory is another
// input's or a blob location, or the journal key does not exist yet (a
// check creates none).
func (j *jobRun) previousRows(rep location.Location, inputSHA string) []job.Item {
	if rep.IsBlob() || rep.Empty() || report.CheckOwner(rep.String(), inputSHA) != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(rep.String(), "journal.jsonl")); err != nil {
		return nil
	}
	if _, set := j.deps.Env(location.KeyEnv); !set {
		path, _ := j.deps.Env(location.KeyFileEnv)
		if path == "" {
			dir, err := os.UserConfigDir()
			if err != nil {
				return nil
			}
			path = filepath.Join(dir, "offboard", "journal.key")
		}
		if _, err := os.Stat(path); err != nil {
			return nil
		}
	}
	key, err := location.LoadKey(j.deps.Env, rep, j.input)
	if err != nil {
		return nil
	}
	items, err := report.ReadRunItems(rep.String(), key.Key, false)
	if err != nil {
		return nil
	}
	return items
}

// reportState names what a run of the input would find in its local
// report directory (a drop folder's oldest file's, {root}/{name}): no run
// yet, a run of the same input (which a run resumes), or another input's;
// refused is the reason a run would be refused there ("" when it would
// not: a drop-folder file gets a location of its own instead).
func (j *jobRun) reportState(ctx context.Context) (state, refused string) {
	data, rep, name, ok := j.checkedInput(ctx)
	if !ok || rep.IsBlob() || j.input.IsBlob() {
		return "", ""
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	where := "the report directory"
	if name != "" {
		where = "the oldest file's report directory " + rep.String()
	}
	err := report.CheckOwner(rep.String(), sha)
	switch {
	case errors.Is(err, report.ErrOtherInput) && name != "":
		return where + " belongs to another input (the file was changed since): a run gives this file a location of its own, " +
			j.report.Join(name+"-"+sha[:8]).String(), ""
	case errors.Is(err, report.ErrOtherInput):
		return where + " belongs to another input", err.Error()
	case err != nil:
		return where + " cannot be read: " + err.Error(), ""
	}
	if _, err := os.Stat(filepath.Join(rep.String(), "journal.jsonl")); err != nil {
		return where + " is new: no run has reported there", ""
	}
	s, err := report.ReadSummary(rep.String())
	if err != nil {
		return where + " holds a run of this input without a summary.json (a plan, or a run killed before its end): " +
			"a run resumes it, redoing nothing done", ""
	}
	return fmt.Sprintf("%s holds a run of this input (run %s, exit %d): a run resumes it, redoing nothing done", where, s.RunID, s.ExitCode), ""
}

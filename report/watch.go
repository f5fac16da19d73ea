package report

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/job"
)

// What `offboard watch` reads of the report directories under a root: the
// runs and removals each journal records, and the restores since. Only
// records that verify under the key are read; a directory whose journal
// does not verify is kept out whole, and named (Evidence.Problem).

// RunRecord is one run of a report directory, as its journal records it.
type RunRecord struct {
	ID          string    `json:"run_id"`
	InputSHA256 string    `json:"input_sha256"`
	StartedAt   time.Time `json:"started_at"`
	DryRun      bool      `json:"dry_run"`
}

// RunItem is an item of a journal and the run that last planned it.
type RunItem struct {
	job.Item
	Run RunRecord
}

// Evidence is one report directory under a watch's root and what its
// authenticated records say.
type Evidence struct {
	// Name is the directory relative to the root, with slashes ("." for
	// the root itself).
	Name string
	// Problem says why the directory is not used (its journal does not
	// verify); empty when it is.
	Problem string
	// RestoreProblem says why its restore.jsonl is not used: then no
	// restore of it takes anyone off the watch list.
	RestoreProblem string
	Runs           []RunRecord
	Removed        []RunItem
	Restored       []RunItem
	// TenantID is the tenant its journal names ("" when none does: a
	// report written before tenants were recorded).
	TenantID string
	// dirID is the directory id its journal names.
	dirID string
}

// restoreJournalName is restore.jsonl (restoreFiles.journal).
const restoreJournalName = "restore.jsonl"

// ReadEvidence reads dir's journal and restore.jsonl, every line of both
// verified under key (a line without a MAC is refused). The error is the
// journal's; a restore journal that does not verify is noted in
// RestoreProblem and left out.
func ReadEvidence(dir string, key *Key) (Evidence, error) {
	var ev Evidence
	if key == nil {
		return ev, errors.New("report: no key to verify the journal with")
	}
	// Bound to the directory's summary, as a restore reads it.
	st, err := loadRunJournal(dir, key, false)
	if err != nil {
		return ev, err
	}
	ev.dirID, ev.TenantID = st.dirID, st.tenantID
	ev.Runs, ev.Removed = st.runItems(job.Removed)
	rpath := filepath.Join(dir, restoreJournalName)
	rst, err := loadJournal(rpath, key)
	if err == nil {
		err = unsigned(rpath, rst, false)
	}
	if err == nil && len(rst.runs) > 0 && rst.dirID != st.dirID {
		err = fmt.Errorf("report: %s was written for report directory %s, and %s for %s: %w",
			rpath, dirName(rst.dirID), filepath.Join(dir, journalName), dirName(st.dirID), ErrTampered)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		ev.RestoreProblem = err.Error()
	default:
		_, ev.Restored = rst.runItems(job.Restored)
	}
	return ev, nil
}

// runItems returns the journal's runs, and its items in state with the
// run that planned each.
func (st *journalState) runItems(state job.State) ([]RunRecord, []RunItem) {
	runs := make([]RunRecord, len(st.runs))
	for i, r := range st.runs {
		at, _ := parseTime(r.StartedAt) // checked when replayed
		runs[i] = RunRecord{ID: r.RunID, InputSHA256: r.InputSHA256, StartedAt: at, DryRun: r.DryRun}
	}
	var out []RunItem
	for _, e := range st.entries {
		if e.item.State == state && e.planRun >= 0 && e.planRun < len(runs) {
			out = append(out, RunItem{Item: e.item, Run: runs[e.planRun]})
		}
	}
	slices.SortFunc(out, func(a, b RunItem) int { return job.Compare(a.Item, b.Item) })
	return runs, out
}

// maxWatchDepth bounds how deep under the root report directories are
// looked for: a drop folder's are one level down.
const maxWatchDepth = 3

// CollectEvidence reads every report directory (one holding journal.jsonl)
// under root, the root included, except those skip names (a path relative
// to root, with slashes): each with what its records say, or the problem
// that keeps it out. Links are not followed.
func CollectEvidence(root string, key *Key, skip func(rel string) bool) ([]Evidence, error) {
	var out []Evidence
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // unreadable: not the job's
		}
		if !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && (skip != nil && skip(rel) || strings.Count(rel, "/") >= maxWatchDepth) {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(filepath.Join(path, journalName))
		if err != nil {
			return nil
		}
		if !fi.Mode().IsRegular() {
			// The job writes a regular file: a link (or anything else)
			// there is refused, not passed over as if no report were there.
			out = append(out, Evidence{Name: rel, Problem: fmt.Sprintf("%s is not a regular file (%s): a link, or anything else, is not read",
				filepath.Join(path, journalName), fi.Mode().Type())})
			return nil
		}
		ev, err := ReadEvidence(path, key)
		ev.Name = rel
		if err != nil {
			ev = Evidence{Name: rel, Problem: err.Error()}
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("report: reading %s: %w", root, err)
	}
	refuseCopies(out)
	return out, nil
}

// refuseCopies keeps out every directory whose run id (or directory id)
// another usable one carries too: a run journals into one directory, so
// one of them is a copy of the other, and which cannot be told.
func refuseCopies(evidence []Evidence) {
	holders := map[string][]int{}
	for i, ev := range evidence {
		if ev.Problem != "" {
			continue
		}
		ids := map[string]bool{}
		if ev.dirID != "" {
			ids["directory id "+ev.dirID] = true
		}
		for _, r := range ev.Runs {
			if r.ID != "" {
				ids["run "+r.ID] = true
			}
		}
		for id := range ids {
			holders[id] = append(holders[id], i)
		}
	}
	problems := map[int][]string{}
	for _, id := range slices.Sorted(maps.Keys(holders)) {
		if idx := holders[id]; len(idx) > 1 {
			names := make([]string, len(idx))
			for k, i := range idx {
				names[k] = evidence[i].Name
			}
			for _, i := range idx {
				problems[i] = append(problems[i], fmt.Sprintf("%s is carried by %s", id, strings.Join(names, " and ")))
			}
		}
	}
	for i, p := range problems {
		evidence[i] = Evidence{Name: evidence[i].Name, Runs: evidence[i].Runs,
			Problem: strings.Join(p, "; ") + ": a run journals into one report directory, so one is a copy; neither is used"}
	}
}

// Watched is a principal on the watch list: offboarded by a run within the
// window and not restored since.
type Watched struct {
	PrincipalID string `json:"principal_id"`
	UPN         string `json:"user_principal_name,omitempty"`
	Reference   string `json:"reference,omitempty"`
	// Report is the directory (relative to the root) of the run that last
	// offboarded it within the window; Run is that run.
	Report string    `json:"report"`
	Run    RunRecord `json:"run"`
	// Removed counts the rows that run's report shows removed.
	Removed int `json:"removed"`
}

// Excluded is a principal the evidence shows offboarded who is not
// watched, and why.
type Excluded struct {
	PrincipalID string `json:"principal_id"`
	UPN         string `json:"user_principal_name,omitempty"`
	Reason      string `json:"reason"`
}

// WatchList is every principal with a removed row in a usable report
// whose run started at since or later, less those a restore (of any
// report) put back after that run, and less protect and self, sorted by
// object id.
func WatchList(evidence []Evidence, since time.Time, protect map[string]bool, self string) ([]Watched, []Excluded) {
	latest := map[string]*Watched{}
	restored := map[string]RunItem{}
	for _, ev := range evidence {
		if ev.Problem != "" {
			continue
		}
		for _, r := range ev.Restored {
			id := job.NormalizeGUID(r.PrincipalID)
			if prev, ok := restored[id]; !ok || r.Run.StartedAt.After(prev.Run.StartedAt) {
				restored[id] = r
			}
		}
		for _, it := range ev.Removed {
			if !job.IsGUID(it.PrincipalID) || it.Run.StartedAt.Before(since) || it.Run.DryRun {
				continue
			}
			id := job.NormalizeGUID(it.PrincipalID)
			w := latest[id]
			switch {
			case w == nil || it.Run.StartedAt.After(w.Run.StartedAt):
				w = &Watched{PrincipalID: id, UPN: it.UPN, Reference: it.Reference, Report: ev.Name, Run: it.Run}
				latest[id] = w
			case it.Run.ID != w.Run.ID || ev.Name != w.Report:
				continue
			}
			w.Removed++
		}
	}
	var list []Watched
	var excluded []Excluded
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		w := latest[id]
		switch r, ok := restored[id]; {
		case protect[id]:
			excluded = append(excluded, Excluded{PrincipalID: id, UPN: w.UPN, Reason: "protected"})
		case self != "" && strings.EqualFold(id, self):
			excluded = append(excluded, Excluded{PrincipalID: id, UPN: w.UPN, Reason: "self"})
		case ok && r.Run.StartedAt.After(w.Run.StartedAt):
			excluded = append(excluded, Excluded{PrincipalID: id, UPN: w.UPN,
				Reason: fmt.Sprintf("restored on %s (restore %s) after its offboarding on %s (run %s)",
					r.Run.StartedAt.UTC().Format(time.DateOnly), r.Run.ID, w.Run.StartedAt.UTC().Format(time.DateOnly), w.Run.ID)})
		default:
			list = append(list, *w)
		}
	}
	return list, excluded
}

// HeldAgain is the detail of a row a watch removed from a principal
// offboarded by w's run.
func HeldAgain(w Watched) string {
	return fmt.Sprintf("held again after offboarding on %s (run %s)", w.Run.StartedAt.UTC().Format(time.DateOnly), w.Run.ID)
}

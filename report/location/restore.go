package location

import (
	"context"
	"os"
	"path/filepath"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
)

// A restore from a Blob Storage report location works as a run does: it
// takes the location's lease (so a run and a restore never work in it at
// once), stages the run's journal and its own (restore.jsonl) locally,
// mirrors restore.jsonl to its append blob, and publishes restore.csv,
// restore-summary.json and restore-summary.html when it ends.

const (
	restoreJournalName = "restore.jsonl"
	restoreSummaryName = "restore-summary.json"
)

// restoreStaged are the files of a blob report location a restore stages,
// with the most it reads of each: the run's journal and the summary that
// vouches for it, the restore's journal and summary. Only the restore's
// are published.
var restoreStaged = map[string]int64{journalName: 1 << 32, summaryName: 1 << 20, restoreJournalName: 1 << 32, restoreSummaryName: 1 << 20}

// ReadRunItems reads the removals of the run in a report location, as
// report.ReadRunItems: read-only and without the lock (the restore reads
// them again under it).
func (s *Storage) ReadRunItems(ctx context.Context, l Location, key *report.Key, trustUnsigned bool) ([]job.Item, error) {
	if !l.isBlob {
		return report.ReadRunItems(l.spec, key, trustUnsigned)
	}
	store, err := s.store(l)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "offboard-restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The journal, and the summary that vouches for it.
	for _, name := range []string{journalName, summaryName} {
		max := restoreStaged[name]
		data, err := store.ReadIfAny(ctx, l.blob.Prefix()+name, max)
		if err != nil {
			return nil, err
		}
		if data != nil {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				return nil, err
			}
		}
	}
	// No journal blob: no journal file, the error a local location gives.
	return report.ReadRunItems(dir, key, trustUnsigned)
}

// OpenRestore opens the report location of a run to restore: a local
// directory, or a blob folder whose lease it takes and whose journals it
// stages locally.
func (s *Storage) OpenRestore(ctx context.Context, l Location, info report.RunInfo) (*Report, error) {
	if !l.isBlob {
		d, err := report.OpenRestore(l.spec, info)
		if err != nil {
			return nil, err
		}
		return &Report{Dir: d}, nil
	}
	return s.openRemote(ctx, l, restoreJournalName, []string{"restore.csv", restoreSummaryName, "restore-summary.html",
		"restore-plan-summary.json", "restore-plan-summary.html"}, report.HolderOf(info, true),
		func(r *remoteReport) (*report.Dir, error) { return r.stageRestore(ctx, info) })
}

// stageRestore copies the run's journal, the restore's journal and its
// summary into a local directory and opens the restore there.
func (r *remoteReport) stageRestore(ctx context.Context, info report.RunInfo) (*report.Dir, error) {
	var err error
	if r.dir, err = os.MkdirTemp("", "offboard-report-"); err != nil {
		return nil, err
	}
	staged := map[string][]byte{}
	for name, max := range restoreStaged {
		data, err := r.store.ReadIfAny(ctx, r.prefix+name, max)
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue
		}
		staged[name] = data
		if err := os.WriteFile(filepath.Join(r.dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	d, err := report.OpenRestore(r.dir, info)
	if err != nil {
		return nil, err
	}
	return r.mirror(ctx, d, staged[restoreJournalName])
}

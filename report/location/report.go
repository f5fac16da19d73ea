package location

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location/blob"
)

// A report location in Blob Storage is worked in a local staging
// directory: the journal is mirrored to an append blob every second and at
// the end (a killed run loses at most the last second of outcomes, which
// the rerun confirms as absent), and report.csv and summary.json are
// uploaded whole when the run ends.

const (
	journalName = "journal.jsonl"
	summaryName = "summary.json"
	reportName  = "report.csv"
	// journalSyncEvery is how often the journal is mirrored to its blob.
	journalSyncEvery = time.Second
)

// Report is the report directory a command works in.
type Report struct {
	*report.Dir
	remote *remoteReport
}

// remoteReport stages a Blob Storage report location locally.
type remoteReport struct {
	store   *blob.Store
	prefix  string
	lock    *blob.Lock
	journal *blob.Journal
	dir     string
	file    *os.File
	log     *zap.Logger
	// jname is the journal the location mirrors (a run's, or a
	// restore's); publish are the files Publish uploads.
	jname   string
	publish []string

	mu      sync.Mutex // serialises journal syncs
	stop    context.CancelFunc
	stopped chan struct{}
}

// OpenReport opens the report location for a run with this input: a
// local directory, or a blob folder whose lease it takes and whose journal
// and summary it stages locally.
func (s *Storage) OpenReport(ctx context.Context, l Location, inputSHA string, info report.RunInfo) (*Report, error) {
	if !l.isBlob {
		base, rel := l.dirParts()
		d, err := report.OpenIn(base, rel, inputSHA, info)
		if err != nil {
			return nil, err
		}
		return &Report{Dir: d}, nil
	}
	return s.openRemote(ctx, l, journalName, []string{reportName, summaryName, "summary.html", "plan-summary.json", "plan-summary.html"},
		report.HolderOf(info, false), func(r *remoteReport) (*report.Dir, error) { return r.stage(ctx, inputSHA, info) })
}

// openRemote takes the lease on a blob report location (the one lease a
// run and a restore share), stages it with stage, and mirrors the journal
// jname from then on; Publish uploads publish.
func (s *Storage) openRemote(ctx context.Context, l Location, jname string, publish []string, holder report.Holder,
	stage func(*remoteReport) (*report.Dir, error)) (*Report, error) {
	store, err := s.store(l)
	if err != nil {
		return nil, err
	}
	r := &remoteReport{store: store, prefix: l.blob.Prefix(), log: s.Log, jname: jname, publish: publish}
	if r.lock, err = store.Lock(ctx, r.prefix+".lock", holder.Metadata()); err != nil {
		var busy *blob.BusyError
		if errors.As(err, &busy) {
			// What the lease's holder recorded, and when a lease its
			// holder stopped renewing expires.
			return nil, report.BusyLease(l.Join(".lock").String(), busy.Metadata, busy.Duration, blob.LeaseDuration, blob.RenewEvery)
		}
		return nil, err
	}
	d, err := stage(r)
	if err != nil {
		_ = r.lock.Release(context.WithoutCancel(ctx))
		if r.dir != "" {
			_ = os.RemoveAll(r.dir)
		}
		return nil, err
	}
	syncCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stop, r.stopped = stop, make(chan struct{})
	go r.syncLoop(syncCtx)
	return &Report{Dir: d, remote: r}, nil
}

// Probe checks that a run could open a local report location: writable
// and lockable, nothing left behind. A blob location is not probed (that
// would write): probed is false.
func Probe(l Location) (probed bool, err error) {
	if l.isBlob {
		return false, nil
	}
	return true, report.Probe(l.spec)
}

// stage copies the location's journal and summary into a local directory
// and opens it there.
func (r *remoteReport) stage(ctx context.Context, inputSHA string, info report.RunInfo) (*report.Dir, error) {
	var err error
	if r.dir, err = os.MkdirTemp("", "offboard-report-"); err != nil {
		return nil, err
	}
	prev, err := r.store.ReadIfAny(ctx, r.prefix+journalName, 1<<32)
	if err != nil {
		return nil, err
	}
	summary, err := r.store.ReadIfAny(ctx, r.prefix+summaryName, 1<<20)
	if err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{journalName: prev, summaryName: summary} {
		if data != nil {
			if err := os.WriteFile(filepath.Join(r.dir, name), data, 0o600); err != nil {
				return nil, err
			}
		}
	}
	d, err := report.Open(r.dir, inputSHA, info)
	if err != nil {
		return nil, err
	}
	return r.mirror(ctx, d, prev)
}

// mirror starts mirroring the staged journal, whose blob held prev, to
// its blob; d is closed when that fails.
func (r *remoteReport) mirror(ctx context.Context, d *report.Dir, prev []byte) (*report.Dir, error) {
	var err error
	if r.file, err = os.Open(filepath.Join(r.dir, r.jname)); err == nil {
		var size int64
		if size, err = r.size(); err == nil {
			r.journal, err = r.store.Journal(ctx, r.prefix+r.jname, prev, r.file, size)
		}
	}
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

func (r *remoteReport) size() (int64, error) {
	fi, err := r.file.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// sync mirrors what the local journal gained to its blob.
func (r *remoteReport) sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	size, err := r.size()
	if err != nil {
		return err
	}
	return r.journal.Sync(ctx, r.file, size)
}

func (r *remoteReport) syncLoop(ctx context.Context) {
	defer close(r.stopped)
	t := time.NewTicker(journalSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.sync(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("mirroring the journal to Blob Storage", zap.Error(err))
		}
		if err := r.lock.Lost(); err != nil {
			r.log.Error("the lease on the report location could not be renewed", zap.Error(err))
		}
	}
}

// Publish uploads the results: the journal's last lines, then the report
// and the summary (a run's report.csv, summary.json and summary.html; a
// restore's restore.csv, restore-summary.json and .html), each whole. A local location has nothing
// to publish.
func (l *Report) Publish(ctx context.Context) error {
	r := l.remote
	if r == nil {
		return nil
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	for _, name := range r.publish {
		data, err := os.ReadFile(filepath.Join(r.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := r.store.Upload(ctx, r.prefix+name, data); err != nil {
			return err
		}
	}
	return nil
}

// PublishFiles uploads more of the staged files of a Blob Storage report
// location, each whole (a watch's attestation); a local one has them
// already.
func (l *Report) PublishFiles(ctx context.Context, names []string) error {
	r := l.remote
	if r == nil {
		return nil
	}
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil {
			return err
		}
		if err := r.store.Upload(ctx, r.prefix+name, data); err != nil {
			return err
		}
	}
	return nil
}

// Applying records that writes are about to start and, for a blob
// location, mirrors the journal (the plan with it) before the first write:
// a run killed before the next mirror would otherwise leave the rerun no
// plan to confirm its removals against, and their rows would be lost.
func (l *Report) Applying() error {
	if err := l.Dir.Applying(); err != nil || l.remote == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.remote.sync(ctx); err != nil {
		return fmt.Errorf("mirroring the plan to Blob Storage before the first removal: %w", err)
	}
	return nil
}

// Close closes the directory and, for a blob location, mirrors the last
// of the journal, gives the lease back and removes the staging directory.
func (l *Report) Close() error {
	err := l.Dir.Close()
	r := l.remote
	if r == nil {
		return err
	}
	r.stop()
	<-r.stopped
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = errors.Join(err, r.sync(ctx), r.file.Close(), r.lock.Release(ctx), os.RemoveAll(r.dir))
	return err
}

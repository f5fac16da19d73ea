package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job/blob"
	"github.com/offboard/offboard/report"
)

// Where --input and --report point: local paths (a mounted Azure Files
// share is one) or Blob Storage URLs. A report location in Blob Storage is
// worked in a local staging directory: the journal is mirrored to an
// append blob every second and at the end (a killed run loses at most the
// last second of outcomes, which the rerun confirms as absent), and
// report.csv and summary.json are uploaded whole when the run ends.

const (
	journalName = "journal.jsonl"
	summaryName = "summary.json"
	reportName  = "report.csv"
	// journalSyncEvery is how often the journal is mirrored to its blob.
	journalSyncEvery = time.Second
)

// blobStore opens the container of a blob location with the connection
// string, if AZURE_STORAGE_CONNECTION_STRING is set, else the job's
// credential.
func (j *jobRun) blobStore(loc blob.Location) (*blob.Store, error) {
	if cs, ok := j.io.env("AZURE_STORAGE_CONNECTION_STRING"); ok && cs != "" {
		return blob.Open(loc, blob.Credentials{ConnectionString: cs})
	}
	if j.creds.static != "" && !strings.HasPrefix(loc.Container, "http://") {
		return nil, fmt.Errorf("OFFBOARD_STATIC_TOKEN is accepted only on loopback; %s is not", loc.Container)
	}
	return blob.Open(loc, blob.Credentials{Token: j.creds.arm()})
}

// readInputAt reads the input from a path, standard input or a blob.
func (j *jobRun) readInputAt(ctx context.Context, spec string) ([]byte, error) {
	loc, isBlob, err := blob.Parse(spec)
	if err != nil {
		return nil, err
	}
	if !isBlob {
		return readInput(ctx, spec, j.io.in, j.dropped)
	}
	store, err := j.blobStore(loc)
	if err != nil {
		return nil, err
	}
	return store.Read(ctx, loc.Path, maxInput)
}

// reportLocation is the report directory a run works in.
type reportLocation struct {
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

	mu      sync.Mutex // serialises journal syncs
	stop    context.CancelFunc
	stopped chan struct{}
}

// openReport opens the report location for a run with this input.
func (j *jobRun) openReport(ctx context.Context, spec, inputSHA string, info report.RunInfo) (*reportLocation, error) {
	loc, isBlob, err := blob.Parse(spec)
	if err != nil {
		return nil, err
	}
	if !isBlob {
		d, err := report.Open(spec, inputSHA, info)
		if err != nil {
			return nil, err
		}
		return &reportLocation{Dir: d}, nil
	}
	store, err := j.blobStore(loc)
	if err != nil {
		return nil, err
	}
	r := &remoteReport{store: store, prefix: loc.Prefix(), log: j.log}
	if r.lock, err = store.Lock(ctx, r.prefix+".lock"); err != nil {
		if errors.Is(err, blob.ErrBusy) {
			return nil, fmt.Errorf("%s: %w", spec, report.ErrBusy)
		}
		return nil, err
	}
	d, err := r.stage(ctx, inputSHA, info)
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
	return &reportLocation{Dir: d, remote: r}, nil
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
	if r.file, err = os.Open(filepath.Join(r.dir, journalName)); err == nil {
		var size int64
		if size, err = r.size(); err == nil {
			r.journal, err = r.store.Journal(ctx, r.prefix+journalName, prev, r.file, size)
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

// publish uploads the run's results: the journal's last lines, then
// report.csv and summary.json, each whole.
func (l *reportLocation) publish(ctx context.Context) error {
	r := l.remote
	if r == nil {
		return nil
	}
	if err := r.sync(ctx); err != nil {
		return err
	}
	for _, name := range []string{reportName, summaryName, "summary.html"} {
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

// Applying records that writes are about to start and, for a blob
// location, mirrors the journal (the plan with it) before the first write:
// a run killed before the next mirror would otherwise leave the rerun no
// plan to confirm its removals against, and their rows would be lost.
func (l *reportLocation) Applying() error {
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
func (l *reportLocation) Close() error {
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

// readSummaryAt reads the summary of a report location, if it has one
// that verifies under the journal key: a summary anyone else wrote is no
// summary (the run that follows refuses a forged one).
func (j *jobRun) readSummaryAt(ctx context.Context, spec string) (report.Summary, bool) {
	loc, isBlob, err := blob.Parse(spec)
	if err != nil {
		return report.Summary{}, false
	}
	if !isBlob {
		s, err := report.ReadAuthenticSummary(spec, j.key)
		return s, err == nil
	}
	store, err := j.blobStore(loc)
	if err != nil {
		return report.Summary{}, false
	}
	data, err := store.Read(ctx, loc.Join(summaryName).Path, 1<<20)
	if err != nil {
		return report.Summary{}, false
	}
	s, err := report.ParseSummary(summaryName, data, j.key)
	return s, err == nil
}

// dropFile is one CSV of a drop folder.
type dropFile struct {
	spec     string // path or blob URL
	name     string // file name without .csv
	modified time.Time
	refused  string // why the file is not read, if it is not
}

// dropNameProblem says why a drop-folder file's name (without .csv) cannot
// name a report location under the report root: a name of dots would be
// the root or its parent, a separator another place.
func dropNameProblem(name string) string {
	switch {
	case strings.Trim(name, ".") == "":
		return "its name without .csv is empty or only dots"
	case strings.ContainsAny(name, `/\`):
		return "its name holds a path separator"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "its name holds a control character"
	}
	return ""
}

// dropFolder lists the CSVs of a drop folder, oldest first; ok is false
// when the input is a single file.
func (j *jobRun) dropFolder(ctx context.Context, spec string) (files []dropFile, ok bool, err error) {
	loc, isBlob, err := blob.Parse(spec)
	if err != nil {
		return nil, false, err
	}
	if isBlob {
		if !loc.Folder() {
			return nil, false, nil
		}
		store, err := j.blobStore(loc)
		if err != nil {
			return nil, true, err
		}
		objs, err := store.List(ctx, loc.Prefix(), ".csv")
		if err != nil {
			return nil, true, err
		}
		for _, o := range objs {
			base := o.Name[strings.LastIndex(o.Name, "/")+1:]
			u := loc
			u.Path = o.Name
			name := strings.TrimSuffix(base, filepath.Ext(base))
			files = append(files, dropFile{spec: u.String(), name: name, modified: o.Modified, refused: dropNameProblem(name)})
		}
		return files, true, nil
	}
	if spec == "-" {
		return nil, false, nil
	}
	fi, err := os.Stat(spec)
	if err != nil || !fi.IsDir() {
		return nil, false, nil // readInput says what is wrong with it
	}
	entries, err := os.ReadDir(spec)
	if err != nil {
		return nil, true, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
			continue
		}
		info, err := e.Info() // of the entry itself: a link is not followed
		if err != nil {
			return nil, true, err
		}
		name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		f := dropFile{spec: filepath.Join(spec, e.Name()), name: name, modified: info.ModTime(), refused: dropNameProblem(name)}
		if f.refused == "" && !info.Mode().IsRegular() {
			f.refused = fmt.Sprintf("it is not a regular file (%s): a link, a FIFO or a device is not read", info.Mode().Type())
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b dropFile) int {
		if c := a.modified.Compare(b.modified); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return files, true, nil
}

// joinReport is the report location of one file of a drop folder.
func joinReport(reportSpec, name string) string {
	if _, isBlob, _ := blob.Parse(reportSpec); isBlob {
		return strings.TrimSuffix(reportSpec, "/") + "/" + name + "/"
	}
	return filepath.Join(reportSpec, name)
}

// runFolder runs the job on every CSV of a drop folder, each into its own
// report location, skipping those whose report says they finished cleanly.
// One file's failure does not stop the others; the exit code is the worst.
func (j *jobRun) runFolder(ctx context.Context, files []dropFile) int {
	worst := exitOK
	j.log.Info("drop folder", zap.String("input", j.cfg.Input), zap.Int("files", len(files)))
	for _, f := range files {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		if f.refused != "" {
			j.log.Error("drop-folder file refused: it is left where it is", zap.String("input", f.spec), zap.String("reason", f.refused))
			worst = max(worst, exitUsage)
			continue
		}
		sub := *j
		sub.cfg.Input, sub.cfg.Report = f.spec, joinReport(j.cfg.Report, f.name)
		_, isBlob, _ := blob.Parse(f.spec)
		sub.dropped = !isBlob
		if problem := reportDirProblem(sub.cfg.Report); problem != "" {
			j.log.Error("drop-folder file refused: its report location is not one the job made", zap.String("input", f.spec),
				zap.String("report", sub.cfg.Report), zap.String("reason", problem))
			worst = max(worst, exitUsage)
			continue
		}
		if sub.finishedCleanly(ctx, sub.cfg.Input, sub.cfg.Report) {
			j.log.Info("already finished cleanly: skipped", zap.String("input", f.spec), zap.String("report", sub.cfg.Report))
			continue
		}
		worst = max(worst, sub.run(ctx))
	}
	return worst
}

// reportDirProblem says why the local report location of a drop-folder
// file cannot be used: something other than a directory is there (a
// planted link would send the report into another file's directory).
func reportDirProblem(spec string) string {
	if _, isBlob, _ := blob.Parse(spec); isBlob {
		return ""
	}
	fi, err := os.Lstat(spec)
	switch {
	case err != nil:
		return "" // none yet: the run makes it
	case fi.Mode()&os.ModeSymlink != 0:
		return "it is a symbolic link"
	case !fi.IsDir():
		return "it is not a directory"
	}
	return ""
}

// finishedCleanly reports whether a report location holds a finished,
// clean, real run of exactly this input.
func (j *jobRun) finishedCleanly(ctx context.Context, input, reportSpec string) bool {
	s, ok := j.readSummaryAt(ctx, reportSpec)
	if !ok || s.ExitCode != exitOK || s.DryRun {
		return false
	}
	data, err := j.readInputAt(ctx, input)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == s.InputSHA256
}

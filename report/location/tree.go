package location

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"go.uber.org/zap"

	"github.com/offboard/offboard/report/location/blob"
)

// What `watch` reads of the reports under a root: every run's journal and
// restore journal, from a local directory as it is or from Blob Storage
// staged into a temporary one.

// treeFiles are the files of a report location a watch reads (the
// summary binds the journal to its directory).
var treeFiles = []string{journalName, "restore.jsonl", summaryName}

// maxTreeFile bounds what is read of one journal: a run of 100,000
// assignments journals about 100 MB.
const maxTreeFile = 256 << 20

// StageTree returns a local directory holding the reports under root:
// root itself when it is local, else a temporary copy of their journals,
// which cleanup removes. skip names, with slashes and relative to root, a
// report folder whose files are not copied (the watch's own).
func (s *Storage) StageTree(ctx context.Context, root Location, skip func(rel string) bool) (dir string, cleanup func(), err error) {
	noop := func() {}
	if !root.isBlob {
		fi, err := os.Stat(root.spec)
		if err != nil {
			return "", noop, err
		}
		if !fi.IsDir() {
			return "", noop, fmt.Errorf("%s is not a directory", root.spec)
		}
		return root.spec, noop, nil
	}
	store, err := s.store(root)
	if err != nil {
		return "", noop, err
	}
	tmp, err := os.MkdirTemp("", "offboard-watch-")
	if err != nil {
		return "", noop, err
	}
	cleanup = func() { _ = os.RemoveAll(tmp) }
	prefix := root.blob.Prefix()
	objs, err := store.ListTree(ctx, prefix)
	if err != nil {
		cleanup()
		return "", noop, err
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Name, prefix)
		folder, base := "", rel
		if i := strings.LastIndex(rel, "/"); i >= 0 {
			folder, base = rel[:i], rel[i+1:]
		}
		if !slices.Contains(treeFiles, base) || !safeRelative(rel) || skip(folder) {
			continue
		}
		if err := ctx.Err(); err != nil {
			cleanup()
			return "", noop, err
		}
		// One blob that cannot be staged (too large, a name that clashes
		// with a folder) leaves its report out, not the watch.
		if err := stageBlob(ctx, store, o.Name, filepath.Join(tmp, filepath.FromSlash(rel))); err != nil && s.Log != nil {
			s.Log.Warn("a blob under the reports root cannot be read: its report is left out", zap.String("blob", o.Name), zap.Error(err))
		}
	}
	return tmp, cleanup, nil
}

// stageBlob copies one blob to the local path p.
func stageBlob(ctx context.Context, store *blob.Store, name, p string) error {
	data, err := store.Read(ctx, name, maxTreeFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o600)
}

// safeRelative reports whether a blob name below a prefix can be a path
// below a local directory: no empty, dot or dot-dot segment, no
// backslash, no control character.
func safeRelative(rel string) bool {
	if rel == "" || strings.ContainsAny(rel, `\:`) || strings.ContainsFunc(rel, unicode.IsControl) {
		return false
	}
	for _, seg := range strings.Split(rel, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// Under returns where l is relative to root, with slashes, or "" when it
// is not below root (or is root itself).
func (l Location) Under(root Location) string {
	if l.err != nil || root.err != nil || l.isBlob != root.isBlob {
		return ""
	}
	if l.isBlob {
		if l.blob.Container != root.blob.Container || !strings.HasPrefix(l.blob.Prefix(), root.blob.Prefix()) {
			return ""
		}
		return strings.Trim(strings.TrimPrefix(l.blob.Prefix(), root.blob.Prefix()), "/")
	}
	// Compared as absolute paths with their links resolved, so that
	// ./reports/w and /abs/reports/w are one place.
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return resolved(a)
		}
		return filepath.Clean(p)
	}
	rel, err := filepath.Rel(abs(root.spec), abs(l.spec))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

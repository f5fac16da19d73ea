package location

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location/blob"
)

// --processed: a drop-folder file whose run finished cleanly leaves the
// drop folder for the processed location, under its name plus the run
// id: in Blob Storage by a server-side copy, verified, then a delete of
// the source that holds only while the source is the file that was run;
// on a local disk by a rename (across file systems: a copy, synced, then
// the removal of the source). A process killed between the copy and the
// delete leaves the file in the drop folder and its copy at the processed
// location: the next run finds the file finished cleanly and its copy
// already there with the same content, and deletes it from the drop
// folder.

// ProcessedProblem says why l cannot be the processed location of the
// drop folder input: standard input, another kind of storage than the
// drop folder's (a move is a rename or a server-side copy), a single
// blob, another storage account, or the drop folder itself.
func (l Location) ProcessedProblem(input Location) string {
	switch {
	case l.Stdin():
		return "it is standard input"
	case l.isBlob != input.isBlob:
		return "it must be in the drop folder's kind of storage (both local, or both in Blob Storage)"
	case l.isBlob && !l.blob.Folder():
		return "a Blob Storage location must be a container or a folder (ending in /)"
	case l.isBlob && !l.blob.SameAccount(input.blob):
		return "it must be in the drop folder's storage account (a server-side copy)"
	case l.isBlob && l.blob.Container == input.blob.Container && l.blob.Prefix() == input.blob.Prefix():
		return "it is the drop folder itself"
	case !l.isBlob && filepath.Clean(l.spec) == filepath.Clean(input.spec):
		return "it is the drop folder itself"
	}
	return ""
}

// CleanRun returns the summary of a report location that holds a
// finished, clean (exit code 0), real run of exactly this input.
func (s *Storage) CleanRun(ctx context.Context, input, rep Location, key *report.Key) (report.Summary, bool) {
	sum, ok := s.ReadSummary(ctx, rep, key)
	if !ok || sum.ExitCode != 0 || sum.DryRun {
		return report.Summary{}, false
	}
	data, err := s.ReadInput(ctx, input)
	if err != nil || sha(data) != sum.InputSHA256 {
		return report.Summary{}, false
	}
	return sum, true
}

func sha(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// runIDPattern is what a run id looks like (newRunID): it becomes part
// of a file name, so nothing else is taken from a summary.
var runIDPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z-]{0,63}$`)

// ErrInputChanged means the drop-folder file is no longer the one that
// finished cleanly (rewritten since): it is left where it is.
var ErrInputChanged = errors.New("the file changed since its run")

// ErrProcessedTaken means the processed location holds another file under
// the name the move would give: neither is touched.
var ErrProcessedTaken = errors.New("the processed location holds another file under that name")

// MoveProcessed moves the drop-folder file f, which finished cleanly in
// the run sum, to the processed location under its name plus the run id
// ({name}.{run id}.csv). It returns where the file went.
func (s *Storage) MoveProcessed(ctx context.Context, f DropFile, processed Location, sum report.Summary) (string, error) {
	if problem := dropNameProblem(f.Name); problem != "" || f.Refused != "" {
		return "", fmt.Errorf("%s is not moved: %s", f.Input.spec, problem+f.Refused)
	}
	if !runIDPattern.MatchString(sum.RunID) {
		return "", fmt.Errorf("%s is not moved: its run id %q cannot be part of a file name", f.Input.spec, sum.RunID)
	}
	src := f.Input
	if src.err != nil {
		return "", src.err
	}
	var base string
	if src.isBlob {
		base = src.blob.Path[strings.LastIndex(src.blob.Path, "/")+1:]
	} else {
		base = filepath.Base(src.spec)
	}
	name := f.Name + "." + sum.RunID + base[len(f.Name):]
	if src.isBlob {
		return s.moveBlob(ctx, src, processed, name, sum.InputSHA256)
	}
	return s.moveLocal(src.spec, processed.spec, name, sum.InputSHA256)
}

func (s *Storage) moveBlob(ctx context.Context, src, processed Location, name, want string) (string, error) {
	from, err := s.store(src)
	if err != nil {
		return "", err
	}
	to, err := s.store(processed)
	if err != nil {
		return "", err
	}
	dst := processed.blob.Join(name)
	data, etag, err := from.ReadTagged(ctx, src.blob.Path, MaxInput)
	if err != nil {
		return "", err
	}
	if sha(data) != want {
		return "", fmt.Errorf("%s: %w", src.spec, ErrInputChanged)
	}
	there, err := to.ReadIfAny(ctx, dst.Path, MaxInput)
	switch {
	case err != nil:
		return "", err
	case there != nil && sha(there) != want:
		return "", fmt.Errorf("%s: %w", dst, ErrProcessedTaken)
	case there == nil:
		// The copy: of the source as it was read (its ETag), never over
		// a blob already there; then read back and compared.
		if err := to.CopyFrom(ctx, dst.Path, from, src.blob.Path, etag); err != nil {
			return "", err
		}
		copied, err := to.Read(ctx, dst.Path, MaxInput)
		if err != nil {
			return "", err
		}
		if sha(copied) != want {
			return "", fmt.Errorf("the copy %s does not hold what %s held: the source is kept", dst, src.spec)
		}
		if s.AfterCopy != nil {
			s.AfterCopy()
		}
	}
	if err := from.DeleteIf(ctx, src.blob.Path, etag); err != nil {
		if errors.Is(err, blob.ErrChanged) {
			return "", fmt.Errorf("%s: %w", src.spec, ErrInputChanged)
		}
		return "", err
	}
	return dst.String(), nil
}

func (s *Storage) moveLocal(src, dir, name, want string) (string, error) {
	data, err := readRegular(src)
	if err != nil {
		return "", err
	}
	if sha(data) != want {
		return "", fmt.Errorf("%s: %w", src, ErrInputChanged)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	there, err := readRegular(dst)
	switch {
	case err == nil && sha(there) != want:
		return "", fmt.Errorf("%s: %w", dst, ErrProcessedTaken)
	case err == nil:
		// Copied by a run killed before it removed the source.
		return dst, os.Remove(src)
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	}
	err = os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		return dst, err
	}
	// Another file system: a copy, synced, before the source goes.
	if err := writeSynced(dst, data); err != nil {
		return "", err
	}
	if s.AfterCopy != nil {
		s.AfterCopy()
	}
	return dst, os.Remove(src)
}

func readRegular(path string) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, MaxInput>>20)
	}
	return data, nil
}

// writeSynced writes data to path through a temporary file of its
// directory, synced, then renamed into place without replacing a file
// there (a link), and the directory synced.
func writeSynced(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".offboard-move-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

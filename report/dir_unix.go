//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package report

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A report directory is opened once, without following a link, and every
// file in it is opened, created, renamed and removed relative to that open
// directory (openat(2) and its kin), never by path: whoever can write the
// report location cannot swap a directory for a link and make the job
// write wherever it points.

// openDir opens base/rel, a directory: base as the operator gave it
// (created when create, following links as any path), then each element
// of rel (made with mkdirat when create) with O_NOFOLLOW|O_DIRECTORY
// relative to the one before. A link, or anything else that is not a
// directory, in rel is refused with ErrTampered.
func openDir(base, rel string, create bool) (*os.File, error) {
	if create {
		if err := os.MkdirAll(base, dirPerm); err != nil {
			return nil, fmt.Errorf("report: create directory: %w", err)
		}
	}
	fd, err := unix.Open(base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("report: open directory %s: %w", base, err)
	}
	path := base
	for name := range strings.SplitSeq(filepath.ToSlash(rel), "/") {
		if name == "" || name == "." {
			continue
		}
		path = filepath.Join(path, name)
		if create {
			if err := unix.Mkdirat(fd, name, dirPerm); err != nil && !errors.Is(err, unix.EEXIST) {
				_ = unix.Close(fd)
				return nil, fmt.Errorf("report: create directory %s: %w", path, err)
			}
		}
		next, err := openatRetry(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			err = notDir(fd, name, path, err)
		}
		_ = unix.Close(fd)
		if err != nil {
			return nil, err
		}
		fd = next
	}
	return os.NewFile(uintptr(fd), path), nil
}

// notDir says why name could not be opened as a directory: a link, or
// something else, is refused as the job does not follow or use it.
func notDir(dirfd int, name, path string, err error) error {
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("report: %s is a symbolic link, which the job does not follow to a report directory: %w", path, ErrTampered)
		}
		return fmt.Errorf("report: %s is not a directory: %w", path, ErrTampered)
	}
	return fmt.Errorf("report: open directory %s: %w", path, &os.PathError{Op: "openat", Path: path, Err: err})
}

func openatRetry(dirfd int, name string, flag int, perm uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flag, perm)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// openAt opens name in dir, refusing a symbolic link.
func openAt(dir *os.File, name string, flag int, perm os.FileMode) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	fd, err := openatRetry(int(dir.Fd()), name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link, which the job does not follow in a report location: %w", path, ErrTampered)
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// createTempAt creates a new file in dir named by pattern, its last "*"
// replaced by a random string, as os.CreateTemp; it returns the file and
// its name in dir.
func createTempAt(dir *os.File, pattern string) (*os.File, string, error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for range 100 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := prefix + hex.EncodeToString(b[:]) + suffix
		f, err := openAt(dir, name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("report: no free temporary name for %s in %s", pattern, dir.Name())
}

// renameAt renames old to new, both in dir.
func renameAt(dir *os.File, old, new string) error {
	fd := int(dir.Fd())
	if err := unix.Renameat(fd, old, fd, new); err != nil {
		return &os.LinkError{Op: "renameat", Old: filepath.Join(dir.Name(), old), New: filepath.Join(dir.Name(), new), Err: err}
	}
	return nil
}

// removeAt removes the file name in dir (a link itself, not its target).
func removeAt(dir *os.File, name string) error {
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
		return &os.PathError{Op: "unlinkat", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return nil
}

// existsAt reports whether name exists in dir, without following a link.
func existsAt(dir *os.File, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// writableAt reports whether this process may create files in dir.
func writableAt(dir *os.File) error {
	return unix.Faccessat(int(dir.Fd()), ".", unix.W_OK, 0)
}

// readDirAt lists dir's entries (through a descriptor of its own, so that
// dir's offset is not moved).
func readDirAt(dir *os.File) ([]os.DirEntry, error) {
	f, err := openAt(dir, ".", os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

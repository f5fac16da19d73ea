//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// This system has no openat(2): a report directory's elements are checked
// with Lstat, then opened by path (offboard runs on Linux; this keeps the
// build).

func openDir(base, rel string, create bool) (*os.File, error) {
	if create {
		if err := os.MkdirAll(base, dirPerm); err != nil {
			return nil, fmt.Errorf("report: create directory: %w", err)
		}
	}
	path := base
	for name := range strings.SplitSeq(filepath.ToSlash(rel), "/") {
		if name == "" || name == "." {
			continue
		}
		path = filepath.Join(path, name)
		if create {
			if err := os.Mkdir(path, dirPerm); err != nil && !os.IsExist(err) {
				return nil, fmt.Errorf("report: create directory %s: %w", path, err)
			}
		}
		fi, err := os.Lstat(path)
		switch {
		case err != nil:
			return nil, fmt.Errorf("report: open directory %s: %w", path, err)
		case fi.Mode()&os.ModeSymlink != 0:
			return nil, fmt.Errorf("report: %s is a symbolic link, which the job does not follow to a report directory: %w", path, ErrTampered)
		case !fi.IsDir():
			return nil, fmt.Errorf("report: %s is not a directory: %w", path, ErrTampered)
		}
	}
	return os.Open(path)
}

func openAt(dir *os.File, name string, flag int, perm os.FileMode) (*os.File, error) {
	return openNoFollow(filepath.Join(dir.Name(), name), flag, perm)
}

func createTempAt(dir *os.File, pattern string) (*os.File, string, error) {
	f, err := os.CreateTemp(dir.Name(), pattern)
	if err != nil {
		return nil, "", err
	}
	return f, filepath.Base(f.Name()), nil
}

func renameAt(dir *os.File, old, new string) error {
	return os.Rename(filepath.Join(dir.Name(), old), filepath.Join(dir.Name(), new))
}

func removeAt(dir *os.File, name string) error { return os.Remove(filepath.Join(dir.Name(), name)) }

func existsAt(dir *os.File, name string) bool {
	_, err := os.Lstat(filepath.Join(dir.Name(), name))
	return err == nil
}

func writableAt(*os.File) error { return nil }

func readDirAt(dir *os.File) ([]os.DirEntry, error) { return os.ReadDir(dir.Name()) }

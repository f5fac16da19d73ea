package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Probe checks, for `offboard check`, that a run could use dir as its
// report directory: that it is, or can be created as, a writable
// directory, and that its lock can be taken now (ErrBusy when a run holds
// it). It leaves nothing behind: a directory or lock file it had to create
// is removed again. It does not read the journal.
func Probe(dir string) (err error) {
	var made []string // directories created, deepest last
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		_, serr := os.Stat(d)
		if serr == nil {
			break
		}
		if !errors.Is(serr, fs.ErrNotExist) {
			return fmt.Errorf("report: %w", serr)
		}
		made = append([]string{d}, made...)
		if filepath.Dir(d) == d {
			break
		}
	}
	defer func() {
		for i := len(made) - 1; i >= 0; i-- {
			_ = os.Remove(made[i])
		}
	}()
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("report: create directory: %w", err)
	}
	c := filepath.Clean(dir)
	root, err := openDir(filepath.Dir(c), filepath.Base(c), false)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := writableAt(root); err != nil {
		return fmt.Errorf("report: directory %s is not writable: %w", dir, err)
	}
	lockExisted := existsAt(root, lockName)
	lock, err := lockDir(root, nil) // a probe records no holder: it holds the lock for a moment
	if err != nil {
		if !lockExisted {
			_ = removeAt(root, lockName)
		}
		return err
	}
	if !lockExisted {
		// Removed while held: a run that opened it meanwhile was refused
		// as busy, as by any holder, and its rerun starts afresh.
		_ = removeAt(root, lockName)
	}
	return unlockDir(lock)
}

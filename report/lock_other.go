//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package report

import (
	"errors"
	"fmt"
	"os"
)

// Locking uses flock(2); offboard runs on Linux.

var errNoLock = errors.New("report: directory locking is not supported on this system")

func lockDir(*os.File, *Holder) (*os.File, error) { return nil, errNoLock }

func unlockDir(*os.File) error { return errNoLock }

// openNoFollow opens path, refusing a symbolic link in its last element
// (checked, then opened: this system has no O_NOFOLLOW).
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link, which the job does not follow in a report location: %w", path, ErrTampered)
	}
	return os.OpenFile(path, flag, perm)
}

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package report

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir opens the lock file of the open directory root and takes an
// exclusive flock on it without waiting. The kernel drops the lock when the
// process dies, so a killed run never blocks the next one. flock belongs to
// the open file description, so a second open in the same process is
// refused too.
func lockDir(root *os.File) (*os.File, error) {
	f, err := openAt(root, lockName, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("report: open lock: %w", err)
	}
	path := f.Name()
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("report: %s: %w", path, ErrBusy)
		}
		return nil, fmt.Errorf("report: lock %s: %w", path, err)
	}
	return f, nil
}

// unlockDir releases the lock and closes its file; the file itself stays.
func unlockDir(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// openNoFollow opens path, refusing a symbolic link in its last element:
// whoever can write the report location must not make the job write
// through a link to a file elsewhere.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link, which the job does not follow in a report location: %w", path, ErrTampered)
	}
	return f, err
}

//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// lockDir opens the lock file of the open directory root and takes an
// exclusive flock on it without waiting. The kernel drops the lock when the
// process dies, so a killed run never blocks the next one. flock belongs to
// the open file description, so a second open in the same process is
// refused too. Once taken, the holder (when not nil) is written into the
// file, so that a run refused meanwhile names it (a *BusyError).
func lockDir(root *os.File, holder *Holder) (*os.File, error) {
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
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			record, _ := io.ReadAll(io.LimitReader(f, 4096))
			return nil, busyLocal(path, record, processRuns)
		}
		return nil, fmt.Errorf("report: lock %s: %w", path, err)
	}
	if holder != nil {
		b, _ := json.Marshal(holder)
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt(append(b, '\n'), 0) // a record is advice: the lock holds without it
		}
	}
	return f, nil
}

// processRuns reports whether a process of this host has the pid.
func processRuns(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// unlockDir empties the holder record, releases the lock and closes its
// file; the file itself stays.
func unlockDir(f *os.File) error {
	_ = f.Truncate(0) // released: nobody holds it
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

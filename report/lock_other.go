//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package report

import (
	"errors"
	"os"
)

// Locking uses flock(2); offboard runs on Linux.

var errNoLock = errors.New("report: directory locking is not supported on this system")

func lockDir(string) (*os.File, error) { return nil, errNoLock }

func unlockDir(*os.File) error { return errNoLock }

func writable(string) error { return nil }

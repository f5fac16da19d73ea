//go:build !unix

package main

import (
	"os"
	"time"
)

// usage is the CPU time of an exited process; peak memory is not known here.
func usage(ps *os.ProcessState) (maxRSS int64, user, sys time.Duration) {
	return 0, ps.UserTime(), ps.SystemTime()
}

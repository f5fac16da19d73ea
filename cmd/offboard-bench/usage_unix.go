//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// usage is the peak resident set and CPU time of an exited process, as the
// kernel counted them (getrusage of the child).
func usage(ps *os.ProcessState) (maxRSS int64, user, sys time.Duration) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, ps.UserTime(), ps.SystemTime()
	}
	return maxRSSBytes(ru.Maxrss), time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

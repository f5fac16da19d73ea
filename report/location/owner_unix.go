//go:build unix

package location

import (
	"io/fs"
	"os"
	"syscall"
)

// owner returns the user id owning the file fi describes, and the
// effective user id of the process; ok is false where there are none.
func owner(fi fs.FileInfo) (uid, me int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), os.Geteuid(), true
}

//go:build !unix

package location

import (
	"fmt"
	"os"
)

// OpenRegular opens path for reading only when it is a regular file
// (checked without following a link, then opened).
func OpenRegular(path string) (*os.File, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	return os.Open(path)
}

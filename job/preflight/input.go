package preflight

import (
	"bytes"
	"fmt"

	"github.com/offboard/offboard/job/csvinput"
)

// InputRows judges an input a run would read, r naming it: its rows as
// csvinput reads them, or why they cannot be read.
func InputRows(r Result, data []byte, readErr error) Result {
	if readErr != nil {
		r.Status, r.Detail = Error, readErr.Error()
		return r
	}
	entries, err := csvinput.Read(bytes.NewReader(data))
	if err != nil {
		r.Status, r.Detail = Error, err.Error()
		return r
	}
	bad := 0
	for _, e := range entries {
		if e.Problem != "" {
			bad++
		}
	}
	r.Detail = fmt.Sprintf("%d rows", len(entries))
	if bad > 0 {
		r.Detail += fmt.Sprintf(", %d of them invalid (a run reports them invalid and exits 1)", bad)
	}
	return r
}

package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/offboard/offboard/job"
)

// WatchEntries are the runner's entries for the watch list, by object id
// only (a UPN may name someone else by now), and the sha256 of the list,
// the watch's input.
func WatchEntries(watched []Watched) ([]job.Entry, string) {
	var b strings.Builder
	b.WriteString("principal_id,run_id\n")
	entries := make([]job.Entry, 0, len(watched))
	for i, w := range watched {
		entries = append(entries, job.Entry{Line: i + 2, PrincipalID: w.PrincipalID, Reference: w.Reference})
		fmt.Fprintf(&b, "%s,%s\n", w.PrincipalID, w.Run.ID)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return entries, hex.EncodeToString(sum[:])
}

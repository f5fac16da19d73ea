// Package preflight is what `offboard check` judges: whether the job's
// identity, the tenant and the places a run would use are usable, one
// Result per thing checked, and how the results are shown. It sends no
// write; the caller reads, this package judges what the reads answered.
package preflight

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The statuses of a check.
const (
	OK          = "ok"
	Unavailable = "unavailable" // the tenant lacks the licence
	Missing     = "missing"     // the identity lacks a permission or role
	Error       = "error"       // the check itself failed, or the input or report location cannot be used
	Skipped     = "skipped"     // not checked (not asked, or nothing to check it with)
)

// Result is one line of `offboard check`.
type Result struct {
	Check  string `json:"check"` // source, permission, azure-scope, input, report
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// Usable reports whether every result is ok or skipped.
func Usable(results []Result) bool {
	for _, r := range results {
		if r.Status != OK && r.Status != Skipped {
			return false
		}
	}
	return true
}

// WriteJSON writes the results as one JSON document.
func WriteJSON(w io.Writer, results []Result) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		Usable bool     `json:"usable"`
		Checks []Result `json:"checks"`
	}{Usable(results), results})
}

// WriteTable writes the results as a table for a person, the fix under
// each line that has one, and a last line that says whether all is usable.
func WriteTable(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tNAME\tSTATUS\tDETAIL")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Check, r.Name, r.Status, oneLine(r.Detail))
		if r.Fix != "" {
			fmt.Fprintf(tw, "\t\t\tfix: %s\n", oneLine(r.Fix))
		}
	}
	_ = tw.Flush()
	if Usable(results) {
		fmt.Fprintln(w, "\nEverything selected is usable.")
	} else {
		fmt.Fprintln(w, "\nSomething selected is not usable: see the fixes above.")
	}
}

// oneLine keeps a service's text on one line of the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

package console

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
)

// Files are the names of the files a person looks at, in the report
// location.
type Files struct {
	CSV, JSON, HTML string
	// At names a file in the report location (location.Location.At);
	// a local path's join when nil.
	At func(name string) string
}

var (
	// RunFiles are a run's (and a plan's, a watch's).
	RunFiles = Files{CSV: "report.csv", JSON: "summary.json", HTML: "summary.html"}
	// RestoreFiles are a restore's.
	RestoreFiles = Files{CSV: "restore.csv", JSON: "restore-summary.json", HTML: "restore-summary.html"}
	// PlanFiles and RestorePlanFiles are a dry run's: its summaries never
	// replace a real run's.
	PlanFiles        = Files{CSV: "report.csv", JSON: "plan-summary.json", HTML: "plan-summary.html"}
	RestorePlanFiles = Files{CSV: "restore.csv", JSON: "restore-plan-summary.json", HTML: "restore-plan-summary.html"}
)

// maxFailureGroups is how many kinds of failure the table shows.
const maxFailureGroups = 5

// PrintSummary writes the end of a run for a person: the counts by source
// and status, the guard and the unavailable sources, the first failures
// grouped by detail, and where the report is; the rerun command when a
// rerun can help (report.RerunHelps).
func PrintSummary(w io.Writer, command string, states []job.State, res job.Result, s report.Summary,
	where string, files Files, rerun string) {
	at := files.At
	if at == nil {
		at = func(name string) string { return filepath.Join(where, name) }
	}
	fmt.Fprintf(w, "\noffboard %s finished in %s: exit %d (%s)\n\n", command,
		s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond), s.ExitCode, report.ExitMeaning(s.ExitCode))

	printCounts(w, states, res.Items)
	printStops(w, s, files)
	printFailures(w, res.Items)

	fmt.Fprintf(w, "\nReport: %s\n        %s\n        %s\n", Clean(at(files.CSV), 400),
		Clean(at(files.JSON), 400), Clean(at(files.HTML), 400))
	switch {
	case rerun != "" && report.RerunHelps(s):
		fmt.Fprintf(w, "Rerun:  %s\n", Clean(rerun, 1000))
	case s.Counts[string(job.Invalid)] > 0:
		fmt.Fprintln(w, "Invalid input lines: a rerun changes nothing for them; correct them in the input (each detail names its line).")
	}
}

// printCounts writes the counts: a row per source, a column per status
// that occurs.
func printCounts(w io.Writer, states []job.State, items []job.Item) {
	counts := map[string]map[job.State]int{}
	totals := map[job.State]int{}
	for _, it := range items {
		src := cmp.Or(it.Source, "(none)")
		if counts[src] == nil {
			counts[src] = map[job.State]int{}
		}
		counts[src][it.State]++
		totals[it.State]++
	}
	var cols []job.State
	for _, st := range states {
		if totals[st] > 0 {
			cols = append(cols, st)
		}
	}
	if len(items) == 0 {
		fmt.Fprintln(w, "No rows.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		header := "source\t"
		for _, st := range cols {
			header += string(st) + "\t"
		}
		fmt.Fprintln(tw, header+"total\t")
		line := func(name string, c map[job.State]int) {
			row, sum := Clean(name, 40)+"\t", 0
			for _, st := range cols {
				row += fmt.Sprintf("%d\t", c[st])
				sum += c[st]
			}
			fmt.Fprintln(tw, row+fmt.Sprintf("%d\t", sum))
		}
		for _, src := range slices.Sorted(maps.Keys(counts)) {
			line(src, counts[src])
		}
		line("total", totals)
		_ = tw.Flush()
	}
}

// printStops writes what stopped or held back part of the run: the guard,
// the principals held back, the parts unavailable in the tenant.
func printStops(w io.Writer, s report.Summary, files Files) {
	if s.Guard != "" {
		fmt.Fprintf(w, "\nA guard stopped the run before any change: %s\n", Clean(s.Guard, 500))
	}
	if len(s.HeldBack) > 0 {
		fmt.Fprintln(w, "\nHeld back by --max-removals-per-principal (rows deferred, nothing sent; once their plan is checked, rerun with a higher cap):")
		for _, h := range s.HeldBack[:min(len(s.HeldBack), maxFailureGroups)] {
			fmt.Fprintf(w, "  %s: %d planned removals, more than %d\n", Clean(cmp.Or(h.UPN, h.PrincipalID), 200), h.Planned, h.MaxPerPrincipal)
		}
		if n := len(s.HeldBack) - maxFailureGroups; n > 0 {
			fmt.Fprintf(w, "  and %d more: held_back in %s lists them\n", n, files.JSON)
		}
	}
	if len(s.Unavailable) > 0 {
		fmt.Fprintln(w, "\nUnavailable in this tenant (no rows; the exit code is not changed):")
		for _, part := range slices.Sorted(maps.Keys(s.Unavailable)) {
			fmt.Fprintf(w, "  %s: %s\n", Clean(part, 40), Clean(s.Unavailable[part], 300))
		}
	}
}

// printFailures writes the first failures, grouped by cause, the largest
// groups first.
func printFailures(w io.Writer, items []job.Item) {
	type group struct {
		detail   string
		first    int
		examples []string
		n        int
	}
	groups := map[string]*group{}
	bad := 0
	for i, it := range items {
		if it.State != job.Failed && it.State != job.Invalid {
			continue
		}
		bad++
		cause, line := Cause(it.Detail)
		g := groups[cause]
		if g == nil {
			g = &group{detail: cause, first: i}
			groups[cause] = g
		}
		g.n++
		if len(g.examples) < 3 {
			ex := cmp.Or(it.UPN, it.PrincipalID, "(no principal)")
			if line != "" {
				ex = line + ": " + ex
			}
			if it.Source != "" {
				ex += " " + it.Source
			}
			if it.AssignmentID != "" {
				ex += " " + it.AssignmentID
			}
			g.examples = append(g.examples, ex)
		}
	}
	if bad > 0 {
		list := slices.Collect(maps.Values(groups))
		slices.SortFunc(list, func(a, b *group) int { return cmp.Or(b.n-a.n, a.first-b.first) })
		fmt.Fprintf(w, "\nFailed or invalid rows: %d, of %d kinds; the first:\n", bad, len(list))
		for _, g := range list[:min(len(list), maxFailureGroups)] {
			fmt.Fprintf(w, "  %d × %s\n", g.n, Clean(cmp.Or(g.detail, "(no detail)"), 300))
			for _, ex := range g.examples {
				fmt.Fprintf(w, "      %s\n", Clean(ex, 200))
			}
		}
	}
}

var (
	linePrefix = regexp.MustCompile(`^(line [0-9]+): `)
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"…?`)
	guid       = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
)

// Cause is what a failed or invalid row's detail says went wrong, without
// what names the row: its input line (returned apart, "line 7"), the
// values it quotes and the ids in it. Rows that failed for one cause
// (six lines whose principal_id is not a GUID, every principal whose
// resolution was refused with 401) are one kind of failure.
func Cause(detail string) (cause, line string) {
	if m := linePrefix.FindStringSubmatch(detail); m != nil {
		line, detail = m[1], detail[len(m[0]):]
	}
	detail = quoted.ReplaceAllString(detail, `"…"`)
	return guid.ReplaceAllString(detail, "{id}"), line
}
